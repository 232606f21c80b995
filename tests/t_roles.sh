# The role split (issue 15, DESIGN §9), checked on a real agent started as
# root: only the parent keeps uid 0 and every other process has no
# capabilities, no_new_privs and a seccomp filter; a rule cannot read a
# reporter's secret by any probe or by exec(); a worker that writes
# garbage, a truncated or an oversized message is dropped and restarted;
# kill -9 of each role in turn, while a check flaps and the receiver
# fails half its requests, loses and doubles no event; a forbidden system
# call kills only the role that made it; and the user rules run as is
# never root unless --allow-root says so.
. "$TESTDIR/lib.sh"
plan 43
cleanup() {
	[ -n "${pid:-}" ] && kill -9 $pid 2>/dev/null
	[ -n "${rpid:-}" ] && kill $rpid 2>/dev/null
	rm -rf "${secdir:-/nonexistent-drishti}"
}
trap cleanup EXIT
if [ "$(id -u)" != 0 ]; then
	for i in $(seq 43); do ok "# skip: the role split is checked as root"; done
	exit 0
fi
export DRISHTI_TEST_HOOKS=1
# the user the roles run as: drishti where it exists, else nobody
ruser=drishti; id drishti >/dev/null 2>&1 || ruser=nobody
ruid=$(id -u $ruser)

start_receiver                      # sets $port, $rpid; secret is ./secret, 0600 root
# the reporter's secret lives outside read_paths, root's, mode 0600
secdir=$(mktemp -d /tmp/drishti-secret.XXXXXX); chmod 711 "$secdir"
cp secret "$secdir/hook.secret"; chmod 600 "$secdir/hook.secret"
mkdir -p rules data
echo "hello" > data/readable.txt
cat > rules/flap.lua <<'LUA'
-- fails every other run: an alert and a resolve every few seconds
local n = 0
check "flap.web" { every = "1s", run = function()
  n = n + 1
  if n % 4 < 2 then return crit("down %d", n) end
  return ok("up %d", n)
end }
LUA
cat > rules/steal.lua <<LUA
-- every way a rule could read the secret
check "steal.tail" { every = "1h", run = function()
  local l, e = log.tail("$secdir/hook.secret", 5)
  if l then return crit("READ %s", table.concat(l, " ")) end
  return ok("refused: %s", tostring(e))
end }
check "steal.count" { every = "1h", run = function()
  local n, e = log.count("$secdir/hook.secret", ".", { last = 10 })
  if n then return crit("READ %d", n) end
  return ok("refused: %s", tostring(e))
end }
check "steal.stat" { every = "1h", run = function()
  local s, e = fs.stat("$secdir/hook.secret")
  if s then return crit("STAT %d", s.size) end
  return ok("refused: %s", tostring(e))
end }
check "steal.gzip" { every = "1h", run = function()
  local g, e = fs.gzip_ok("$secdir/hook.secret")
  if g ~= nil and e == nil then return crit("READ") end
  return ok("refused: %s", tostring(e))
end }
check "steal.exec" { every = "1h", run = function()
  local r = exec("/bin/cat", "$secdir/hook.secret")
  if r.code == 0 and r.stdout:find("k3y") then return crit("READ %s", r.stdout) end
  return ok("refused: %s %s", tostring(r.code), tostring(r.error or r.stdout))
end }
check "steal.etc" { every = "1h", run = function()
  local r = exec("/bin/cat", "/etc/shadow")
  if r.code == 0 then return crit("READ /etc/shadow") end
  local r2 = exec("/bin/cat", "/etc/shells")
  if r2.code == 0 then return crit("READ /etc/shells: all of /etc is open") end
  return ok("refused: %s", tostring(r.code))
end }
check "steal.meta" { every = "1h", timeout = "5s", run = function()
  local r = http.get("http://169.254.169.254/latest/meta-data/", { timeout = "2s" })
  if r.error and r.error:find("metadata") then return ok("refused: %s", r.error) end
  return crit("not refused: %s", tostring(r.error or r.status))
end }
check "read.ok" { every = "1h", run = function()
  local l, e = log.tail("$PWD/data/readable.txt", 1)
  if l and l[1] == "hello" then return ok("read") end
  return crit("cannot read what read_paths allows: %s", tostring(e))
end }
check "exec.ok" { every = "1h", run = function()
  local r = exec("/bin/cat", "$PWD/data/readable.txt")
  if r.code == 0 and r.stdout:find("hello") then return ok("exec works") end
  return crit("exec of an allowed command failed: %s %s", tostring(r.code), tostring(r.error or r.stdout))
end }
LUA
for k in garbage short huge; do
	printf 'check "hook.wire.%s" { every = "3s", run = function() return ok("x") end }\n' $k \
	    > rules/hostile_$k.lua
