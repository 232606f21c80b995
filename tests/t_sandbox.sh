# The hostile-rule suite (DESIGN.md §6, NOTES.md): every class of escape ends
# as UNKNOWN with the right reason, within its limits, and the well-behaved
# checks beside it keep giving their verdict.
. "$TESTDIR/lib.sh"
plan 41
# SLOW: a multiplier for emulated targets (qemu runs the hostile suite's
# 10M-instruction loops one after another in one worker, several times slower)
SLOW=${SLOW:-1}
cat > sb.ini <<INI
[agent]
rules = $TESTDIR/rules/hostile
[sandbox]
memory = 8M
instructions = 10M
timeout = $((5 * SLOW))s
kill_grace = ${SLOW}s
cpu = $((4 * SLOW))s
INI
start=$(date +%s)
expect_exit 3 "once over hostile rules exits 3 (UNKNOWN)" -- "$D" once -c sb.ini
took=$(( $(date +%s) - start ))

while read -r check want; do
	got="$(status_of "$check") $(summary_of "$check")"
	expect_in "$check: $want" "$got" "^$want"
done <<'LIST'
h.loop UNKNOWN sandbox: instruction limit
h.pcall_loop UNKNOWN sandbox: instruction limit
h.xpcall_handler UNKNOWN sandbox: instruction limit
h.xpcall_error UNKNOWN sandbox: instruction limit
h.gc_before CRIT refused: sandbox: __gc metamethods are not allowed
h.gc_after CRIT refused: sandbox: __gc metamethods are not allowed
h.coroutines UNKNOWN sandbox: instruction limit
h.strmem UNKNOWN sandbox: memory limit
h.tablemem UNKNOWN sandbox: memory limit
h.comem UNKNOWN sandbox: memory limit
h.strpoison OK boolean A
h.dump OK nil nil
h.reach OK io=nil exec=nil debug=nil package=nil require=nil dofile=nil loadfile=nil
h.recursion UNKNOWN (sandbox: memory limit|.*stack overflow)
h.cstack UNKNOWN .*(C stack overflow|stack overflow)
h.tostring_loop UNKNOWN error object is a table value
h.close UNKNOWN sandbox: instruction limit
h.tablemove UNKNOWN sandbox: instruction limit
h.insertlen UNKNOWN sandbox: instruction limit
h.noverdict UNKNOWN check returned no verdict
h.yield UNKNOWN check yielded outside a coroutine
h.collect UNKNOWN .*collectgarbage\("collect"\) is not allowed
h.loadbin OK sandbox: load is text only
h.sleep_timeout UNKNOWN sandbox: timeout
h.load_env OK mine
h.forged UNKNOWN check returned a table, not a verdict
h.zz_after OK still alive 7
zz.good OK good nil X
LIST
# 26 checks, most killed at 10M instructions or 1s: far below 26 x 5s
[ "$took" -lt $((60 * SLOW)) ] && ok "hostile suite ends within its limits (${took}s)" || not_ok "hostile suite took ${took}s"

# a smaller budget kills sooner: the limit is the config's, not a constant
cat > small.ini <<INI
[agent]
rules = $TESTDIR/rules/hostile/hostile.lua
[sandbox]
instructions = 100K
memory = 1M
INI
expect_exit 3 "small budget" -- "$D" once -c small.ini h.loop h.strmem h.zz_after
expect_eq "h.loop at 100K" "$(status_of h.loop) $(summary_of h.loop)" "UNKNOWN sandbox: instruction limit"
expect_eq "h.strmem at 1M" "$(status_of h.strmem) $(summary_of h.strmem)" "UNKNOWN sandbox: memory limit"
expect_eq "state survives kills" "$(status_of h.zz_after)" "OK"

# hostile code at load time: the file is refused with a reason, others load
mkdir -p loadtime
cat > loadtime/a_loop.lua <<'LUA'
while true do end
LUA
cat > loadtime/b_mem.lua <<'LUA'
local t = {} for i = 1, 1e9 do t[i] = ("x"):rep(100) .. i end
LUA
printf '\033Lua\x54\x00' > loadtime/c_binary.lua
cat > loadtime/d_gc.lua <<'LUA'
setmetatable({}, { __gc = function() while true do end end })
LUA
cat > loadtime/e_good.lua <<'LUA'
check "e.good" { every = "1m", run = function() return ok("loaded") end }
LUA
expect_exit 78 "hostile files at load time are errors" -- "$D" lint -c sb.ini loadtime
expect_in "load-time loop" "$OUT" "a_loop.lua: sandbox: instruction limit \(while loading\)"
expect_in "load-time memory" "$OUT" "b_mem.lua: sandbox: memory limit \(while loading\)"
expect_in "binary chunk refused" "$OUT" "c_binary.lua.*(binary|text)"
expect_in "__gc at load refused" "$OUT" "d_gc.lua:1: sandbox: __gc metamethods are not allowed"
expect_in "the good file beside them loads" "$OUT" "^loadtime/e_good.lua: 1 check, 0 reports"
expect_in "four errors" "$OUT" "^4 errors$"
