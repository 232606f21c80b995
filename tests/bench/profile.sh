#!/usr/bin/env bash
# Profile: where the CPU of one check goes.  Runs `drishti run` with N HTTP
# checks a second against a local nginx (as run.sh does), records every
# drishti process with perf for S seconds, and prints the share of samples
# by part (kernel, curl, mbedTLS, Lua, SQLite, allocator, libc, drishti's own
# code) and by role (the state process, the rule worker, delivery), turned
# into microseconds per check with the CPU time the tree used meanwhile.
#   usage: tests/bench/profile.sh BINARY [N]     env: S=20 seconds
#   F=999 samples a second per CPU (perf -F); ROLE=worker (state, ...) counts
#   that role's samples alone; PERFG=-g records call graphs (the kernel's share by caller: perf report
#   -g), KEEP=FILE keeps perf.data there for that.
# BINARY should carry its symbol table: build/amd64/drishti.unstripped for
# the static product, build/dev/drishti for the glibc build.  Needs perf
# (Debian's linux-perf) and nginx.  A measurement, not a test.
set -u
here=$(cd "$(dirname "$0")" && pwd)
D=${1:?usage: profile.sh BINARY [N]}
N=${2:-1000}
S=${S:-20}
for t in nginx perf curl; do
	command -v $t >/dev/null || { echo "profile: $t is missing (make bench-deps)"; exit 69; }
done
. "$here/nginx.sh"
bench_nginx prof
mkdir -p "$tmp/d"
{ echo "for i = 1, $N do"
  echo '  check("b" .. i) { every = "1s", run = function()'
  echo '    local r = http.get(vars.url .. "/")'
  echo '    if r.status ~= 200 then return crit("HTTP %d %s", r.status, r.error or "") end'
  echo '    return ok("up") end }'
  echo 'end'; } > "$tmp/d/bench.lua"
printf '[agent]\nrules = %s/d\nlog = %s/agent.log\nwatch = false\nstate = %s/state.db\n[sandbox]\nread_paths = %s\n[vars]\nurl = %s\n' \
    "$tmp" "$tmp" "$tmp" "$tmp" "$URL" > "$tmp/d.ini"
: > "$tmp/agent.log"
"$D" run -c "$tmp/d.ini" 2>/dev/null &
pid=$!
for i in $(seq 100); do grep -q started: "$tmp/agent.log" && break; sleep 0.1; done
sleep 3                                   # past the first slot's start-up
tree() { local p; echo "$1"; for p in $(pgrep -P "$1"); do tree "$p"; done; }
pids=$(tree "$pid" | paste -sd,)
for p in ${pids//,/ }; do echo "$p $(tr '\0' ' ' < "/proc/$p/cmdline" | cut -c1-50)"; done > "$tmp/roles"
ticks() { local s=0 p; for p in ${pids//,/ }; do
	s=$(( s + $(awk '{print $14 + $15 + $16 + $17}' "/proc/$p/stat" 2>/dev/null || echo 0) )); done; echo $s; }
c0=$(ticks); r0=$(grep -c . "$tmp/agent.log")
perf record ${PERFG:-} -q -F ${F:-999} -p "$pids" -o "$tmp/perf.data" -- sleep "$S" >/dev/null 2>&1
c1=$(ticks)
kill -TERM "$pid"; wait "$pid"
[ -n "${KEEP:-}" ] && cp "$tmp/perf.data" "$KEEP"
hz=$(getconf CLK_TCK)
cpu_us=$(( (c1 - c0) * 1000000 / hz ))
checks=$(( N * S ))
perf report -i "$tmp/perf.data" --no-children --sort pid,dso,sym -F overhead,pid,dso,sym \
    --stdio -g none 2>/dev/null | grep -E '^ +[0-9.]+%' | sort -rn > "$tmp/rep"
# ROLE=worker (or state, ...): the parts of that role's processes alone, in
# µs of the whole tree's check (the shares stay shares of all samples)
if [ -n "${ROLE:-}" ]; then
	awk -v r="__$ROLE" 'NR == FNR { if (index($0, r)) keep[$1] = 1; next }
	    { split($2, a, ":"); if (a[1] in keep) print }' "$tmp/roles" "$tmp/rep" > "$tmp/rep.role"
	mv "$tmp/rep.role" "$tmp/rep"
fi
echo "# $("$D" version | cut -d' ' -f1-2), N=$N checks/s, ${S}s, fresh connection per check"
echo "# CPU of the tree ${cpu_us} us for ~${checks} checks: $(( cpu_us / checks )) us per check"
printf '%-24s %8s %12s\n' "part" "samples" "us/check"
# In the static binary every library is one DSO: a symbol's part is the
# archive that defines it (static functions included: SQLite's and musl's
# own helpers are not drishti's), from the objects make left under build/
top=$(cd "$here/../.." && pwd)
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)
: > "$tmp/syms"
if ! LC_ALL=C readelf -l "$D" 2>/dev/null | grep -q INTERP && [ -d "$top/build/$arch/prefix/lib" ]; then
	for a in "$top/build/$arch/prefix/lib/"*.a "$top/build/$arch/prefix/lib/mimalloc.o" \
	    /usr/lib/"$(uname -m)"-linux-musl/libc.a "$top/build/$arch/obj/"*.o; do
		[ -f "$a" ] || continue
		case $(basename "$a") in
		libcurl.a) p=curl ;; libmbed*) p="TLS library" ;; liblua.a) p=Lua ;;
		libsqlite3.a) p=SQLite ;; libcjson.a) p=cJSON ;; libz.a) p=zlib ;;
		libinih.a) p=inih ;; libseccomp.a) p=libseccomp ;; mimalloc.o) p=allocator ;;
		libc.a) p=libc ;; unit_*|fuzz_*) continue ;; *) p=drishti ;;
		esac
		nm --defined-only "$a" 2>/dev/null | awk -v p="$p" 'NF == 3 && $2 ~ /^[tTwW]$/ { print $3 "\t" p }'
	done > "$tmp/syms"
