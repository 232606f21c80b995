# What a user installs: the man pages (mandoc lint; they say what `drishti
# help` says), the bash completion (names from the config), the systemd unit
# (systemd-analyze verify and security score), make install / uninstall into
# a DESTDIR, and the Debian package: lintian, then dpkg -i, lint and once as
# installed, dpkg -r, dpkg -P and what is left.  The package steps need root
# and a host-architecture .deb (make deb); without them they are skipped,
# each skip an "ok # skip" line.
. "$TESTDIR/lib.sh"
plan 44
TOP=$(cd "$TESTDIR/.." && pwd)
MAN=$TOP/docs/man
skip() { echo "ok - # skip $*"; }

# ---- man pages --------------------------------------------------------------
for p in drishti.1 drishti.ini.5 drishti-rules.7; do
	if command -v mandoc >/dev/null; then
		out=$(mandoc -T lint -W warning "$MAN/$p" 2>&1)
		expect_eq "mandoc -T lint is clean on $p" "$out" ""
	else
		not_ok "mandoc is missing (make test-deps)"
	fi
done
render() { mandoc -T ascii -O width=1000 "$MAN/$1" 2>/dev/null | col -b | tr -s ' \t\n' '   '; }
# every command's synopsis in `drishti help` is in drishti(1)'s SYNOPSIS
page=$(render drishti.1 | sed 's/ \.\.\./.../g')
missing=
while read -r syn; do
	case " $page " in *" $syn "*) ;; *) missing="$missing [$syn]" ;; esac
done < <("$D" help | sed -n 's/^  drishti //p' | sed 's/^/drishti /')
expect_eq "every synopsis of drishti help is in drishti(1)" "$missing" ""
# every key of `drishti help config`, with its default, is in drishti.ini(5)
page=$(render drishti.ini.5)
missing= n=0
while IFS='|' read -r key def; do
	n=$((n + 1))
	[ -z "$def" ] && def="(empty)"
	case " $page " in *" $key = $def "*) ;; *) missing="$missing [$key = $def]" ;; esac
done < <("$D" help config | sed -n 's/^\(; \)\{0,1\}\([a-z_]*\) *= \(.*\)  ; .*/\2|\3/p' | sed 's/ *$//')
expect_eq "every key of help config ($n) is in drishti.ini(5) with its default" "$missing" ""
[ "$n" -ge 30 ] && ok "help config listed $n keys" || not_ok "help config listed only $n keys"
# every command's help names the options the page gives it
for c in once report notify-test; do
	expect_in "drishti help $c names --list" "$("$D" help $c)" '--list'
done

# ---- bash completion ----------------------------------------------------------
mkdir -p crules
cat > crules/c.lua <<'LUA'
check "comp.alpha" { every = "1m", run = function() return ok("a") end }
check "comp.beta" { every = "1m", run = function() return ok("b") end }
report "comp.rep" { cron = "0 9 * * 1", build = function(r) r:note("x") end }
LUA
printf '[agent]\nrules = crules\nstate = st.db\n[reporter "pager"]\ntype = stdout\n' > comp.ini
complete_words() {  # LINE: what bash completion offers after it
	bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
		_drishti; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "
	' _ "$TOP/cross/completion.bash" "$@"
}
PATH=$(dirname "$D"):$PATH
ln -sf "$D" ./drishti
expect_eq "completion: commands" "$(complete_words ./drishti n)" "notify-test "
expect_eq "completion: check names from the config" \
    "$(complete_words ./drishti once -c comp.ini comp.)" "comp.alpha comp.beta "
expect_eq "completion: report names" "$(complete_words ./drishti report -c comp.ini '')" "comp.rep "
expect_eq "completion: reporter names" "$(complete_words ./drishti notify-test -c comp.ini '')" "pager "
expect_eq "completion: options" "$(complete_words ./drishti once --j)" "--json "
expect_eq "completion: formats" "$(complete_words ./drishti report --format h)" "html "
expect_eq "completion: silence's own words" "$(complete_words ./drishti silence '')" "add list rm "
expect_eq "completion: silence add offers check names" \
    "$(complete_words ./drishti silence -c comp.ini add comp.a)" "comp.alpha "
expect_eq "once --list prints the check names only" "$("$D" once -c comp.ini --list | tr '\n' ' ')" "comp.alpha comp.beta "

# ---- the systemd unit ---------------------------------------------------------
make -s -C "$TOP" SAN= build/drishti.service >/dev/null 2>&1
unit=$TOP/build/drishti.service
expect_not_in "the unit has no template markers left" "$(cat "$unit")" '@[A-Z]+@'
expect_in "the unit names the man pages" "$(grep '^Documentation=' "$unit")" 'man:drishti\(1\) man:drishti.ini\(5\) man:drishti-rules\(7\)'
expect_in "ReadWritePaths holds the state and textfile directories" "$(grep '^ReadWritePaths=' "$unit")" \
    '/var/lib/drishti -/var/lib/prometheus/node-exporter'
