# Rule declarations are checked at load: every mistake is FILE:LINE: message,
# lint shows all of them, and exit is 78.
. "$TESTDIR/lib.sh"
plan 39
mkdir -p r
printf '[agent]\nrules = r\n[reporter "ops"]\ntype = stdout\n' > c.ini
cat > r/bad.lua <<'LUA'
check "x.typo" { evrey = "1m", run = function() return ok() end }
check "x.dur" { every = "1 minute", run = function() return ok() end }
check "x.cron" { cron = "61 * * * *", run = function() return ok() end }
check "x.both" { every = "1m", cron = "* * * * *", run = function() return ok() end }
check "x.none" { run = function() return ok() end }
check "x.norun" { every = "1m" }
check "x.after" { every = "1m", after = 0, run = function() return ok() end }
check "x.flap" { every = "1m", flap = "11/10", run = function() return ok() end }
check "x.unknown" { every = "1m", unknown = "maybe", run = function() return ok() end }
check "x.notify" { every = "1m", notify = { "pager" }, run = function() return ok() end }
check "x.labels" { every = "1m", labels = { ["bad name"] = "v" }, run = function() return ok() end }
check "x.fast" { every = "100ms", run = function() return ok() end }
check "x.jitter" { every = "1m", jitter = "2m", run = function() return ok() end }
check "x.dup" { every = "1m", run = function() return ok() end }
check "x.dup" { every = "1m", run = function() return ok() end }
check "bad name!" { every = "1m", run = function() return ok() end }
report "x.report" { cron = "0 9 * * 1", run = function() end }
check "x.notable" "oops"
LUA
expect_exit 78 "bad declarations exit 78" -- "$D" lint -c c.ini
while IFS= read -r want; do
	expect_in "error: $want" "$OUT" "^(/.*/)?r/bad\.lua:$want"
done <<'LIST'
1: check "x.typo": unknown key "evrey"
2: check "x.dur": every: bad duration "1 minute"
3: check "x.cron": cron: bad cron "61 \* \* \* \*": bad minute field "61"
4: check "x.both": give every or cron, not both
5: check "x.none": missing every or cron
6: check "x.norun": missing run function
7: check "x.after": after: want a whole number from 1 to 10000
8: check "x.flap": flap: want "M/N"
9: check "x.unknown": unknown: want "fail" or "ignore"
10: check "x.notify": notify: no reporter "pager" in the config
11: check "x.labels": labels: a label name is letters, digits and _
12: check "x.fast": every: must be at least 1s
13: check "x.jitter": jitter: must be shorter than every
15: check "x.dup": declared twice \(first at line 14\)
16: check name must be 1 to 128 letters, digits or \. _ : -
17: report "x.report": unknown key "run"
17: report "x.report": missing build function
18: check "x.notable": want check "x.notable" \{ \.\.\. \} with a table, not a string
LIST
expect_in "error count" "$OUT" '^18 errors$'

# syntax and runtime errors at load carry FILE:LINE
mkdir -p s
printf 'check "s.a" { every = "1m", run = function() return ok() end }\n\nlocal x = = 1\n' > s/syntax.lua
printf 'local t = nil\nlocal y = t.field\n' > s/runtime.lua
printf 'check "s.b" { every = "1m", run = function() return ok() end }\n' > s/other.lua
printf 'check "s.b" { every = "1m", run = function() return ok() end }\n' > s/other2.lua
expect_exit 78 "syntax and runtime errors" -- "$D" lint -c c.ini s
expect_in "syntax error line" "$OUT" "^s/syntax\.lua:3: unexpected symbol near '='"
expect_in "runtime error line" "$OUT" "^s/runtime\.lua:2: attempt to index a nil value \(local 't'\)"
expect_in "duplicate across files" "$OUT" '^s/other2\.lua:1: check "s\.b": declared twice \(first at s/other\.lua:1\)'
# once runs every file that loads; each broken file is an UNKNOWN row
# rules:FILE with the message lint gives, and once exits 3 (DESIGN §3)
printf '[agent]\nrules = s\nstate = %s/s.db\n' "$PWD" > s.ini
expect_exit 3 "once runs the files that load beside broken ones (exit 3)" -- "$D" once -c s.ini
expect_eq "the loadable check runs" "$(status_of s.b)" "OK"
expect_in "syntax error as a row" "$OUT" "^rules:syntax\.lua +UNKNOWN +- +(/.*/)?s/syntax\.lua:3: unexpected symbol near '='"
expect_in "runtime error as a row" "$OUT" "^rules:runtime\.lua +UNKNOWN .*s/runtime\.lua:2: attempt to index a nil value"
expect_in "a duplicate name is refused as lint says" "$OUT" '^rules:other2\.lua +UNKNOWN .*s/other2\.lua:1: check "s\.b": declared twice \(first at (/.*/)?s/other\.lua:1\)'
expect_exit 78 "lint of a missing file" -- "$D" lint -c c.ini nothere.lua
expect_in "missing file message" "$OUT" '^nothere\.lua: cannot read: No such file or directory'

# a declaration inside a run is an error of that run, not a crash
mkdir -p late
cat > late/l.lua <<'LUA'
check "l.late" { every = "1m", run = function()
  check "l.inner" { every = "1m", run = function() return ok() end }
  return ok()
end }
check "l.metric_bad" { every = "1m", run = function() metric("9bad", 1) return ok() end }
check "l.vars_ro" { every = "1m", run = function() vars.x = 1 return ok() end }
check "l.vars_raw" { every = "1m", run = function() return ok("%s", pcall(rawset, vars, "x", 1)) end }
check "l.json" { every = "1m", run = function()
  local t = json.decode('{"a":[1,2,{"b":null}],"c":"d","e":1.5,"f":true}')
  local s = json.encode({ list = { 1, 2, 3 }, name = "x" })
  local back = json.decode(s)
  local bad, err = json.decode("{broken")
  local cyc = {} cyc.self = cyc
  local nope, cerr = json.encode(cyc)
  return ok("%d %s %s %s %s %d %s %s %s", #t.a, tostring(t.a[3].b == json.null), t.c, t.e, tostring(t.f),
    #back.list, back.name, tostring(bad), tostring(cerr))
end }
check "l.duration" { every = "1m", run = function()
  return ok("%s %s %s", duration("1h30m"), duration("500ms"), tostring(now() > 1.7e9))
end }
check "l.verdict_fields" { every = "1m", run = function()
  local v = warn("x %d", 1)
  return ok("%s %s", v.status, v.summary)
end }
LUA
printf '[agent]\nrules = late\n' > late.ini
expect_exit 3 "runs with rule bugs" -- "$D" once -c late.ini
expect_in "declaration in a run" "$(summary_of l.late)" 'check\(\) belongs at the top level of a rule file'
expect_in "bad metric name" "$(summary_of l.metric_bad)" 'bad argument #1 to .metric.'
expect_in "vars are read-only" "$(summary_of l.vars_ro)" 'vars are read-only'
expect_eq "rawset cannot write vars" "$(status_of l.vars_raw) $(summary_of l.vars_raw)" "OK false"
expect_eq "json round trip" "$(summary_of l.json)" "3 true d 1.5 true 3 x nil nested deeper than 100 (a cycle?)"
expect_eq "duration and now" "$(summary_of l.duration)" "5400.0 0.5 true"
expect_eq "verdict fields" "$(summary_of l.verdict_fields)" "warn x 1"
