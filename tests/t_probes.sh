# Local probes on fixtures made here: backups fresh, stale, corrupt and
# shrunken; logs with 4 and 7 errors in their last 100 lines; timestamps;
# appended lines across a rotation and a truncation; a 10 GB log read from
# its end; and the read_paths fence against symlinks and "..".
. "$TESTDIR/lib.sh"
plan 15
data=$PWD/data
mkdir -p "$data/backups" "$data/logs" outside rules
echo "secret" > outside/secret.txt
ln -s "$PWD/outside/secret.txt" "$data/link-out"
ln -s "$PWD/outside" "$data/dir-out"

# backups: a fresh dump, one two days old, a corrupt one, a plain file
seq 1 20000 | gzip > "$data/backups/db-new.sql.gz"
seq 1 40000 | gzip > "$data/backups/db-old.sql.gz"
touch -d '2 days ago' "$data/backups/db-old.sql.gz"
seq 1 20000 | gzip | head -c 3000 > "$data/backups/cut.gz"
echo "not gzip" > "$data/backups/plain.gz"
: > "$data/backups/empty.gz"
mkdir -p "$data/stale"
seq 1 100 | gzip > "$data/stale/db.sql.gz"
touch -d '2 days ago' "$data/stale/db.sql.gz"

# logs: 7 errors in the last 100 lines, 4 in the other; both with older errors
{ for i in $(seq 1 50); do echo "old ERROR $i"; done
  for i in $(seq 1 93); do echo "info line $i"; done
  for i in $(seq 1 6); do echo "ERROR request $i failed"; done
  echo "FATAL out of memory"; } > "$data/logs/seven.log"
{ for i in $(seq 1 50); do echo "old FATAL $i"; done
  for i in $(seq 1 96); do echo "info line $i"; done
  for i in $(seq 1 4); do echo "ERROR request $i failed"; done; } > "$data/logs/four.log"
# timestamps: two hours ago (not counted with since = 1h) and now
old=$(date -d '2 hours ago' '+%Y-%m-%dT%H:%M:%S')
new=$(date '+%Y-%m-%dT%H:%M:%S')
sysl=$(date -d '10 minutes ago' '+%b %e %H:%M:%S')
clf=$(date -u -d '5 minutes ago' '+%d/%b/%Y:%H:%M:%S +0000')
{ echo "$old ERROR early"; echo "$old ERROR early"; echo "$new ERROR late"
  echo "$sysl host app[1]: ERROR syslog style"
  echo "127.0.0.1 - - [$clf] \"GET /x HTTP/1.1\" 500 ERROR"; } > "$data/logs/stamped.log"
# 10 GB, sparse, with real lines at its end
truncate -s 10G "$data/logs/huge.log"
printf '\nERROR a\nok b\nERROR c\n' >> "$data/logs/huge.log"

