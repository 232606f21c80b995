#!/usr/bin/env python3
"""A test HTTP(S) server on 127.0.0.1 for drishti's network tests.

usage: httpd.py PORTFILE [--tls CERT KEY]
Binds an ephemeral port on 127.0.0.1, writes it to PORTFILE, then serves:
  /status/N      answers with status N
  /slow/SECONDS  waits, then 200
  /hang          reads the request and never answers (until the client goes)
  /big/MB        a body of MB megabytes
  /json          {"ok": true, "n": 42}
  /redirect      302 to /status/200
  /echo          the request's method, headers and body, as JSON
  anything else  200 "hello"
Runs until killed; each connection in its own thread, each bounded in time.
"""
import json, socket, ssl, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def handle_any(self):
        p = self.path
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        if p.startswith("/status/"):
            self.send(int(p.split("/")[2]), b"status\n")
        elif p.startswith("/slow/"):
            time.sleep(float(p.split("/")[2]))
            self.send(200, b"slow\n")
        elif p == "/hang":
            time.sleep(120)
        elif p.startswith("/big/"):
            mb = int(p.split("/")[2])
            self.send_response(200)
            self.send_header("Content-Length", str(mb << 20))
            self.end_headers()
            chunk = b"x" * (1 << 20)
            try:
                for _ in range(mb):
                    self.wfile.write(chunk)
            except OSError:
                pass
        elif p == "/json":
            self.send(200, b'{"ok": true, "n": 42}', "application/json")
        elif p == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/status/200")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif p == "/echo":
            out = {"method": self.command, "body": body.decode(),
                   "headers": {k.lower(): v for k, v in self.headers.items()}}
            self.send(200, json.dumps(out).encode(), "application/json")
        else:
            self.send(200, b"hello\n")

    do_GET = do_POST = do_HEAD = do_PUT = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass    # clients that hang up early are the point of some tests


def main():
    portfile = sys.argv[1]
    srv = Server(("127.0.0.1", 0), Handler)
    if len(sys.argv) >= 5 and sys.argv[2] == "--tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(sys.argv[3], sys.argv[4])
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(portfile + ".tmp", portfile)
    srv.serve_forever()


if __name__ == "__main__":
    main()
