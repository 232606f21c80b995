# Config: every bad file gives exactly one line FILE:LINE: [section] key: ...
# and exit 78; `help config` is itself a valid config of the defaults; long
# lines (4 KiB webhook URLs) are read whole.
. "$TESTDIR/lib.sh"
plan 64
mkdir -p rules
cat > rules/v.lua <<'LUA'
check "v.len" { every = "1m", run = function()
  return ok("%d %s", #(vars.long or ""), tostring(vars.short))
end }
LUA

# bad NAME EXPECTED-LINE  (config text on stdin; FILE stands for its path)
bad() {
	local name=$1 want=$2 f="$1.ini"
	cat > "$f"
	expect_exit 78 "bad config $name exits 78" -- "$D" lint -c "$f"
	expect_eq "bad config $name message" "$OUT" "${want//FILE/$f}"
}

bad unknown_section 'FILE:3: [agnet]: unknown section (known: agent, store, output, sandbox, vars, reporter "NAME", maintenance "NAME")' <<'INI'
[agent]
name = x
[agnet]
name = y
INI
bad unknown_key 'FILE:2: [agent] nmae: unknown key' <<'INI'
[agent]
nmae = x
INI
bad bad_duration 'FILE:3: [sandbox] timeout: bad duration "30 s" (want e.g. 500ms, 30s, 5m, 2h, 7d)' <<'INI'
[sandbox]
memory = 8M
timeout = 30 s
INI
bad negative_duration 'FILE:2: [store] raw: bad duration "-1h" (want e.g. 500ms, 30s, 5m, 2h, 7d)' <<'INI'
[store]
raw = -1h
INI
bad bare_number_duration 'FILE:2: [sandbox] timeout: bad duration "30" (want e.g. 500ms, 30s, 5m, 2h, 7d)' <<'INI'
[sandbox]
timeout = 30
INI
bad bad_size 'FILE:2: [sandbox] memory: bad size "8MB!" (want e.g. 512K, 8M, 1G)' <<'INI'
[sandbox]
memory = 8MB!
INI
bad huge_size 'FILE:2: [sandbox] memory: size "99999999999999999999G" is out of range' <<'INI'
[sandbox]
memory = 99999999999999999999G
INI
bad bad_bool 'FILE:2: [agent] watch: bad boolean "maybe" (want true or false)' <<'INI'
[agent]
watch = maybe
INI
bad bad_level 'FILE:2: [agent] log_level: bad level "loud" (want error, warn, info or debug)' <<'INI'
[agent]
log_level = loud
INI
bad duplicate_key 'FILE:3: [agent] name: duplicate key' <<'INI'
[agent]
name = a
name = b
INI
bad duplicate_section 'FILE:3: [agent]: duplicate section' <<'INI'
[agent]
name = a
[agent]
INI
bad duplicate_reporter 'FILE:5: [reporter.ops]: duplicate reporter "ops" (first at line 1)' <<'INI'
[reporter "ops"]
type = stdout

; the same name, the other spelling
[reporter.ops]
type = stdout
INI
bad bad_reporter_type 'FILE:2: [reporter "ops"] type: bad value "pager" (one of: webhook|slack|discord|ntfy|alertmanager|smtp|telegram|pushover|gotify|pagerduty|stdout|file)' <<'INI'
[reporter "ops"]
type = pager
INI
bad reporter_missing_url 'FILE:1: [reporter "ops"] url: missing (required for type = webhook)' <<'INI'
[reporter "ops"]
type = webhook
INI
bad reporter_bad_event 'FILE:4: [reporter "ops"] events: bad value "alert, page" (one or more of: alert|resolve|reminder|escalation|deescalation|change|report|test|silence)' <<'INI'
[reporter "ops"]
type = webhook
url = https://hooks.example.com/x
events = alert, page
INI
bad syntax 'FILE:2: syntax error: expected "key = value" or "[section]"' <<'INI'
[agent]
this line has no equals sign
INI
bad outside_section 'FILE:1: key "name" outside any section' <<'INI'
name = x
INI
bad bad_var_name 'FILE:2: [vars] 9lives: a var name is letters, digits and _, not starting with a digit' <<'INI'
[vars]
9lives = x
INI
bad unterminated_section 'FILE:1: section header without '"']'" <<'INI'
[agent
INI
bad bad_count 'FILE:2: [sandbox] instructions: bad count "lots" (want e.g. 500K, 10M)' <<'INI'
[sandbox]
instructions = lots
INI

# a secret readable by others is refused
printf 'k3y' > secret; chmod 0644 secret
bad open_secret "FILE:1: [reporter \"ops\"] secret_file: $PWD/secret is mode 0644; refused: a secret must be 0600 or 0400" <<INI
[reporter "ops"]
type = webhook
url = https://hooks.example.com/x
secret_file = $PWD/secret
INI
chmod 0600 secret
cat > good_secret.ini <<INI
[agent]
rules = rules
[reporter "ops"]
type = webhook
url = https://hooks.example.com/x
secret_file = $PWD/secret
INI
expect_exit 0 "a 0600 secret is accepted" -- "$D" lint -c good_secret.ini

# unreadable file
expect_exit 78 "missing config exits 78" -- "$D" lint -c nonexistent.ini
expect_eq "missing config message" "$OUT" "nonexistent.ini: cannot read: No such file or directory"

# a line over the cap is an error naming its line, not two broken lines
{ printf '[vars]\nshort = s\nlong = '; head -c 9000 /dev/zero | tr '\0' 'a'; printf '\n'; } > toolong.ini
expect_exit 78 "9000-byte line refused" -- "$D" lint -c toolong.ini
expect_eq "9000-byte line message" "$OUT" "toolong.ini:3: [vars]: line is longer than 8192 bytes"

# a 4 KiB value (a webhook URL with a token) is read whole
long=$(head -c 4000 /dev/zero | tr '\0' 'b')
printf '[agent]\nrules = rules\n[reporter "hook"]\ntype = webhook\nurl = https://hooks.example.com/%s\n[vars]\nlong = %s\nshort = s\n' "$long" "$long" > long.ini
expect_exit 0 "4 KiB lines parse" -- "$D" once -c long.ini
expect_eq "4 KiB value read whole" "$(summary_of v.len)" "4000 s"

# help config is a valid config and gives the defaults
"$D" help config > help.ini
printf '\n[agent]\n' >> help.ini   # a second [agent] must be refused ...
expect_exit 78 "help config + a duplicate section is refused" -- "$D" lint -c help.ini
"$D" help config > help.ini
sed -i "s|^\[agent\]|[agent]\nrules = rules|" help.ini
expect_exit 0 "help config output is a valid config" -- "$D" lint -c help.ini
expect_in "help config lists a key with its help" "$(cat help.ini)" '^timeout += 30s +; wall clock per run'
expect_in "help config lists reporter keys" "$(cat help.ini)" '^; secret_file += +; webhook: HMAC key'

# the lookup order: -c, then $DRISHTI_CONFIG, then ./drishti.ini
printf '[agent]\nrules = rules\n[vars]\nshort = from_env\n' > env.ini
printf '[agent]\nrules = rules\n[vars]\nshort = from_cwd\n' > drishti.ini
OUT=$(DRISHTI_CONFIG=env.ini "$D" once 2>&1)
expect_eq "DRISHTI_CONFIG is read" "$(summary_of v.len)" "0 from_env"
OUT=$("$D" once 2>&1)
expect_eq "./drishti.ini is read" "$(summary_of v.len)" "0 from_cwd"
OUT=$(DRISHTI_CONFIG=env.ini "$D" once -c long.ini 2>&1)
expect_eq "-c wins" "$(summary_of v.len)" "4000 s"
rm drishti.ini
# no file at all: the built-in defaults.  ./rules is not read from any
# directory one stands in: only from a source checkout
OUT=$(env -u DRISHTI_CONFIG "$D" once 2>&1)
expect_not_in "built-in defaults outside a checkout do not read ./rules" "$OUT" '^v\.len '
if [ -d /usr/local/share/drishti/rules ] || [ -d "$(dirname "$(dirname "$D")")/share/drishti/rules" ]; then
	expect_in "once says which rules it used" "$OUT" '^drishti: rules: .* \(installed'
else
	expect_in "with no rules installed, once says so and how to name some" "$OUT" \
	    '^drishti: no rules: none installed .* set \[agent\] rules in a config file'
fi
mkdir -p src cross && touch src/state.c cross/build.sh
OUT=$(env -u DRISHTI_CONFIG "$D" once 2>&1)
expect_eq "built-in defaults in a source checkout read ./rules" "$(summary_of v.len)" "0 nil"
expect_in "once says it took the checkout's rules" "$OUT" "^drishti: rules: $PWD/rules \(source checkout"
rm -r src cross
# installed rules are found beside the binary: PREFIX/bin -> PREFIX/share
mkdir -p pfx/bin pfx/share/drishti/rules
cp "$D" pfx/bin/drishti
printf 'check "inst.x" { every = "1m", run = function() return ok("installed") end }\n' \
    > pfx/share/drishti/rules/i.lua
OUT=$(cd / && env -u DRISHTI_CONFIG "$SCRATCH/pfx/bin/drishti" once 2>&1)
expect_eq "the installed rules beside the binary are the default" "$(summary_of inst.x)" "installed"
# a relative path in a config file is relative to the file's directory,
# wherever drishti is started from
mkdir -p etc/d/rules.d
cp rules/v.lua etc/d/rules.d/
printf '[agent]\nrules = rules.d\nstate = ./st/state.db\nlog = st/agent.log\n[vars]\nshort = rel\n' > etc/d/rel.ini
mkdir -p etc/d/st
OUT=$(cd / && "$D" once -c "$SCRATCH/etc/d/rel.ini" 2>&1)
expect_eq "relative rules and state are taken from the config's directory" "$(summary_of v.len)" "0 rel"
OUT=$(cd etc && "$D" once -c d/rel.ini 2>&1)
expect_eq "a relative -c path works the same" "$(summary_of v.len)" "0 rel"
expect_eq "the log file went beside the config" "$(ls etc/d/st | grep -c '^agent.log$')" "1"
