# The command line: exit codes and output of once, lint, help, version and
# usage errors (DESIGN.md §3).
. "$TESTDIR/lib.sh"
plan 45
mkdir -p rules
cat > rules/a.lua <<'LUA'
check "a.ok"   { every = "1m", run = function() metric("answer", 42, "n") return ok("fine") end }
check "a.warn" { every = "1m", run = function() return warn("careful %d%%", 81) end }
check "a.crit" { every = "1m", run = function() return crit("broken: %s", "disk") end }
check "a.unknown" { every = "1m", run = function() return unknown("cannot tell") end }
check "a.error" { every = "1m", run = function() error("boom") end }
report "a.daily" { cron = "0 9 * * *", build = function(r) end }
LUA
printf '[agent]\nrules = rules\n' > c.ini

expect_exit 0 "once of an OK check exits 0" -- "$D" once -c c.ini a.ok
expect_in "table header" "$OUT" '^CHECK +STATUS +TIME +SUMMARY'
expect_in "table row" "$OUT" '^a\.ok +OK +[0-9.]+(ms|s) +fine$'
expect_exit 1 "worst WARN exits 1" -- "$D" once -c c.ini a.ok a.warn
expect_eq "format with %%" "$(summary_of a.warn)" "careful 81%"
expect_exit 2 "worst CRIT exits 2" -- "$D" once -c c.ini a.ok a.warn a.crit
expect_exit 3 "worst UNKNOWN exits 3" -- "$D" once -c c.ini a.unknown a.ok
expect_exit 3 "an error is UNKNOWN with its text" -- "$D" once -c c.ini a.error
expect_in "error text with position" "$(summary_of a.error)" 'rules/a.lua:5: boom$'
expect_exit 3 "all checks: the worst" -- "$D" once -c c.ini
expect_not_in "reports are not run by once" "$OUT" 'a\.daily'
expect_exit 64 "unknown check name exits 64" -- "$D" once -c c.ini a.nope
expect_eq "unknown check message" "$OUT" 'drishti once: no check named "a.nope"'
expect_exit 64 "a report is not a check" -- "$D" once -c c.ini a.daily

# --json: one object per line, with metrics
expect_exit 1 "once --json" -- "$D" once -c c.ini --json a.ok a.warn
j=$(printf '%s\n' "$OUT" | python3 -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print(len(rows), rows[0]["check"], rows[0]["status"], rows[0]["metrics"]["answer"]["value"], rows[1]["status"], rows[1]["summary"])')
expect_eq "json lines parse" "$j" "2 a.ok ok 42 warn careful 81%"

# usage errors: 64
expect_exit 64 "no command" -- "$D"
expect_exit 64 "unknown command" -- "$D" frobnicate
expect_in "unknown command names it" "$OUT" 'unknown command "frobnicate"'
expect_exit 64 "unknown option" -- "$D" once --bogus
expect_in "unknown option names it" "$OUT" 'unknown option "--bogus"'
expect_exit 64 "-c without a file" -- "$D" lint -c
expect_exit 64 "version takes no argument" -- "$D" version x
expect_exit 64 "help on nothing known" -- "$D" help nothing
expect_exit 0 "help" -- "$D" help
expect_in "help lists once" "$OUT" 'drishti once \[-c FILE\] \[--json\] \[--list\] \[NAME...\]'
expect_exit 0 "help once" -- "$D" help once
expect_in "help once tells exit codes" "$OUT" '0 all OK, 1 a WARN, 2 a CRIT'
expect_exit 0 "version" -- "$D" version
expect_in "version names Lua" "$OUT" '^drishti [0-9]+\.[0-9]+\.[0-9]+ \(Lua 5\.4'
expect_exit 64 "report of an unknown report name" -- "$D" report -c c.ini nosuch
expect_in "... names it" "$OUT" 'no report named "nosuch"'
expect_exit 64 "report needs a name" -- "$D" report -c c.ini
expect_exit 0 "help report" -- "$D" help report
expect_in "help report names the formats" "$OUT" 'report \[-c FILE\] \[--format text\|json\|html\] \[--send\] \[--list\] NAME'
expect_exit 64 "run takes no arguments" -- "$D" run -c c.ini extra

# lint: ok, and a count
expect_exit 0 "lint of good rules" -- "$D" lint -c c.ini
expect_eq "lint summary" "$(printf '%s\n' "$OUT" | tail -1)" "1 rule file, 5 checks, 1 report: ok"
expect_in "lint per file" "$OUT" '^(/.*/)?rules/a\.lua: 5 checks, 1 report, [0-9.]+ KiB loaded$'
expect_exit 0 "lint of a given file" -- "$D" lint -c c.ini rules/a.lua

# the shipped rules run on this host with no config at all
cd "$TESTDIR/.."
OUT=$(env -u DRISHTI_CONFIG "$D" once 2>&1); rc=$?
[ "$rc" -le 2 ] && ok "shipped rules give a verdict on this host (exit $rc)" || not_ok "shipped rules exit $rc"
expect_in "host.disk verdict" "$OUT" '^host\.disk +(OK|WARN|CRIT) .*% used'
expect_in "host.memory verdict" "$OUT" '^host\.memory +(OK|WARN|CRIT) +.*memory [0-9]+% used'
expect_in "host.load verdict" "$OUT" '^host\.load +(OK|WARN|CRIT) +.*load [0-9.]+ [0-9.]+ [0-9.]+ on [0-9]+ cores'
expect_exit 0 "shipped rules lint clean" -- "$D" lint rules
