#!/usr/bin/env python3
"""A webhook receiver for drishti's delivery tests, on 127.0.0.1.

usage: receiver.py PORTFILE SECRETFILE LOGFILE MODEFILE
Verifies X-Drishti-Signature (HMAC-SHA256 of "timestamp.body" with the
secret) and that the timestamp is within 5 minutes; appends one JSON line
per request to LOGFILE: {"id", "kind", "check", "status", "sig_ok", "answer"}.
MODEFILE (re-read on each request) says how to answer:
  ok            200
  down N        503 for the next N requests, then 200
  429           429 with Retry-After: 1 once, then 200
  400           400 (a refusal for good)
  flap          500 or 200, half and half
  garbage       bytes that are not HTTP, then close
  reset         close the connection without answering
  stall         wait 30 s, then 200
"""
import hashlib, hmac, json, os, random, socket, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, secretfile, logfile, modefile = sys.argv[1:5]
secret = open(secretfile, "rb").read().rstrip(b"\r\n")
lock = threading.Lock()
state = {"down": None}


def mode():
    try:
        return open(modefile).read().split()
    except OSError:
        return ["ok"]


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n)
        ts = self.headers.get("X-Drishti-Timestamp", "")
        sig = self.headers.get("X-Drishti-Signature", "")
        want = "sha256=" + hmac.new(secret, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        fresh = ts.isdigit() and abs(time.time() - int(ts)) < 300
        sig_ok = hmac.compare_digest(sig, want) and fresh
        try:
            ev = json.loads(body)      # strict: bytes must be valid UTF-8
            json_ok = True
        except ValueError:
            ev, json_ok = {}, False
        with lock:
            m = mode()
            answer = 200
            if m[0] == "down":
                if state["down"] is None:
                    state["down"] = int(m[1])
                if state["down"] > 0:
                    state["down"] -= 1
                    answer = 503
            elif m[0] == "429":
                if not state.get("429"):
                    state["429"] = True
                    answer = 429
            elif m[0] == "400":
                answer = 400
            elif m[0] == "flap":
                answer = random.choice((500, 200))
            elif m[0] in ("garbage", "reset"):
                answer = m[0]
            elif m[0] == "stall":
                answer = "stall"
            if not json_ok and "json" in self.headers.get("Content-Type", ""):
                answer = 400           # a strict receiver refuses bad JSON
            with open(logfile, "a") as f:
                f.write(json.dumps({"id": ev.get("id"), "kind": ev.get("kind"), "check": ev.get("check"),
                                    "status": ev.get("status"), "sig_ok": sig_ok, "answer": answer,
                                    "json_ok": json_ok, "summary": ev.get("summary"),
                                    "event_id_header": self.headers.get("X-Drishti-Event-Id"),
                                    "raw": body.decode(errors="replace")[:300],
                                    "title": self.headers.get("Title"),
                                    "path": self.path}) + "\n")
        if answer == "garbage":
            self.wfile.write(b"\x00\x01garbage\r\n\r\n")
            self.close_connection = True
            return
        if answer == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            return
        if answer == "stall":
            time.sleep(30)
            answer = 200
        if not sig_ok:
            answer = 401
        self.send_response(answer)
        if answer == 429:
            self.send_header("Retry-After", "1")
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")


class S(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, *a):
        pass


srv = S(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