cat > c.ini <<INI
[agent]
rules = rules
[sandbox]
read_paths = $data
instructions = 2G
timeout = 60s
[vars]
data = $data
INI
cat > rules/p.lua <<'LUA'
local d = vars.data
local function s(v) return tostring(v) end
check "p.newest" { every = "1m", run = function()
  local n = fs.newest(d .. "/backups/*.sql.gz")
  return ok("%s %d %s %s %s", n.path:match("[^/]+$"), n.count, s(n.age < 3600),
    n.prev.path:match("[^/]+$"), s(n.prev.age > 86400))
end }
check "p.newest_stale" { every = "1m", run = function()
  local n = fs.newest(d .. "/stale/*.sql.gz")
  return ok("%s", s(n.age > 86400))
end }
check "p.newest_none" { every = "1m", run = function()
  local n, err = fs.newest(d .. "/backups/*.nothing")
  return ok("%s %s", s(n), err)
end }
check "p.gzip" { every = "1m", run = function()
  local r = {}
  for _, f in ipairs { "db-new.sql.gz", "cut.gz", "plain.gz", "empty.gz" } do
    local good, why = fs.gzip_ok(d .. "/backups/" .. f)
    r[#r + 1] = s(good) .. (why and (":" .. why) or "")
  end
  return ok("%s", table.concat(r, " | "))
end }
check "p.stat" { every = "1m", run = function()
  local st = fs.stat(d .. "/logs/four.log")
  local none, err = fs.stat(d .. "/nothing")
  return ok("%d %s %s", st.size, s(st.age >= 0), err)
end }
check "p.fence" { every = "1m", run = function()
  local r = {}
  for _, p in ipairs { d .. "/link-out", d .. "/dir-out/secret.txt",
                       d .. "/../outside/secret.txt", "/etc/passwd", "relative.txt" } do
    local st, err = fs.stat(p)
    r[#r + 1] = s(st) .. ":" .. (err:match(": (.*)$") or err)
  end
  local n, nerr = log.count(d .. "/link-out", "x", { last = 1 })
  r[#r + 1] = s(n) .. ":" .. nerr:match(": (.*)$")
  local t, terr = log.tail("/etc/passwd", 1)
  r[#r + 1] = s(t) .. ":" .. terr:match(": (.*)$")
  local g, gerr = fs.newest(d .. "/dir-out/*")
  r[#r + 1] = s(g) .. ":" .. gerr:match(": (.*)$")
  return ok("%s", table.concat(r, " | "))
end }
check "p.usage" { every = "1m", run = function()
  local u = fs.usage(d)
  return ok("%s %s", s(u.total > 0 and u.used + u.free <= u.total), s(u.pct >= 0 and u.pct <= 100))
end }
check "p.count_last" { every = "1m", run = function()
  return ok("%d %d", log.count(d .. "/logs/seven.log", "ERROR|FATAL", { last = 100 }),
                     log.count(d .. "/logs/four.log", "ERROR|FATAL", { last = 100 }))
end }
check "p.count_since" { every = "1m", run = function()
  return ok("%d %d", log.count(d .. "/logs/stamped.log", "ERROR", { since = "1h" }),
                     log.count(d .. "/logs/stamped.log", "error", { since = "3h", ignore_case = true }))
end }
check "p.huge" { every = "1m", run = function()
  local t = log.tail(d .. "/logs/huge.log", 2)
  return ok("%d %s %s", log.count(d .. "/logs/huge.log", "^ERROR", { last = 3 }), t[1], t[2])
end }
check "p.tail" { every = "1m", run = function()
  local t = log.tail(d .. "/logs/four.log", 3)
  return ok("%d [%s] [%s]", #t, t[1], t[3])
end }
check "p.badregex" { every = "1m", run = function()
  return ok("%s", select(2, pcall(log.count, d .. "/logs/four.log", "(", { last = 1 })))
end }
check "p.sys" { every = "1m", run = function()
  local l, m, up = sys.load(), sys.memory(), sys.uptime()
  return ok("%s %s %s", s(l.cores >= 1 and l.load1 >= 0), s(m.total > 0 and m.pct >= 0 and m.pct <= 100),
    s(up > 0))
end }
-- appended lines, across rotation and truncation; the test drives the file
-- and this run waits for each step (print tells the test where it is)
local function wait_for(line)
  local t0 = os.time()
  while os.time() - t0 < 40 do
    local t = log.tail(d .. "/logs/app.log", 1)
    if t and t[1] == line then return end
  end
  error("timed out waiting for " .. line)
end
check "p.new" { every = "1m", run = function()
  local p = d .. "/logs/app.log"
  local n0 = log.count(p, "ERROR", { new = true })
  print("STEP0")
  wait_for("STEP1")
  local n1 = log.count(p, "ERROR", { new = true })
  print("STEP1 read")
  wait_for("STEP2")
  local n2 = log.count(p, "ERROR", { new = true })
  print("STEP2 read")
  wait_for("STEP3")
  local n3 = log.count(p, "ERROR", { new = true })
  local n4 = log.count(p, "ERROR", { new = true })
  return ok("%d %d %d %d %d", n0, n1, n2, n3, n4)
end }
LUA
expect_exit 0 "lint of the probe rules" -- "$D" lint -c c.ini

OUT=$("$D" once -c c.ini p.newest p.newest_stale p.newest_none p.gzip p.stat p.fence p.usage \
    p.count_last p.count_since p.huge p.tail p.badregex p.sys 2>&1)
expect_eq "fs.newest: newest, count, previous" "$(summary_of p.newest)" "db-new.sql.gz 2 true db-old.sql.gz true"
expect_eq "fs.newest: a stale backup is old" "$(summary_of p.newest_stale)" "true"
expect_eq "fs.newest: no match" "$(summary_of p.newest_none)" "nil no file matches"
expect_eq "fs.gzip_ok" "$(summary_of p.gzip)" "true | false:truncated: unexpected end of file | false:not a gzip file | false:empty file"
expect_in "fs.stat" "$(summary_of p.stat)" "^[0-9]+ true $data/nothing: No such file or directory$"
expect_eq "read_paths fence" "$(summary_of p.fence)" \
    "nil:outside read_paths | nil:outside read_paths | nil:outside read_paths | nil:outside read_paths | nil:not an absolute path | nil:outside read_paths | nil:outside read_paths | nil:outside read_paths"
expect_eq "fs.usage" "$(summary_of p.usage)" "true true"
expect_eq "log.count last 100: 7 and 4" "$(summary_of p.count_last)" "7 4"
expect_eq "log.count since" "$(summary_of p.count_since)" "3 5"
expect_eq "a 10 GB log is read from its end" "$(summary_of p.huge)" "2 ok b ERROR c"
expect_eq "log.tail" "$(summary_of p.tail)" "3 [ERROR request 2 failed] [ERROR request 4 failed]"
expect_in "bad regex is a rule error" "$(summary_of p.badregex)" "bad regex"
expect_eq "sys probes" "$(summary_of p.sys)" "true true true"

# { new = true } across appends, a rotation and a truncation
log=$data/logs/app.log
printf 'ERROR before the first run\n' > "$log"
"$D" once -c c.ini p.new > new.out 2> new.err &
pid=$!
wait_for 30 grep -q 'print: STEP0' new.err || not_ok "p.new did not start"
printf 'ERROR one\nERROR two\ninfo\nERROR three\nSTEP1\n' >> "$log"
wait_for 30 grep -q 'print: STEP1 read' new.err || not_ok "p.new step 1"
printf 'ERROR late in the old file\n' >> "$log"
mv "$log" "$log.1"
printf 'ERROR new file 1\nERROR new file 2\nSTEP2\n' > "$log"
wait_for 30 grep -q 'print: STEP2 read' new.err || not_ok "p.new step 2"
: > "$log"
printf 'ERROR after truncate\nSTEP3\n' >> "$log"
wait "$pid"
OUT=$(cat new.out)
expect_eq "new lines: first run 0, appended 3, rotation 1+2, truncation 1, then 0" \
    "$(summary_of p.new)" "0 3 3 1 0"
