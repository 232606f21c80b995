# bash completion for drishti(1): commands, options, and the names the
# config gives: checks (drishti once --list), reports (drishti report
# --list) and reporters (drishti notify-test --list).  The names come from
# the same -c FILE the command line names, so they are the ones that run.
# Installed as share/bash-completion/completions/drishti.

_drishti_names()   # WHAT(once|report|notify-test) CONFIG
{
	local -a c=()
	[ -n "$2" ] && c=(-c "$2")
	"${COMP_WORDS[0]}" "$1" "${c[@]}" --list 2>/dev/null
}

_drishti()
{
	local cur prev cmd conf i
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	cmd= conf=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		-c|--config) conf=${COMP_WORDS[i+1]}; ((i++)) ;;
		-*) ;;
		*) [ -z "$cmd" ] && cmd=${COMP_WORDS[i]} ;;
		esac
	done
	case $prev in
	-c|--config)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--format)
		COMPREPLY=($(compgen -W "text json html" -- "$cur"))
		return ;;
	esac
	if [ -z "$cmd" ]; then
		COMPREPLY=($(compgen -W "run once lint report status notify-test silence version help" -- "$cur"))
		return
	fi
	local opts="-c --config --help"
	case $cmd in
	once) opts="$opts --json --list" ;;
	status) opts="$opts --json" ;;
	report) opts="$opts --format --send --list" ;;
	notify-test) opts="$opts --list" ;;
	silence) opts="$opts --reason --all --json" ;;
	help|version|run|lint) ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
		return
	fi
	case $cmd in
	once) COMPREPLY=($(compgen -W "$(_drishti_names once "$conf")" -- "$cur")) ;;
	report) COMPREPLY=($(compgen -W "$(_drishti_names report "$conf")" -- "$cur")) ;;
	notify-test) COMPREPLY=($(compgen -W "$(_drishti_names notify-test "$conf")" -- "$cur")) ;;
	lint) COMPREPLY=($(compgen -f -- "$cur")) ;;
	silence)
		# add PATTERN (a check name, or a glob) DURATION | list | rm ID
		local sub=
		for ((i = 2; i < COMP_CWORD; i++)); do
			case ${COMP_WORDS[i]} in add|list|rm) sub=${COMP_WORDS[i]}; break ;; esac
		done
		case $sub in
		"") COMPREPLY=($(compgen -W "add list rm" -- "$cur")) ;;
		add) COMPREPLY=($(compgen -W "$(_drishti_names once "$conf")" -- "$cur")) ;;
		esac ;;
	help) COMPREPLY=($(compgen -W "run once lint report status notify-test silence version help config" -- "$cur")) ;;
	esac
}
complete -F _drishti drishti
