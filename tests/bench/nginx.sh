# tests/bench/nginx.sh — sourced by the benchmark scripts: a scratch
# directory and one local nginx answering 200 "ok" on 127.0.0.1, stopped
# and removed at exit.
#   bench_nginx NAME [HTTP_LINES]   sets tmp, port, URL; @TMP@ in
#   HTTP_LINES (nginx directives for the http block) is the scratch dir
# The scratch directory is 755: started as root, drishti's roles run as its
# unprivileged user and must reach the rules and logs written there.
bench_nginx() {
	tmp=$(mktemp -d "/tmp/drishti-$1.XXXXXX")
	chmod 755 "$tmp"
	trap '[ -f "$tmp/nginx.pid" ] && kill "$(cat "$tmp/nginx.pid")" 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$tmp"' EXIT
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	URL=http://127.0.0.1:$port
	local extra=${2:-access_log off;}
	extra=${extra//@TMP@/$tmp}
	cat > "$tmp/nginx.conf" <<NGX
worker_processes 1;
error_log $tmp/nginx.err;
pid $tmp/nginx.pid;
events { worker_connections 8192; }
http {
  $extra
  server { listen 127.0.0.1:$port backlog=4096; location / { return 200 "ok\n"; } }
}
NGX
	nginx -p "$tmp" -c "$tmp/nginx.conf" || exit 1
	for _ in $(seq 50); do curl -s -o /dev/null "$URL/" && break; sleep 0.1; done
}
