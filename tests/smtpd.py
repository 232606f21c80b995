#!/usr/bin/python3
"""A real SMTP server for drishti's mail tests (Debian's python3-aiosmtpd).

usage: smtpd.py PORTFILE LOGFILE MODE [CERT KEY [USER PASSWORD]]
MODE: plain     no TLS
      starttls  STARTTLS offered and required before MAIL
      smtps     TLS from the first byte
With USER and PASSWORD, AUTH (over TLS only) is required.  Each message
received is appended to LOGFILE as one JSON line: {"from", "to", "data"}.
RCPT to an address starting with "nobody@" is refused with 550.
"""
import json, socket, ssl, sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

portfile, logfile, mode = sys.argv[1:4]
cert = key = user = password = None
if len(sys.argv) > 5:
    cert, key = sys.argv[4:6]
if len(sys.argv) > 7:
    user, password = sys.argv[6:8]


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("nobody@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with open(logfile, "a") as f:
            f.write(json.dumps({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                "data": envelope.original_content.decode("utf-8", "replace")}) + "\n")
        return "250 OK"


def auth(server, session, envelope, mechanism, data):
    ok = data.login.decode() == user and data.password.decode() == password
    return AuthResult(success=True) if ok else AuthResult(success=False, handled=False, message="535 5.7.8 Authentication credentials invalid")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


ctx = None
if cert:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
kw = {}
if user:
    kw.update(authenticator=auth, auth_required=True, auth_require_tls=True)
else:
    kw.update(auth_require_tls=False)
port = free_port()
if mode == "starttls":
    c = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=ctx,
                   require_starttls=True, **kw)
elif mode == "smtps":
    c = Controller(Handler(), hostname="127.0.0.1", port=port, ssl_context=ctx, **kw)
else:
    c = Controller(Handler(), hostname="127.0.0.1", port=port, **kw)
c.start()
with open(portfile + ".tmp", "w") as f:
    f.write(str(port))
import os
os.rename(portfile + ".tmp", portfile)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
finally:
    c.stop()