fi
awk -v per="$(( cpu_us / checks ))" '
function part(dso, sym) {
	if (dso ~ /kernel/) return "kernel (syscalls, TCP)"
	if (sym ~ /^(malloc|free|calloc|realloc|__libc_malloc|__libc_free|alloc_slot|alloc_group|get_meta|enframe|__malloc|_int_malloc|_int_free|cfree|mi_|_mi_|__libc_calloc|__libc_realloc|malloc_consolidate|tcache|unlink_chunk|get_stride|size_to_class|__malloc_alloc_meta|nontrivial_free|alloc_meta|do_free|__free|__simple_malloc|sysmalloc|__bin_chunk)/) return "allocator"
	if (sym in lib) return lib[sym]
	if (sym ~ /^(Curl_|curl_|multi_|Curl)/ || dso ~ /libcurl/) return "curl"
	if (sym ~ /^mbedtls_/ || dso ~ /mbed|ssl|crypto|gnutls|nettle/) return "TLS library"
	if (sym ~ /^(lua|luaL_|luaH_|luaV_|luaD_|luaC_|luaS_|luaK_|luaY_|luaX_|luaF_|luaT_|luaO_|luaM_|luaE_|luaG_|luaU_|luaZ_)/ || dso ~ /liblua/) return "Lua"
	if (sym ~ /^sqlite3/ || dso ~ /sqlite/) return "SQLite"
	if (sym ~ /^cJSON/ || dso ~ /cjson/) return "cJSON"
	if (dso ~ /libc|ld-linux|libpthread/) return "libc"
	if (sym ~ /^(mem|str|__mem|__str|sn?printf|vsn?printf|v?fprintf|printf_core|fmt_|pop_arg|getc|__stpcpy|__clock|clock_gettime|__syscall|syscall|__libc|qsort|wrapper_cmp|sift|trinkle|pntz|shl|shr|cycle|__lock|__unlock|__errno|__init|__tl|__pthread|pthread_|sigprocmask|__block|__restore|poll|epoll|__fdopen|fopen|fclose|read|write|send|recv|socket|connect|getsockopt|setsockopt|close|fcntl|__stdio|__towrite|__fwrite|fwrite|fputs|strtol|strtod|__floatscan|__intscan|inet_|getaddrinfo|__lookup|time|gmtime|localtime|__secs|__tm|__year|__month|__map_file|__clone|abort)/) return "libc"
	if (sym ~ /^0x/ || sym == "") return "unresolved"
	return "drishti"
}
FILENAME ~ /syms$/ { lib[$1] = $2; next }
{
	pct = $1; sub(/%/, "", pct)
	# the pid column is "PID:comm"
	dso = $3; sym = ""
	for (i = 5; i <= NF; i++) sym = sym (i > 5 ? " " : "") $i
	p = part(dso, sym); share[p] += pct
	split($2, a, ":"); bypid[a[1]] += pct
}
END {
	for (p in share) printf "%-24s %7.1f%% %12.1f\n", p, share[p], share[p] * per / 100
}' FS='\t' "$tmp/syms" FS=' ' "$tmp/rep" | sort -t'%' -k1.25 -rn
echo "# by process"
awk 'NR == FNR { role[$1] = substr($0, length($1) + 2); next }
    { split($2, a, ":"); pct = $1; sub(/%/, "", pct); s[a[1]] += pct }
    END { for (p in s) printf "%7.1f%%  %s\n", s[p], (p in role) ? role[p] : p }' "$tmp/roles" "$tmp/rep" | sort -rn
echo "# top symbols outside the kernel"
grep -v kernel "$tmp/rep" | head -${TOP:-25}
