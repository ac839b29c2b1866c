#!/bin/sh
# ctl-commands.sh - paddockctl's command table against what documents it.
#
# `paddockctl --list-commands` prints the names in the table that dispatches
# the commands and builds --help. Bash completion
# (contrib/completion/paddockctl.bash, $__paddockctl_commands) and the
# COMMANDS section of paddockctl(1) keep lists of their own: each must name
# exactly the table's commands, and --help must show each of them.
# Run by `make check` from the build directory (automake exports $srcdir).

srcdir=${srcdir:-.}
ctl=${PADDOCKCTL:-./supervisor/paddockctl}
completion=$srcdir/contrib/completion/paddockctl.bash
manpage=$srcdir/man/paddockctl.1
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0

"$ctl" --list-commands >"$tmp/table" || {
	echo "ctl-commands: $ctl --list-commands failed" >&2
	exit 99
}
[ -s "$tmp/table" ] || {
	echo "ctl-commands: $ctl --list-commands printed nothing" >&2
	exit 99
}
sort -u "$tmp/table" >"$tmp/table.sorted"

# The words of __paddockctl_commands="...", which may span lines.
awk '
/^__paddockctl_commands="/ { on = 1; sub(/^__paddockctl_commands="/, "") }
on { line = $0; if (sub(/".*/, "", line)) on = 0; print line }' "$completion" |
	tr -s ' \t' '\n' | sed '/^$/d' | sort -u >"$tmp/completion"

# The first word of each item of COMMANDS (.TP/.TQ outside .RS nesting):
# "set" and "image" have several items, hence sort -u.
awk '
/^\.SH / { insec = ($0 ~ /^\.SH COMMANDS/); next }
!insec { next }
/^\.RS/ { depth++; next }
/^\.RE/ { depth--; next }
depth == 0 && /^\.(TP|TQ)/ { want = 1; next }
want {
	want = 0
	line = $0
	sub(/^\.[A-Za-z]+[ \t]+/, "", line)
	gsub(/"/, "", line)
	split(line, w, /[ \t]+/)
	word = w[1]
	gsub(/\\-/, "-", word)
	print word
}' "$manpage" | sort -u >"$tmp/man page"

for f in completion "man page"; do
	if ! cmp -s "$tmp/table.sorted" "$tmp/$f"; then
		echo "ctl-commands: the $f's command list differs from paddockctl's table" \
			"(- table, + $f):" >&2
		diff -u "$tmp/table.sorted" "$tmp/$f" | sed '1,2d' >&2
		status=1
	fi
done

# --help: its command lines (two-space indent, up to "Options") start
# with each command, or name it after "| " (freeze ... | thaw ...).
"$ctl" --help | sed -n '/^Commands:/,/^Options/p' >"$tmp/help"
while read -r cmd; do
	grep -Eq "^  $cmd( |$)|\| $cmd( |$)" "$tmp/help" || {
		echo "ctl-commands: --help does not show '$cmd'" >&2
		status=1
	}
done <"$tmp/table"

[ $status = 0 ] && echo "ctl-commands: $(wc -l <"$tmp/table") commands, completion, man page and --help agree"
exit $status
