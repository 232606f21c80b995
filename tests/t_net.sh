# Network probes against real servers on 127.0.0.1: python3's HTTP server,
# plain and TLS, with a test CA made here by openssl.  Status codes,
# latency, a server that never answers, a 50 MB body, redirects, POST,
# valid / expired / self-signed certificates, refused connections.
. "$TESTDIR/lib.sh"
plan 27
. "$TESTDIR/certs.sh"
trap stop_all EXIT
mkcerts
[ -s good.crt ] && [ -s expired.crt ] && ok "test CA and certificates made" || not_ok "openssl could not make the certificates"
start_httpd plain
start_httpd good --tls good.crt good.key
start_httpd expired --tls expired.crt expired.key
start_httpd self --tls self.crt self.key
mkdir -p rules
cat > c.ini <<INI
[agent]
rules = rules
[sandbox]
read_paths = $PWD
[vars]
plain = http://127.0.0.1:$PORT_plain
good = https://localhost:$PORT_good
expired = https://localhost:$PORT_expired
self = https://localhost:$PORT_self
ca = $PWD/ca.crt
port_good = $PORT_good
port_expired = $PORT_expired
port_self = $PORT_self
port_plain = $PORT_plain
INI
cat > rules/net.lua <<'LUA'
local P, S = vars.plain, tostring
check "h.200" { every = "1m", run = function()
  local r = http.get(P .. "/")
  return ok("%d %s %s %s", r.status, r.body:gsub("\n", ""), S(r.error), r.headers["content-type"])
end }
check "h.404" { every = "1m", run = function() return ok("%d", http.get(P .. "/status/404").status) end }
check "h.500" { every = "1m", run = function() return ok("%d", http.get(P .. "/status/500").status) end }
check "h.slow" { every = "1m", run = function()
  local r = http.get(P .. "/slow/0.3")
  return ok("%d %s", r.status, S(r.time >= 0.3 and r.time < 5))
end }
check "h.hang" { every = "1m", run = function()
  local r = http.get(P .. "/hang", { timeout = "1s" })
  return ok("%d %s %s", r.status, S(r.time >= 0.9), r.error)
end }
check "h.big" { every = "1m", run = function()
  local r = http.get(P .. "/big/50")
  local r2 = http.get(P .. "/big/50", { max_body = "2M" })
  return ok("%d %d %s %d %s", r.status, #r.body, S(r.truncated), #r2.body, S(r.error))
end }
check "h.refused" { every = "1m", run = function()
  local r = http.get("http://127.0.0.1:1/")
  return ok("%d %s", r.status, S(r.error ~= nil))
end }
check "h.json" { every = "1m", run = function()
  local t = http.get(P .. "/json"):json()
  return ok("%s %d", S(t.ok), t.n)
end }
check "h.redirect" { every = "1m", run = function()
  return ok("%d %d", http.get(P .. "/redirect").status, http.get(P .. "/redirect", { follow = true }).status)
end }
check "h.post" { every = "1m", run = function()
  local r = http.post(P .. "/echo", '{"a":1}', { headers = { ["Content-Type"] = "application/json", ["X-Test"] = "yes" } })
  local e = r:json()
  return ok("%s %s %s %s", e.method, e.body, e.headers["content-type"], e.headers["x-test"])
end }
check "h.head" { every = "1m", run = function()
  local r = http.head(P .. "/")
  return ok("%d [%s]", r.status, r.body)
end }
check "h.header_injection" { every = "1m", run = function()
  return ok("%s", select(2, pcall(http.get, P, { headers = { X = "a\r\nB: c" } })))
end }
check "s.good" { every = "1m", run = function()
  local r = http.get(vars.good .. "/", { ca_file = vars.ca })
  return ok("%d %s", r.status, S(r.error))
end }
check "s.untrusted" { every = "1m", run = function()
  local r = http.get(vars.good .. "/")
  return ok("%d %s", r.status, S(r.error ~= nil))
end }
check "s.expired" { every = "1m", run = function()
  local r = http.get(vars.expired .. "/", { ca_file = vars.ca })
  return ok("%d %s", r.status, r.error)
end }
check "s.self" { every = "1m", run = function()
  local r = http.get(vars.self .. "/", { ca_file = vars.ca })
  local r2 = http.get(vars.self .. "/", { insecure = true })
  return ok("%d %s %d", r.status, S(r.error ~= nil), r2.status)
end }
check "t.good" { every = "1m", run = function()
  local c = tls.cert("localhost", tonumber(vars.port_good), { ca_file = vars.ca })
  return ok("%s %s %s %s%s", S(c.verified), S(c.days_left > 18 and c.days_left < 21), c.subject, c.issuer, c.why and (" " .. c.why) or "")
end }
check "t.expired" { every = "1m", run = function()
  local c = tls.cert("localhost", tonumber(vars.port_expired), { ca_file = vars.ca })
  return ok("%s %s %s", S(c.verified), S(c.days_left < -2000), c.why)
end }
check "t.self" { every = "1m", run = function()
  local c = tls.cert("localhost", tonumber(vars.port_self), { ca_file = vars.ca })
  return ok("%s %s", S(c.verified), S(c.subject == "CN=localhost"))
end }
check "t.plain" { every = "1m", run = function()
  local c = tls.cert("127.0.0.1", tonumber(vars.port_plain), { timeout = "2s" })
  return ok("%s %s", S(c.verified), S(c.error ~= nil))
end }
check "c.tcp" { every = "1m", run = function()
  local a, b = tcp.connect("127.0.0.1", tonumber(vars.port_plain)), tcp.connect("127.0.0.1", 1)
  return ok("%s %s %s", S(a.ok), S(b.ok), S(b.error ~= nil))
end }
check "c.nested" { every = "1m", run = function()
  local co = coroutine.wrap(function() return http.get(P .. "/") end)
  local _, e1 = pcall(co)
  local _, e2 = pcall(table.sort, { 3, 2, 1 }, function(a, b) http.get(P .. "/") return a < b end)
  local _, e3 = pcall(string.gsub, "ab", ".", function(c) return tcp.connect("127.0.0.1", 1) end)
  return ok("%s | %s | %s", e1, e2, e3)
end }
check "c.pcall" { every = "1m", run = function()
  local fine, r = pcall(http.get, P .. "/")
  local fine2, r2 = xpcall(tls.cert, debug and print or function(m) return m end, "localhost", tonumber(vars.port_good), { ca_file = vars.ca })
  return ok("%s %d %s %s", tostring(fine), r.status, tostring(fine2), tostring(r2.verified))
end }
check "c.ca_fence" { every = "1m", run = function()
  return ok("%s", select(2, pcall(http.get, P, { ca_file = "/etc/passwd" })))
end }
LUA
start=$(date +%s)
OUT=$("$D" once -c c.ini 2>&1); rc=$?
took=$(( $(date +%s) - start ))
expect_eq "once over network checks exits 0" "$rc" "0"
while IFS='|' read -r check want; do
	expect_in "$check" "$(summary_of "$check")" "$want"
done <<'LIST'
h.200|^200 hello nil text/plain$
h.404|^404$
h.500|^500$
h.slow|^200 true$
h.hang|^0 true .*[Tt]imeout|timed out
h.big|^200 1048576 true 2097152 nil$
h.refused|^0 true$
h.json|^true 42$
h.redirect|^302 200$
h.post|^POST \{"a":1\} application/json yes$
h.head|^200 \[\]$
h.header_injection|a header may not hold a line break
s.good|^200 nil$
s.untrusted|^0 true$
s.expired|^0 .*(expired|EXPIRED|certificate)
s.self|^0 true 200$
t.good|^true true CN=localhost CN=drishti test CA$
t.expired|^false true .*expired
t.self|^false true$
t.plain|^false true$
c.tcp|^true false true$
c.ca_fence|outside read_paths
c.nested|cannot wait inside a coroutine the rule made \| .*cannot wait here \(inside a metamethod.* \| .*cannot wait here
c.pcall|^true 200 true true$
LIST
# the slow, hanging and big checks wait side by side, not one after another
[ "$took" -lt 10 ] && ok "probes wait concurrently (${took}s)" || not_ok "network checks took ${took}s"