if command -v systemd-analyze >/dev/null; then
	score=$(systemd-analyze security --offline=true --no-pager "$unit" 2>/dev/null |
	    sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	echo "# systemd-analyze security: $score"
	if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'; then
		ok "systemd-analyze security scores the unit $score (<= 2.5)"
	else
		not_ok "systemd-analyze security scores the unit [$score] (want <= 2.5)"
	fi
else
	not_ok "systemd-analyze is missing (make test-deps)"
fi

# ---- make install / uninstall into a DESTDIR ------------------------------------
missing=
dest=$SCRATCH/dest
if make -s -C "$TOP" SAN= install DESTDIR="$dest" >inst.out 2>&1; then ok "make install DESTDIR"; else
	not_ok "make install DESTDIR"; sed 's/^/#   /' inst.out | tail -5; fi
for f in /usr/local/bin/drishti /usr/local/share/drishti/rules/host.lua /usr/local/share/man/man1/drishti.1 \
    /usr/local/share/man/man5/drishti.ini.5 /usr/local/share/man/man7/drishti-rules.7 \
    /usr/local/share/bash-completion/completions/drishti /usr/local/lib/systemd/system/drishti.service \
    /usr/local/etc/drishti/drishti.ini /usr/local/etc/drishti/rules.d/host.lua; do
	[ -e "$dest$f" ] || missing="$missing $f"
done
expect_eq "make install put every file in place" "${missing:-}" ""
missing=
expect_in "the installed binary is stripped" "$(file -b "$dest/usr/local/bin/drishti" 2>&1)" 'stripped' 
expect_not_in "the installed binary is not 'not stripped'" "$(file -b "$dest/usr/local/bin/drishti" 2>&1)" 'not stripped'
# the installed tree runs from anywhere: its rules come from share/, its
# config's relative paths from etc/
OUT=$(cd / && "$dest/usr/local/bin/drishti" lint 2>&1)
expect_in "the installed binary finds its rules beside it" "$OUT" "rules: $dest/usr/local/share/drishti/rules \(installed"
echo '; mine' >> "$dest/usr/local/etc/drishti/drishti.ini"
make -s -C "$TOP" SAN= install DESTDIR="$dest" >/dev/null 2>&1
expect_in "a second make install keeps an edited config" "$(tail -1 "$dest/usr/local/etc/drishti/drishti.ini")" '^; mine$'
make -s -C "$TOP" SAN= uninstall DESTDIR="$dest" >/dev/null 2>&1
left=$(cd "$dest" && find . -type f | sort | tr '\n' ' ')
expect_in "make uninstall leaves only the config and rules.d" "$left" '^\./usr/local/etc/drishti/drishti.ini (\./usr/local/etc/drishti/rules.d/[a-z]+\.lua )+$'

# ---- the Debian package -----------------------------------------------------------
arch=$(dpkg --print-architecture 2>/dev/null)
deb=$(ls "$TOP"/build/drishti_*_"$arch".deb 2>/dev/null | tail -1)
if [ -z "$deb" ] || [ "$(id -u)" != 0 ] || [ "${SAN:-}" = 1 ] || dpkg -s drishti >/dev/null 2>&1; then
	why="no build/drishti_*_$arch.deb (make deb), not root, a SAN run, or a drishti package already installed"
	for i in $(seq 15); do skip "$why"; done
	exit 0
fi
if command -v lintian >/dev/null; then
	lint=$(lintian "$deb" 2>&1 | grep -v 'running with root privileges')
	echo "# lintian: ${lint:-(nothing)}"
	expect_not_in "lintian reports no error" "$lint" '^E: '
	expect_eq "lintian reports nothing at all" "$lint" ""
else
	not_ok "lintian is missing (make test-deps)"; not_ok "lintian"
fi
expect_exit 0 "dpkg -i installs the package" -- dpkg -i "$deb"
expect_in "the drishti system user is in group adm" "$(id -nG drishti 2>&1)" '(^| )adm( |$)'
expect_eq "rules.d is filled on first install" "$(ls /etc/drishti/rules.d/*.lua 2>/dev/null | wc -l)" \
    "$(ls "$TOP"/rules/*.lua | wc -l)"
expect_exit 0 "drishti lint as installed" -- sh -c 'cd / && drishti lint'
expect_in "lint as installed reads /etc/drishti/rules.d" "$OUT" '^/etc/drishti/rules.d/host.lua: '
OUT=$(cd / && drishti once 2>&1); rc=$?
expect_in "drishti once as installed runs the shipped checks" "$OUT" '^host\.disk +OK '
[ "$rc" -le 3 ] && ok "once as installed exits with a verdict ($rc)" || not_ok "once as installed exited $rc"
if command -v systemd-analyze >/dev/null; then
	expect_exit 0 "systemd-analyze verify on the installed unit is clean" -- \
	    systemd-analyze verify /lib/systemd/system/drishti.service
else
	not_ok "systemd-analyze is missing"
fi
# a user's edits survive a remove (conffile), and the purge takes them
echo '; edited' >> /etc/drishti/drishti.ini
expect_exit 0 "dpkg -r removes the package" -- dpkg -r drishti
expect_eq "after dpkg -r the config is kept, the binary gone" \
    "$(test -e /etc/drishti/drishti.ini && echo conf)$(test -e /usr/bin/drishti && echo bin)" "conf"
expect_exit 0 "dpkg -P purges it" -- dpkg -P drishti
left=$(ls -d /etc/drishti /var/lib/drishti /usr/share/drishti /usr/bin/drishti /lib/systemd/system/drishti.service \
    /usr/share/man/man1/drishti.1.gz /usr/share/doc/drishti /usr/share/bash-completion/completions/drishti 2>/dev/null)
expect_eq "after dpkg -P no file of the package is left" "$left" ""
expect_in "the system user stays, as policy keeps it" "$(getent passwd drishti)" '^drishti:'
