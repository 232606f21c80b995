#!/usr/bin/env python3
"""The notification services drishti speaks to, on 127.0.0.1, each checking
the request shape its documentation gives (method, path, headers, JSON
fields and types), so a test can tell a request the real service would take.

usage: services.py PORTFILE LOGFILE MODEFILE SECRETSDIR
  Telegram   POST /bot<token>/sendMessage           {chat_id, text}
  Pushover   POST /1/messages.json                   {token, user, message, title?, priority -2..2}
  Gotify     POST /message, X-Gotify-Key             {title?, message, priority int}
  PagerDuty  POST /v2/enqueue                        {routing_key, event_action, dedup_key,
                                                      payload {summary, source, severity}}
  Matrix     PUT /_matrix/client/v3/rooms/<room>/send/m.room.message/<txn>,
             Authorization: Bearer <token>          {msgtype: m.text, body}
The expected tokens are read from SECRETSDIR/<service>.token (chat id, user
key: SECRETSDIR/<service>.to).  One JSON line per request goes to LOGFILE:
{"service", "ok", "why", "answer", "kind", "path"}.  MODEFILE lines
"SERVICE MODE" (re-read each request): ok; "fail N": 503 for the next N
requests; "400": refuse for good.
"""
import json, os, re, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, logfile, modefile, secrets = sys.argv[1:5]
lock = threading.Lock()
fails = {}


def secret(name):
    with open(os.path.join(secrets, name)) as f:
        return f.read().strip()


def mode(service):
    try:
        for line in open(modefile):
            w = line.split()
            if w and w[0] == service:
                return w[1:]
    except OSError:
        pass
    return ["ok"]


def check_telegram(h, path, body):
    m = re.fullmatch(r"/bot([^/]+)/sendMessage", path)
    if h.command != "POST" or not m:
        return "want POST /bot<token>/sendMessage"
    if m.group(1) != secret("telegram.token"):
        return "wrong bot token"
    if str(body.get("chat_id")) != secret("telegram.to"):
        return "chat_id is not the configured chat"
    if not isinstance(body.get("text"), str) or not body["text"] or len(body["text"]) > 4096:
        return "text must be 1-4096 characters"
    return None


def check_pushover(h, path, body):
    if h.command != "POST" or path != "/1/messages.json":
        return "want POST /1/messages.json"
    if body.get("token") != secret("pushover.token") or body.get("user") != secret("pushover.to"):
        return "wrong token or user"
    if not isinstance(body.get("message"), str) or not body["message"]:
        return "message is required"
    p = body.get("priority", 0)
    if not isinstance(p, int) or not -2 <= p <= 2:
        return "priority must be an integer from -2 to 2"
    return None


def check_gotify(h, path, body):
    if h.command != "POST" or path != "/message":
        return "want POST /message"
    if h.headers.get("X-Gotify-Key") != secret("gotify.token"):
        return "wrong X-Gotify-Key"
    if not isinstance(body.get("message"), str) or not body["message"]:
        return "message is required"
    if not isinstance(body.get("priority", 0), int):
        return "priority must be an integer"
    return None


def check_pagerduty(h, path, body):
    if h.command != "POST" or path != "/v2/enqueue":
        return "want POST /v2/enqueue"
    if body.get("routing_key") != secret("pagerduty.token"):
        return "wrong routing_key"
    if body.get("event_action") not in ("trigger", "acknowledge", "resolve"):
        return "event_action must be trigger, acknowledge or resolve"
    dk = body.get("dedup_key")
    if not isinstance(dk, str) or not dk or len(dk) > 255:
        return "dedup_key must be 1-255 characters"
    if body["event_action"] == "trigger":
        p = body.get("payload") or {}
        if not isinstance(p.get("summary"), str) or not p["summary"] or len(p["summary"]) > 1024:
            return "payload.summary must be 1-1024 characters"
        if not isinstance(p.get("source"), str) or not p["source"]:
            return "payload.source is required"
        if p.get("severity") not in ("critical", "error", "warning", "info"):
            return "payload.severity must be critical, error, warning or info"
    return None


def check_matrix(h, path, body):
    m = re.fullmatch(r"/_matrix/client/v3/rooms/([^/]+)/send/m\.room\.message/([^/]+)", path)
    if h.command != "PUT" or not m:
        return "want PUT /_matrix/client/v3/rooms/<room>/send/m.room.message/<txn>"
    if h.headers.get("Authorization") != "Bearer " + secret("matrix.token"):
        return "wrong Authorization"
    if body.get("msgtype") != "m.text" or not isinstance(body.get("body"), str) or not body["body"]:
        return "want msgtype m.text and a body"
    return None


def which(path):
    if path.startswith("/bot"):
        return "telegram", check_telegram
    if path.startswith("/1/"):
        return "pushover", check_pushover
    if path.startswith("/message"):
        return "gotify", check_gotify
    if path.startswith("/v2/"):
        return "pagerduty", check_pagerduty
    return "matrix", check_matrix


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        path = self.path.split("?")[0]
        service, check = which(path)
        why = None
        body = {}
        if "application/json" not in (self.headers.get("Content-Type") or ""):
            why = "Content-Type must be application/json"
        else:
            try:
                body = json.loads(raw)
            except ValueError:
                why = "body is not JSON"
        if why is None:
            why = check(self, path, body)
        with lock:
            m = mode(service)
            answer = 202 if service == "pagerduty" else 200
            if m[0] == "fail":
                left = fails.setdefault(service, int(m[1]))
                if left > 0:
                    fails[service] = left - 1
                    answer = 503
            elif m[0] == "400":
                answer = 400
            if why is not None:
                answer = 400
            text = json.dumps(body)
            kind = "resolve" if "resolve" in text.lower() or "RESOLVED" in text else "test" if \
                "test" in text.lower() else "alert"
            with open(logfile, "a") as f:
                f.write(json.dumps({"service": service, "ok": why is None, "why": why,
                                    "answer": answer, "kind": kind, "path": path,
                                    "body": text[:400]}) + "\n")
        out = json.dumps({"ok": answer < 300}).encode()
        self.send_response(answer)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_POST = do_PUT = handle_one


srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
