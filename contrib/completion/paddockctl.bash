# bash completion for paddockctl(1)                              -*- shell-script -*-
#
# Install as /usr/share/bash-completion/completions/paddockctl, or source it
# from ~/.bashrc. Works with or without the bash-completion package.
#
# Service names come from `paddockctl list` (as JSON through jq when jq is
# installed), asked of the socket named by -s/--socket earlier on the line,
# else $PADDOCK_SOCKET, else the default; nothing is offered when the daemon
# cannot be reached. Image references come from `paddockctl image list`
# (which reads the image store, so it needs root).

__paddockctl_commands="list status cat start stop restart kill freeze thaw exec logs top events set
	run image check convert network fleet reload daemon-reexec version"
__paddockctl_global_opts="-s --socket --state-dir --url --token-file --cacert --json -h --help"
__paddockctl_image_cmds="import pull login logout list inspect rm prune in-use"
__paddockctl_pull_opts="--config --auth-file --certs-dir --insecure --parallel"
__paddockctl_login_opts="--config --auth-file --certs-dir --insecure -u --username
	--password-stdin"
__paddockctl_events_opts="-f --follow --service --since -n"
__paddockctl_set_keys="memory.min memory.low memory.high memory.max memory.swap_max
	cpu.weight cpu.max cpu.cpus pids.max io.weight"
__paddockctl_run_opts="--wait --rm --name --rootfs --image --memory-max --memory-high
	--cpu-max --cpu-weight --pids-max --namespaces --network --class --user
	--workdir --env"
__paddockctl_run_valued=" --name --rootfs --image --memory-max --memory-high --cpu-max
	--cpu-weight --pids-max --namespaces --network --class --user --workdir --env "
__paddockctl_signals="HUP INT QUIT ILL TRAP ABRT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM
	TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO PWR SYS"

