#!/bin/sh
# tools/manopts.sh - dmbp(1)'s OPTIONS list, made from `dmbp --help`, which
# prints the program's one option table (src/cli/opts.h): every option with
# its short name, its argument's form, its help, the methods it applies to
# and the commands that take it.
#
#   tools/manopts.sh DMBP           rewrite the list in man/dmbp.1, between
#                                   its "manopts:begin" and "manopts:end"
#                                   lines
#   tools/manopts.sh --print DMBP   print the list only
#   tools/manopts.sh --check DMBP   exit 1, with the difference, when the
#                                   man page's list is not the table's
#
# DMBP is the built program. The tree is the script's parent directory, or
# $top_srcdir when set (make check).
set -eu

mode=write
case "${1:-}" in
--print | --check) mode=${1#--}; shift ;;
esac
[ $# -eq 1 ] || { echo "usage: tools/manopts.sh [--print|--check] DMBP" >&2; exit 2; }
dmbp=$1
top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
man=$top/man/dmbp.1
begin='.\" manopts:begin (tools/manopts.sh writes this list from dmbp --help)'
end='.\" manopts:end'

# The option lines of `dmbp --help` ("  -o, --output PREFIX  help [methods]
# {commands}"; the option and its argument end at two spaces) as troff:
# .TP, the names in bold and the argument in italics, then the help, the
# methods and the commands.
list() {
    "$dmbp" --help | awk '
        function troff(s) { gsub(/\\/, "\\e", s); gsub(/-/, "\\-", s); return s }
        /^ +(-., )?--[a-z]/ && !/--version/ {
            line = $0; sub(/^ +/, "", line)
            split(line, part, /  +/)
            head = part[1]; rest = substr(line, length(head) + 1)
            sub(/^ +/, "", rest)
            n = split(head, w, " ")
            arg = ""
            if (w[n] !~ /^-/) { arg = w[n]; head = substr(head, 1, length(head) - length(arg) - 1) }
            cmds = rest; sub(/.*\{/, "", cmds); sub(/\}$/, "", cmds)
            sub(/ *\{[^{}]*\}$/, "", rest)
            methods = ""
            if (match(rest, / \[[^][]*\]$/)) {
                methods = substr(rest, RSTART + 2, RLENGTH - 3)
                rest = substr(rest, 1, RSTART - 1)
            }
            gsub(/ /, ", ", cmds)
            print ".TP"
            if (arg == "") print ".B " troff(head)
            else print ".BI \"" troff(head) " \" " troff(arg)
            text = troff(rest)
            if (methods != "") text = text " (methods: " troff(methods) ")"
            print text "; " cmds "."
        }'
}

case $mode in
print) list ;;
check)
    B=$begin E=$end awk '$0 == ENVIRON["E"] { on = 0 } on { print } $0 == ENVIRON["B"] { on = 1 }' \
        "$man" >"${TMPDIR:-/tmp}/manopts.$$.man"
    list >"${TMPDIR:-/tmp}/manopts.$$.help"
    if ! diff -u "${TMPDIR:-/tmp}/manopts.$$.man" "${TMPDIR:-/tmp}/manopts.$$.help"; then
        rm -f "${TMPDIR:-/tmp}/manopts.$$."*
        echo "man/dmbp.1's OPTIONS differ from dmbp --help (- man, + help): run tools/manopts.sh ./dmbp" >&2
        exit 1
    fi
    rm -f "${TMPDIR:-/tmp}/manopts.$$."*
    ;;
write)
    grep -qxF "$begin" "$man" && grep -qxF "$end" "$man" ||
        { echo "man/dmbp.1 has no manopts:begin/end lines" >&2; exit 1; }
    list >"$man.opts.$$"
    B=$begin E=$end F="$man.opts.$$" awk '
        $0 == ENVIRON["B"] { print; while ((getline l < ENVIRON["F"]) > 0) print l; skip = 1; next }
        $0 == ENVIRON["E"] { skip = 0 }
        !skip { print }' "$man" >"$man.new.$$"
    rm -f "$man.opts.$$"
    mv "$man.new.$$" "$man"
    ;;
esac
