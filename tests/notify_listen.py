#!/usr/bin/env python3
"""Listens on a unix datagram socket as systemd does for sd_notify, and
appends each message it gets to a file, one per line.
usage: notify_listen.py SOCKET OUTFILE"""
import os, socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
# the agent's state role runs as an unprivileged user, as under systemd,
# whose notify socket is writable by all
os.chmod(path, 0o777)
with open(out, "a", buffering=1) as f:
    f.write("LISTENING\n")
    while True:
        msg = s.recv(4096).decode()
        for line in msg.splitlines():
            f.write(line + "\n")