done
cat > rules/neighbour.lua <<'LUA'
check "neighbour.tick" { every = "1s", run = function() return ok("tick") end }
LUA
printf 'check "hook.syscall" { every = "1h", run = function() return ok("not killed") end }\n' > rules/hook_syscall.lua
cat > c.ini <<INI
[agent]
rules = $PWD/rules
state = $PWD/st/state.db
log = $PWD/agent.log
log_level = debug
watch = false
[output]
textfile = $PWD/tf/drishti.prom
[sandbox]
read_paths = $PWD/data
exec = /bin/cat, /usr/bin/cat
timeout = 4s
park = 0s
[reporter "hook"]
type = webhook
url = http://127.0.0.1:$port/hook
secret_file = $secdir/hook.secret
events = alert, resolve
min_severity = ok
INI

# ---- a secret under read_paths is an error -----------------------------------
sed "s|^read_paths = .*|read_paths = $PWD/data, $secdir|" c.ini > leak.ini
expect_exit 78 "a secret under read_paths: lint exit 78" -- "$D" lint -c leak.ini
expect_in "the error names the reporter, the key and read_paths" "$OUT" \
    'leak.ini:[0-9]+: \[reporter "hook"\] secret_file: .*hook.secret is under \[sandbox\] read_paths \(.*leak.ini:[0-9]+'

# ---- root for the roles needs --allow-root -------------------------------------
sed 's|^\[agent\]|[agent]\nuser = root|' c.ini > root.ini
expect_exit 78 "[agent] user = root without --allow-root: exit 78" -- timeout 20 "$D" run -c root.ini
expect_in "it says why and how" "$(cat agent.log)" 'user = root: refusing to run the roles and rules as root .*--allow-root'

# ---- the process table ----------------------------------------------------------
echo flap > mode
"$D" run -c c.ini 2>run.err & pid=$!
wait_for 30 grep -q 'started:' agent.log && ok "agent started" || not_ok "agent did not start"
# this agent's roles only (the suite may run other agents): the parent's
# children, and the state role's for the workers
role_pid() {
	if [ "$1" = worker ]; then pgrep -P "$(pgrep -P $pid -f 'drishti __state' | head -1)" -f 'drishti __worker' | head -1
	else pgrep -P $pid -f "drishti __$1" | head -1; fi
}
ours() { local s; s=$(role_pid state); echo $(pgrep -P $pid -f 'drishti __'; [ -n "$s" ] && pgrep -P $s -f 'drishti __worker'); }
field() { awk -v k="$2:" '$1 == k { print $2 }' /proc/$1/status; }
wait_for 20 sh -c "pgrep -P \$(pgrep -P $pid -f 'drishti __state' | head -1) -f 'drishti __worker' >/dev/null" || true
expect_eq "the parent runs as root" "$(field $pid Uid)" 0
for r in state delivery worker; do
	p=$(role_pid $r)
	if [ -n "$p" ] && [ "$(field $p Uid)" = "$ruid" ] && [ "$(field $p CapEff)" = 0000000000000000 ] &&
	    [ "$(field $p NoNewPrivs)" = 1 ] && [ "$(field $p Seccomp)" = 2 ]; then
		ok "$r role: uid $ruid ($ruser), CapEff 0, NoNewPrivs 1, Seccomp 2"
	else
		not_ok "$r role ($p): $(grep -E '^(Uid|CapEff|NoNewPrivs|Seccomp):' /proc/$p/status 2>/dev/null | tr '\n' ' ')"
	fi
done
roots=0
for p in $pid $(ours); do [ "$(field $p Uid)" = 0 ] && roots=$((roots + 1)); done
expect_eq "only the parent has uid 0" "$roots" 1
# print the table for the closing note
for p in $pid $(ours); do
	echo "# $(tr '\0' ' ' < /proc/$p/cmdline | cut -c1-40) uid=$(field $p Uid) CapEff=$(field $p CapEff) NoNewPrivs=$(field $p NoNewPrivs) Seccomp=$(field $p Seccomp)"
done

# ---- the secret is out of every rule's reach ---------------------------------------
status_line() { "$D" status -c c.ini 2>/dev/null | awk -v c="$1" '$1 == c'; }
status_is() { [ "$("$D" status -c c.ini 2>/dev/null | awk -v c="$1" '$1 == c { print $3 }')" = "$2" ]; }
for c in steal.tail steal.count steal.stat steal.gzip steal.exec steal.etc steal.meta; do
	wait_for 30 sh -c "'$D' status -c c.ini 2>/dev/null | awk '\$1 == \"$c\" && \$2 != \"-\"' | grep -q ." || true
	line=$(status_line $c)
	if printf '%s' "$line" | grep -q "READ\|STAT\|not refused"; then not_ok "$c: $line"
	elif [ -n "$line" ]; then ok "$c: refused"; else not_ok "$c: never ran"; fi
