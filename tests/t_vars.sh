# Typed [vars] (issue 14): a rule declares what it reads (var "NAME" {
# type, default, doc }); vars.NAME is the typed value; lint checks the
# config's [vars] against the declarations (a wrong type and a path outside
# read_paths are errors naming both lines, an undeclared key a warning with
# "did you mean", --strict makes it an error); help vars lists them, and
# docs/vars.md is that list for the shipped rules.
. "$TESTDIR/lib.sh"
plan 19
TOP=$(cd "$TESTDIR/.." && pwd)
mkdir -p rules
cat > rules/t.lua <<'LUA'
var "wait" { type = "duration", default = "2s", doc = "how long" }
var "cap" { type = "size", default = "8M" }
var "share" { type = "percent", default = "80%" }
var "on" { type = "bool", default = false }
var "tags" { type = "list", default = "a, b , c" }
var "home" { type = "url" }
var "log" { type = "path" }
check "t.types" { every = "1m", run = function()
  return ok("%s %s %s %s %d %s %s", math.type(vars.wait) or type(vars.wait), vars.wait, vars.cap,
    vars.share, #vars.tags, tostring(vars.on), tostring(vars.home))
end }
LUA
printf '[agent]\nrules = rules\nstate = st.db\n[sandbox]\nread_paths = %s/data\n[vars]\nwait = 1m30s\non = yes\n' "$PWD" > good.ini
mkdir -p data
OUT=$("$D" once -c good.ini t.types 2>&1)
expect_in "typed values: a duration in seconds, a size in bytes, a percentage, a list, a bool" "$OUT" \
    't\.types +OK .* float 90\.0 8388608 80 3 true nil'
expect_exit 0 "lint passes a config whose [vars] fit their types" -- "$D" lint -c good.ini

printf '[agent]\nrules = rules\nstate = st.db\n[vars]\nwait = 2x\n' > bad.ini
expect_exit 78 "a [vars] value of the wrong type is a lint error (78)" -- "$D" lint -c bad.ini
expect_in "naming the config's line and the declaration" "$OUT" \
    '^bad\.ini:5: \[vars\] wait: want a duration \(e\.g\. 30s, 5m, 2h\), not "2x" \(declared at .*rules/t\.lua:1 as duration\)$'
OUT=$("$D" once -c bad.ini 2>&1)
expect_in "at run time the file is a failing rules:FILE with the same message" "$OUT" \
    '^rules:t\.lua +UNKNOWN +- +bad\.ini:5: \[vars\] wait: want a duration'

printf '[agent]\nrules = rules\nstate = st.db\n[sandbox]\nread_paths = %s/data\n[vars]\nwiat = 3s\n' "$PWD" > typo.ini
expect_exit 0 "an undeclared key is only a warning" -- "$D" lint -c typo.ini
expect_in "with the nearest declared name" "$OUT" '^typo\.ini:7: \[vars\] wiat: warning: no rule file declares it \(did you mean wait\?\)$'
expect_exit 78 "lint --strict makes the warning an error" -- "$D" lint --strict -c typo.ini

printf '[agent]\nrules = rules\nstate = st.db\n[sandbox]\nread_paths = %s/data\n[vars]\nlog = /srv/app/app.log\n' "$PWD" > fence.ini
expect_exit 78 "a path var outside read_paths is a lint error" -- "$D" lint -c fence.ini
expect_in "naming both lines" "$OUT" \
    "^fence\\.ini:7: \\[vars\\] log: /srv/app/app\\.log is not under \\[sandbox\\] read_paths \\(fence\\.ini:5: $PWD/data\\)"

cat > rules/dup.lua <<'LUA'
var "wait" { type = "number", default = 3 }
LUA
printf '[agent]\nrules = rules\nstate = st.db\n' > plain.ini
expect_exit 78 "one var declared with two types in two files is an error" -- "$D" lint -c plain.ini
expect_in "that names both declarations" "$OUT" 'rules/t\.lua:1: var "wait": declared as duration, but as number at .*rules/dup\.lua:1'
rm rules/dup.lua
printf 'var "x" { type = "colour" }\nvar "y" { type = "number", default = "many" }\n' > rules/badvar.lua
expect_exit 78 "an unknown type or a default of the wrong type is an error" -- "$D" lint rules/badvar.lua
expect_in "an unknown type, with its line" "$OUT" 'badvar\.lua:1: var "x": type: want one of number, duration'
expect_in "a default of the wrong type, with its line" "$OUT" 'badvar\.lua:2: var "y": default: want a number, not "many"'
rm rules/badvar.lua

OUT=$("$D" help vars -c good.ini 2>&1)
expect_in "help vars lists each var with type, default, file and doc" "$OUT" '^wait +duration +2s +t\.lua +how long$'

# the shipped rules: every var they read is declared, and docs/vars.md is help vars
printf '[agent]\nrules = %s/rules\nstate = st.db\n' "$TOP" > shipped.ini
"$D" help vars -c shipped.ini --markdown > vars.md 2>help.err
expect_eq "docs/vars.md is drishti help vars --markdown for the shipped rules" \
    "$(grep '^|' "$TOP/docs/vars.md" | md5sum)" "$(md5sum < vars.md)"
undeclared=
for f in "$TOP"/rules/*.lua; do
	for v in $(grep -o 'vars\.[a-z_]*' "$f" | cut -d. -f2 | sort -u); do
		grep -q "^var \"$v\"" "$f" || undeclared="$undeclared $(basename "$f"):$v"
	done
done
expect_eq "every vars.NAME a shipped rule reads, it declares" "$undeclared" ""
# the config mistakes of the issue, against the shipped rules
printf '[agent]\nrules = %s/rules\nstate = st.db\n[vars]\nlatency_max = 2s\nlatncy_max = 3\n' "$TOP" > issue.ini
OUT=$("$D" lint -c issue.ini 2>&1)
echo "$OUT" | grep 'vars' | sed 's/^/# lint: /'
expect_in "latency_max = 2s passes, latncy_max is a typo with a suggestion" "$OUT" \
    'issue\.ini:6: \[vars\] latncy_max: warning: no rule file declares it \(did you mean latency_max\?\)'