# Rebuild the words bash split at '=' and ':' (COMP_WORDBREAKS), so that
# "--socket=/x" or "memory.max=1G" is one word. Sets __pc_words, __pc_cword
# and __pc_raw (logical word index -> index in COMP_WORDS).
__paddockctl_reassemble()
{
	local i tok prevtok="" glue line="${COMP_LINE-}" pos=0 ws
	local breaks="" c
	for c in '=' ':'; do
		[[ ${COMP_WORDBREAKS-=:} == *"$c"* ]] && breaks+=$c
	done
	__pc_words=()
	__pc_raw=()
	__pc_cword=0
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		tok=${COMP_WORDS[i]}
		# Was there blank space before this token on the line?
		ws=1
		if [[ -n $line ]]; then
			ws=0
			while [[ ${line:pos:1} == [[:space:]] ]]; do
				((pos++))
				ws=1
			done
			if [[ ${line:pos:${#tok}} == "$tok" ]]; then
				((pos += ${#tok}))
			else
				line="" # lost track: fall back to guessing
				ws=1
			fi
		fi
		glue=0
		if ((i > 0)) && [[ -n $breaks ]]; then
			if [[ -n $line ]]; then
				((ws == 0)) && glue=1
			elif [[ -n $tok && -z ${tok//[$breaks]/} ]] ||
				[[ -n $prevtok && -z ${prevtok//[$breaks]/} ]]; then
				glue=1
			fi
		fi
		if ((glue)); then
			__pc_words[${#__pc_words[@]} - 1]+=$tok
		else
			__pc_words+=("$tok")
			__pc_raw+=("$i")
		fi
		((i == COMP_CWORD)) && __pc_cword=$((${#__pc_words[@]} - 1))
		prevtok=$tok
	done
	if ((COMP_CWORD >= ${#COMP_WORDS[@]})); then
		__pc_words+=("")
		__pc_raw+=("$COMP_CWORD")
		__pc_cword=$((${#__pc_words[@]} - 1))
	fi
}

# Strip quotes and a leading ~ from a path typed on the line.
__paddockctl_dequote()
{
	local s=$1
	s=${s#[\'\"]}
	s=${s%[\'\"]}
	[[ $s == "~" ]] && s=$HOME
	# shellcheck disable=SC2088 # a literal "~/" typed on the line
	[[ $s == "~/"* ]] && s=$HOME/${s#"~/"}
	printf '%s' "$s"
}

# Service names, and each template of instances once (web for web@1, web@2).
__paddockctl_services()
{
	local -a cmd=(paddockctl)
	[[ -n $__pc_socket ]] && cmd+=(--socket "$__pc_socket")
	type -P timeout >/dev/null 2>&1 && cmd=(timeout 2 "${cmd[@]}")
	if type -P jq >/dev/null 2>&1; then
		"${cmd[@]}" --json list 2>/dev/null | jq -r '.[].name' 2>/dev/null
	else
		"${cmd[@]}" list 2>/dev/null | awk 'NR > 1 && NF { print $1 }'
	fi | awk '{ print } /@/ { t = $0; sub(/@.*/, "", t); if (!seen[t]++) print t }'
}

# Image references ("NAME:TAG") in the store.
__paddockctl_images()
{
	local -a cmd=(paddockctl)
	[[ -n $__pc_socket ]] && cmd+=(--socket "$__pc_socket")
	[[ -n $__pc_state_dir ]] && cmd+=(--state-dir "$__pc_state_dir")
	type -P timeout >/dev/null 2>&1 && cmd=(timeout 2 "${cmd[@]}")
	if type -P jq >/dev/null 2>&1; then
		"${cmd[@]}" --json image list 2>/dev/null | jq -r '.[].ref' 2>/dev/null
	else
		"${cmd[@]}" image list 2>/dev/null | awk 'NR > 1 && NF { print $1 }'
	fi
}

__paddockctl_image()
{
	local sub="" a i nargs=0
	for ((i = 0; i < ${#__pc_args[@]}; i++)); do
		a=${__pc_args[i]}
		if [[ -z $sub ]]; then
			sub=$a
			continue
		fi
		case $a in
		--name | --tag | --config | --auth-file | --certs-dir | --insecure | --parallel | \
			-u | --username) ((i++)) ;;
		-*) ;;
		*) ((nargs++)) ;;
		esac
	done
	if [[ -z $sub ]]; then
		if [[ $cur == -* ]]; then
			__paddockctl_compgen -W "$__paddockctl_global_opts" -- "$cur"
		else
			__paddockctl_compgen -W "$__paddockctl_image_cmds" -- "$cur"
		fi
		return
	fi
	case $sub in
	import)
		case $prev in
		--name | --tag) return ;; # a name of the operator's choosing
		esac
		if [[ $cur == -* ]]; then
			__paddockctl_compgen -W "--name --tag $__paddockctl_global_opts" -- "$cur"
		elif ((!nargs)); then
			__paddockctl_files "$cur" # a layout directory or an archive
		fi
		;;
	pull | login | logout)
		case $prev in
		--config | --auth-file)
			__paddockctl_files "$cur"
			return
			;;
		--certs-dir)
			__paddockctl_dirs "$cur"
			return
			;;
		--insecure | --parallel | -u | --username) return ;; # the operator's choice
		esac
		if [[ $cur == -* ]]; then
			local opts=$__paddockctl_pull_opts
			[[ $sub == login ]] && opts=$__paddockctl_login_opts
			[[ $sub == logout ]] && opts="--config --auth-file"
			__paddockctl_compgen -W "$opts $__paddockctl_global_opts" -- "$cur"
		fi
		# A reference or a registry: nothing to offer from here.
		;;
	inspect | rm)
		if [[ $cur == -* ]]; then
			__paddockctl_compgen -W "$__paddockctl_global_opts" -- "$cur"
		elif ((!nargs)); then
			__paddockctl_compgen -W "$(__paddockctl_images)" -- "$cur"
		fi
		;;
	*)
		[[ $cur == -* ]] && __paddockctl_compgen -W "$__paddockctl_global_opts" -- "$cur"
		;;
	esac
}

__paddockctl_events()
{
	case $prev in
	--service)
		__paddockctl_compgen -W "$(__paddockctl_services)" -- "$cur"
		return
		;;
	--since)
		__paddockctl_compgen -W "10m 1h 1d" -- "$cur"
		return
		;;
	-n) return ;; # a number
	esac
	[[ $cur == -* ]] &&
		__paddockctl_compgen -W "$__paddockctl_events_opts $__paddockctl_global_opts" -- "$cur"
}

# Complete service names not already among the command's arguments.
__paddockctl_complete_services()
{
	local name a seen
	local -a out=()
	while IFS= read -r name; do
		[[ -z $name || $name != "$cur"* ]] && continue
		seen=0
		for a in "${__pc_args[@]}"; do
			[[ $a == "$name" ]] && seen=1 && break
		done
		((seen)) || out+=("$name")
	done < <(__paddockctl_services)
	COMPREPLY+=("${out[@]}")
}

__paddockctl_compgen()
{
	local -a r
	mapfile -t r < <(compgen "$@" 2>/dev/null)
	COMPREPLY+=("${r[@]}")
}

__paddockctl_files()
{
	compopt -o filenames 2>/dev/null
	__paddockctl_compgen -f -- "$1"
}

__paddockctl_dirs()
{
	compopt -o filenames 2>/dev/null
	__paddockctl_compgen -d -- "$1"
}

__paddockctl_signal_words()
{
	local s
	if [[ -z $1 ]]; then
		for s in $__paddockctl_signals; do printf 'SIG%s\n' "$s"; done
	else
		for s in $__paddockctl_signals; do printf 'SIG%s\n%s\n' "$s" "$s"; done
	fi
}

# The command after `run ... --`: hand over to bash-completion when present.
__paddockctl_run_command()
{
	local first=$1 # logical index of the word after "--"
	if declare -F _command_offset >/dev/null 2>&1; then
		_command_offset "${__pc_raw[first]}"
		return
	fi
	if ((__pc_cword == first)); then
		__paddockctl_compgen -c -- "$cur"
	else
		__paddockctl_files "$cur"
	fi
}

__paddockctl_run()
{
	local i w dashdash=-1
	for ((i = __pc_cmdidx + 1; i < __pc_cword; i++)); do
		w=${__pc_words[i]}
		if [[ $w == -- ]]; then
			dashdash=$i
			break
		fi
		# An option's value is not an option.
		[[ $__paddockctl_run_valued == *" $w "* || $w == -s || $w == --socket ||
			$w == --state-dir ]] && ((i++))
	done
	if ((dashdash >= 0)); then
		__paddockctl_run_command $((dashdash + 1))
		return
	fi
	case $prev in
	--rootfs | --workdir)
		__paddockctl_dirs "$cur"
		return
		;;
	--network)
		__paddockctl_compgen -W "none host" -- "$cur"
		return
		;;
	--class)
		__paddockctl_compgen -W "critical standard batch" -- "$cur"
		return
		;;
	--user)
		__paddockctl_compgen -u -- "$cur"
		return
		;;
	--namespaces)
		local done_part="" last=$cur ns
		if [[ $cur == *,* ]]; then
			done_part=${cur%,*},
			last=${cur##*,}
		fi
		for ns in pid mount uts ipc net cgroup user; do
			[[ ,$done_part == *",$ns,"* ]] && continue
			[[ $ns == "$last"* ]] && COMPREPLY+=("$done_part$ns")
		done
		compopt -o nospace 2>/dev/null
		return
		;;
	--env)
		if [[ $cur != *=* ]]; then
			local v
			while IFS= read -r v; do
				COMPREPLY+=("$v=")
			done < <(compgen -e -- "$cur")
			compopt -o nospace 2>/dev/null
		fi
		return
		;;
	--name | --image | --memory-max | --memory-high | --cpu-max | --cpu-weight | --pids-max)
		return # a value of the operator's choosing
		;;
	esac
	__paddockctl_compgen -W "$__paddockctl_run_opts -- $__paddockctl_global_opts" -- "$cur"
}

__paddockctl_set()
{
	local a key name_given=0 reset=0 haskv=0
	local -a given=()
	for a in "${__pc_args[@]}"; do
		case $a in
		--reset) reset=1 ;;
		*=*)
			haskv=1
			given+=("${a%%=*}")
			;;
		-*) ;;
		*) name_given=1 ;;
		esac
	done
	if [[ $cur == -* ]]; then
		((haskv)) || __paddockctl_compgen -W "--reset" -- "$cur"
		__paddockctl_compgen -W "$__paddockctl_global_opts" -- "$cur"
		return
	fi
	if ((!name_given)); then
		__paddockctl_complete_services
		return
	fi
	((reset)) && return
	if [[ $cur == *=* ]]; then
		key=${cur%%=*}
		case $key in
		memory.high | memory.max | memory.swap_max | memory.swap.max | cpu.max | pids.max)
			__paddockctl_compgen -W "$key=max" -- "$cur"
			;;
		esac
		return
	fi
	for key in $__paddockctl_set_keys; do
		for a in "${given[@]}"; do
			[[ $a == "$key" ]] && continue 2
		done
		[[ $key == "$cur"* ]] && COMPREPLY+=("$key=")
	done
	compopt -o nospace 2>/dev/null
}

_paddockctl()
{
	local cur prev i w
	local -a __pc_words __pc_raw __pc_args
	local __pc_cword __pc_socket=${PADDOCK_SOCKET-} __pc_cmd="" __pc_cmdidx=-1
	local __pc_state_dir=""
	local __pc_dashdash=0

	COMPREPLY=()
	__paddockctl_reassemble
	cur=${__pc_words[__pc_cword]}
	prev=""
	((__pc_cword > 0)) && prev=${__pc_words[__pc_cword - 1]}

	# Global options anywhere before "--"; the first other word is the command.
	for ((i = 1; i < __pc_cword; i++)); do
		w=${__pc_words[i]}
		if ((__pc_dashdash)); then
			__pc_args+=("$w")
			continue
		fi
		case $w in
		--)
			__pc_dashdash=1
			[[ -n $__pc_cmd ]] && __pc_args+=("$w")
			;;
		-s | --socket)
			((i + 1 < __pc_cword)) && __pc_socket=$(__paddockctl_dequote "${__pc_words[i + 1]}")
			((i++))
			;;
		--socket=*) __pc_socket=$(__paddockctl_dequote "${w#--socket=}") ;;
		--state-dir)
			((i + 1 < __pc_cword)) && __pc_state_dir=$(__paddockctl_dequote "${__pc_words[i + 1]}")
			((i++))
			;;
		--url | --token-file | --cacert) ((i++)) ;;
		--json | -h | --help) ;;
		*)
			if [[ -z $__pc_cmd ]]; then
				__pc_cmd=$w
				__pc_cmdidx=$i
			else
				__pc_args+=("$w")
			fi
			;;
		esac
	done

	if ((!__pc_dashdash)); then
		case $prev in
		-s | --socket)
			__paddockctl_files "$cur"
			__paddockctl_trim
			return 0
			;;
		--state-dir)
			__paddockctl_dirs "$cur"
			__paddockctl_trim
			return 0
			;;
		--token-file | --cacert)
			__paddockctl_files "$cur"
			__paddockctl_trim
			return 0
			;;
		--url) return 0 ;;
		esac
		if [[ $cur == --socket=* ]]; then
			local p
			while IFS= read -r p; do
				COMPREPLY+=("--socket=$p")
			done < <(compgen -f -- "$(__paddockctl_dequote "${cur#--socket=}")")
			compopt -o filenames 2>/dev/null
			__paddockctl_trim
			return 0
		fi
	fi

	if [[ -z $__pc_cmd ]]; then
		if [[ $cur == -* ]]; then
			__paddockctl_compgen -W "$__paddockctl_global_opts" -- "$cur"
		elif ((!__pc_dashdash)); then
			__paddockctl_compgen -W "$__paddockctl_commands" -- "$cur"
		fi
		return 0
	fi

	case $__pc_cmd in
	run)
		__paddockctl_run
		__paddockctl_trim
		return 0
		;;
	esac

	case $__pc_cmd in
	status | cat | start | stop | restart | freeze | thaw)
		if [[ $cur == -* ]]; then
			__paddockctl_compgen -W "$__paddockctl_global_opts" -- "$cur"
		else
			__paddockctl_complete_services
		fi
		;;
	kill)
		# As paddockctl parses it: options first, then one name.
		local nnames=0 skip=0
		for w in "${__pc_args[@]}"; do
			if ((skip)); then
				skip=0
				continue
			fi
			case $w in
			--signal) skip=1 ;;
			-*) ;;
			*) ((nnames++)) ;;
			esac
		done
		if [[ $prev == --signal ]]; then
			__paddockctl_compgen -W "$(__paddockctl_signal_words "$cur")" -- "$cur"
		elif [[ $cur == --signal=* ]]; then
			local s v=${cur#--signal=}
			for s in $(__paddockctl_signal_words "$v"); do
				[[ $s == "$v"* ]] && COMPREPLY+=("--signal=$s")
			done
		elif [[ $cur == -* ]]; then
			((nnames)) || __paddockctl_compgen -W "--signal" -- "$cur"
			__paddockctl_compgen -W "$__paddockctl_global_opts" -- "$cur"
		elif ((!nnames)); then
			__paddockctl_complete_services
		fi
		;;
	exec)
		# Options, one name, "--", the command (no completion past "--").
		local nnames=0
		((__pc_dashdash)) && return 0
		for ((i = 0; i < ${#__pc_args[@]}; i++)); do
			case ${__pc_args[i]} in
			-u | --user | -e | --env | -w | --workdir) ((i++)) ;;
			-*) ;;
			*) ((nnames++)) ;;
			esac
		done
		case $prev in
		-u | --user | -e | --env | -w | --workdir) ;; # a user, KEY=VALUE, a directory inside
		*)
			if [[ $cur == -* ]]; then
				((nnames)) && __paddockctl_compgen -W "--" -- "$cur" ||
					__paddockctl_compgen -W "-t --tty -u --user -e --env -w --workdir $__paddockctl_global_opts" -- "$cur"
			elif ((!nnames)); then
				__paddockctl_complete_services
			fi
			;;
		esac
		;;
	logs)
		local nnames=0
		for ((i = 0; i < ${#__pc_args[@]}; i++)); do
			case ${__pc_args[i]} in
			-n | --lines | --since) ((i++)) ;;
			-*) ;;
			*) ((nnames++)) ;;
			esac
		done
		case $prev in
		-n | --lines | --since) ;; # a number, a time
		*)
			if [[ $cur == -* ]]; then
				__paddockctl_compgen -W "-n --lines --since -f --follow $__paddockctl_global_opts" -- "$cur"
			elif ((!nnames)); then
				__paddockctl_complete_services
			fi
			;;
		esac
		;;
	set)
		__paddockctl_set
		;;
	image)
		__paddockctl_image
		;;
	network)
		[ ${#__pc_args[@]} = 0 ] && __paddockctl_compgen -W "ls inspect" -- "$cur"
		;;
	fleet)
		if [ ${#__pc_args[@]} = 0 ]; then
			__paddockctl_compgen -W "apply rm status nodes" -- "$cur"
		elif [ "${__pc_args[0]}" = apply ]; then
			__paddockctl_compgen -f -- "$cur"
		fi
		;;
	events)
		__paddockctl_events
		;;
	top)
		case $prev in
		--sort) __paddockctl_compgen -W "mem cpu" -- "$cur" ;;
		--interval) ;; # seconds
		*)
			[[ $cur == -* ]] &&
				__paddockctl_compgen -W "--once --sort --interval $__paddockctl_global_opts" -- "$cur"
			;;
		esac
		;;
	convert)
		if [ ${#__pc_args[@]} = 0 ]; then
			__paddockctl_compgen -W "compose" -- "$cur"
		elif [[ $prev == -o ]]; then
			__paddockctl_compgen -d -- "$cur"
		elif [[ $cur == -* ]]; then
			__paddockctl_compgen -W "-o --force $__paddockctl_global_opts" -- "$cur"
		else
			__paddockctl_files "$cur"
		fi
		;;
	check)
		if [[ $cur == -* ]]; then
			__paddockctl_compgen -W "$__paddockctl_global_opts" -- "$cur"
		else
			__paddockctl_files "$cur"
		fi
		;;
	list)
		[[ $cur == -* ]] && __paddockctl_compgen -W "--timers $__paddockctl_global_opts" -- "$cur"
		;;
	*)
		[[ $cur == -* ]] && __paddockctl_compgen -W "$__paddockctl_global_opts" -- "$cur"
		;;
	esac
	__paddockctl_trim
	return 0
}

# bash replaces only the part of the word after its last '=' or ':' (when
# those are in COMP_WORDBREAKS): cut that much off every candidate.
__paddockctl_trim()
{
	local breaks="" c i prefix
	for c in '=' ':'; do
		[[ ${COMP_WORDBREAKS-=:} == *"$c"* ]] && breaks+=$c
	done
	[[ -z $breaks || $cur != *["$breaks"]* ]] && return
	prefix=${cur%"${cur##*["$breaks"]}"}
	for i in "${!COMPREPLY[@]}"; do
		COMPREPLY[i]=${COMPREPLY[i]#"$prefix"}
	done
}

complete -F _paddockctl paddockctl

# ex: filetype=sh noexpandtab
