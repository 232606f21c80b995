# certs.sh — makes a test CA and server certificates with openssl, in the
# current directory: ca.crt; good.{crt,key} (localhost, signed by the CA);
# expired.{crt,key} (localhost, the CA's, expired in 2020); self.{crt,key}
# (localhost, self-signed).  Sourced by tests.
mkcerts() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt \
	    -subj "/CN=drishti test CA" -days 30 2>/dev/null
	mkdir -p cadb && : > cadb/index.txt && echo 01 > cadb/serial
	cat > ca.cnf <<'CNF'
[ca]
default_ca = test
[test]
dir = .
database = cadb/index.txt
serial = cadb/serial
new_certs_dir = cadb
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
[any]
commonName = supplied
CNF
	for name in good expired; do
		openssl req -newkey rsa:2048 -nodes -keyout $name.key -out $name.csr \
		    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" 2>/dev/null
	done
	openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in good.csr \
	    -out good.crt -days 20 >/dev/null 2>&1
	openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -in expired.csr \
	    -out expired.crt -startdate 20200101000000Z -enddate 20200201000000Z >/dev/null 2>&1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout self.key -out self.crt \
	    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost" -days 10 2>/dev/null
}

# start_httpd NAME [--tls CERT KEY]: sets PORT_NAME; the server dies with the test
start_httpd() {
	local name=$1; shift
	python3 "$TESTDIR/httpd.py" "port.$name" "$@" &
	echo $! >> pids
	wait_for 20 test -s "port.$name" || { not_ok "httpd $name did not start"; return 1; }
	eval "PORT_$name=$(cat "port.$name")"
}

stop_all() {
	[ -f pids ] && while read -r p; do kill "$p" 2>/dev/null; done < pids
	rm -f pids
}