done
wait_for 30 status_is read.ok OK && ok "read_paths still readable" \
    || not_ok "read.ok: $(status_line read.ok)"
wait_for 30 status_is exec.ok OK && ok "exec() of an allowed command works" \
    || not_ok "exec.ok: $(status_line exec.ok)"
expect_not_in "the secret is in no log line" "$(cat agent.log run.err)" "$(cat secret)"

# ---- hostile workers: dropped and restarted, the neighbour goes on -------------------------
for k in garbage short huge; do
	if wait_for 40 sh -c "[ \$(grep -c 'hostile_$k.lua: the worker sent' agent.log) -ge 2 ]"; then
		ok "$k: refused, the worker killed, restarted and refused again"
	else
		not_ok "$k: $(grep "hostile_$k" agent.log | tail -3)"
	fi
done
before=$(grep -c 'check "neighbour.tick"' agent.log)
wait_for 20 status_is neighbour.tick OK && ok "the neighbour goes on" || not_ok "neighbour: $(status_line neighbour.tick)"
expect_eq "the parent is the same process" "$(kill -0 $pid && echo alive)" alive

# ---- kill -9 each role in turn while the check flaps and the receiver fails --------------
for round in 1 2; do
	for r in delivery state; do
		old=$(role_pid $r)
		kill -9 "$old"
		if wait_for 30 sh -c "p=\$(pgrep -P $pid -f 'drishti __$r' | head -1); [ -n \"\$p\" ] && [ \"\$p\" != $old ]"; then
			ok "round $round: kill -9 $r role: restarted"
		else
			not_ok "round $round: $r role not restarted"
		fi
		sleep 2
	done
done
# quiet: the check stops flapping (its file goes), the receiver answers 200
rm rules/flap.lua
echo ok > mode
kill -HUP $pid
wait_for 30 grep -q 'reloaded:' agent.log && ok "reload after the kills" || not_ok "no reload"
outbox_ids() { sqlite3 "file:$PWD/st/state.db?mode=ro" "select id from events where kind in ('alert','resolve') and check_name = 'flap.web' order by seq" 2>/dev/null; }
got_ids() { python3 -c '
import json, sys
ids = set()
for line in open("got.log"):
    try: d = json.loads(line)
    except ValueError: continue
    if d.get("answer") == 200 and d.get("check") == "flap.web": ids.add(d["id"])
print("\n".join(sorted(ids)))'; }
drained() { [ -n "$(outbox_ids)" ] && [ "$(outbox_ids | sort)" = "$(got_ids)" ]; }
wait_for 90 drained && ok "every flap.web event in the outbox reached the receiver" || \
    not_ok "outbox $(outbox_ids | wc -l) events, receiver $(got_ids | wc -l)"
extra=$(comm -13 <(outbox_ids | sort) <(got_ids))
expect_eq "the receiver got no event the outbox does not have" "$extra" ""
n_out=$(outbox_ids | wc -l)
[ "$n_out" -ge 4 ] && ok "$n_out events went through the kills" || not_ok "only $n_out events"

# ---- a forbidden system call kills only that role --------------------------------------
for r in state delivery; do
	old=$(role_pid $r)
	[ $r = state ] && kill -USR1 $pid || kill -USR2 $pid
	if wait_for 30 grep -q "$r role (pid $old) was killed by signal 31" agent.log; then
		ok "$r role: a forbidden system call is SIGSYS"
	else
		not_ok "$r role: no SIGSYS ($(grep "$r role" agent.log | tail -2))"
	fi
	wait_for 30 sh -c "p=\$(pgrep -P $pid -f 'drishti __$r' | head -1); [ -n \"\$p\" ] && [ \"\$p\" != $old ]" &&
	    ok "$r role restarted after SIGSYS" || not_ok "$r role not back"
done
wait_for 30 sh -c "'$D' status -c c.ini | grep -q '^hook.syscall .*UNKNOWN.*sandbox: killed (worker died of SYS)'" &&
    ok "a worker's forbidden system call: SIGSYS, that run UNKNOWN" || not_ok "hook.syscall: $(status_line hook.syscall)"
expect_eq "the parent survived them" "$(kill -0 $pid && echo alive)" alive
before=$(stat -c %Y tf/drishti.prom)
wait_for 30 sh -c "[ \$(stat -c %Y tf/drishti.prom) -gt $before ]" && ok "the agent goes on (textfile written)" \
    || not_ok "textfile not written after the roles restarted"

left=$(ours)
kill -TERM $pid
wait_for 30 sh -c "! kill -0 $pid 2>/dev/null" && ok "SIGTERM stops the parent and its roles" || not_ok "no stop"
wait $pid; rc=$?
expect_eq "exit 0" "$rc" 0
alive=0; for p in $left; do kill -0 $p 2>/dev/null && alive=$((alive + 1)); done
expect_eq "no role is left" "$alive" 0
pid=
