#!/bin/sh
# tools/devtable.sh - docs/files.md's file table, made from the tree: every
# source file under src/ (any folders, any depth: *.c, *.h, *.hpp, *.cpp),
# its line count and the first sentence of its first comment.
#
#   tools/devtable.sh            rewrite the table in docs/files.md, between
#                                its "devtable:begin" and "devtable:end" lines
#   tools/devtable.sh --print    print the table only
#   tools/devtable.sh --check    exit 1, naming them, if files were added or
#                                removed since the table was made (counts and
#                                summaries may be stale; run it to refresh)
#
# Run from anywhere; the tree is the script's parent directory, or
# $top_srcdir when set (make check). A file's summary is its first comment,
# so a new file describes itself there (docs/style.md).
set -eu

top=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
doc=$top/docs/files.md
begin='<!-- devtable:begin (tools/devtable.sh writes this table) -->'
end='<!-- devtable:end -->'

files() {
    (cd "$top" && find src -type f \( -name '*.c' -o -name '*.h' \
        -o -name '*.hpp' -o -name '*.cpp' \) | LC_ALL=C sort)
}

# The first sentence of a file's leading comment (/* ... */ or // lines),
# without the "name.h - " a header starts with; '|' escaped for markdown.
summary() {
    awk '
        BEGIN { text = ""; state = 0 }
        state == 0 && /^[ \t]*$/ { next }
        state == 0 && /^[ \t]*\/\*/ { state = 1; sub(/^[ \t]*\/\*+/, "") }
        state == 0 && /^[ \t]*\/\// { state = 2 }
        state == 0 { exit }
        state == 2 && !/^[ \t]*\/\// { exit }
        state == 2 { sub(/^[ \t]*\/\/+/, "") }
        state == 1 && /\*\// { sub(/\*\/.*/, ""); last = 1 }
        {
            sub(/^[ \t]*\*+/, ""); gsub(/^[ \t]+|[ \t]+$/, "")
            if ($0 != "") text = text (text == "" ? "" : " ") $0
            if (last) exit
        }
        END {
            sub(/^[A-Za-z0-9_.\/]+ +- +/, "", text)
            # First sentence: up to a full stop followed by the end or by
            # a space and a capital ("et al. 2017", "e.g. x" go on).
            n = length(text); out = text
            for (i = 1; i <= n; i++) {
                if (substr(text, i, 1) != ".") continue
                if (i < n && substr(text, i, 3) !~ /^\. [A-Z]/) continue
                out = substr(text, 1, i); break
            }
            gsub(/\|/, "\\|", out)
            print out
        }' "$1"
}

table() {
    echo '| file | lines | what (its first comment) |'
    echo '|---|---:|---|'
    files | while read -r f; do
        printf '| `%s` | %s | %s |\n' "$f" "$(wc -l < "$top/$f" | tr -d ' ')" \
            "$(summary "$top/$f")"
    done
}

listed() {
    awk -v b="$begin" -v e="$end" '
        $0 == b { on = 1; next } $0 == e { on = 0 }
        on && /^\| `/ { f = $0; sub(/^\| `/, "", f); sub(/`.*/, "", f); print f }
    ' "$doc" | LC_ALL=C sort
}

case ${1-} in
--print)
    table ;;
--check)
    grep -qxF "$begin" "$doc" || { echo "$doc: no devtable:begin line"; exit 1; }
    tmp=${TMPDIR:-/tmp}/devtable.$$
    files > "$tmp.have"
    listed > "$tmp.listed"
    if ! cmp -s "$tmp.have" "$tmp.listed"; then
        echo "docs/files.md's file table is out of date (run tools/devtable.sh):"
        comm -23 "$tmp.have" "$tmp.listed" | sed 's/^/  not listed: /'
        comm -13 "$tmp.have" "$tmp.listed" | sed 's/^/  gone:       /'
        rm -f "$tmp.have" "$tmp.listed"
        exit 1
    fi
    echo "docs/files.md lists the $(wc -l < "$tmp.have" | tr -d ' ') files of src/"
    rm -f "$tmp.have" "$tmp.listed" ;;
'')
    grep -qxF "$begin" "$doc" && grep -qxF "$end" "$doc" ||
        { echo "$doc: needs a '$begin' line and a '$end' line" >&2; exit 1; }
    tmp=$doc.devtable.$$
    table > "$tmp.table"
    awk -v b="$begin" -v e="$end" -v t="$tmp.table" '
        $0 == b { print; while ((getline l < t) > 0) print l; skip = 1; next }
        $0 == e { skip = 0 }
        !skip { print }
    ' "$doc" > "$tmp"
    rm -f "$tmp.table"
    mv "$tmp" "$doc"
    echo "docs/files.md: $(files | wc -l | tr -d ' ') files of src/ listed" ;;
*)
    sed -n '2,16s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
