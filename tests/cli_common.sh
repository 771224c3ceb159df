# Shared by the shell tests: locations and small assertions.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
DMBP="$top_builddir/dmbp"
MODELS="$top_srcdir/models"
API="$top_srcdir/tests/ref/data/api"
IMG="$top_srcdir/tests/ref/data/img"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/dmbp-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
# DMBP_WRAPPER (make check-valgrind sets it): a command that prefixes every
# dmbp run, e.g. "valgrind --error-exitcode=99 ...". libtool --mode=execute
# makes it run the real program, not libtool's wrapper script, and
# OMP_WAIT_POLICY set up front stops dmbp from starting itself again
# (src/cli/main.c), which would leave the wrapper watching only the
# first instant of the run.
if [ -n "${DMBP_WRAPPER:-}" ]; then
    cat >"$TMP/dmbp-wrapped" <<EOF
#!/bin/sh
OMP_WAIT_POLICY=\${OMP_WAIT_POLICY:-passive}; export OMP_WAIT_POLICY
exec "$top_builddir/libtool" --mode=execute $DMBP_WRAPPER "$DMBP" "\$@"
EOF
    chmod +x "$TMP/dmbp-wrapped"
    DMBP="$TMP/dmbp-wrapped"
fi
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# expect_exit CODE DESCRIPTION -- COMMAND...: run, check the status, keep
# stdout in $TMP/out and stderr in $TMP/err.
expect_exit() {
    _ee_want=$1; _ee_what=$2; shift 3
    "$@" >"$TMP/out" 2>"$TMP/err"
    _ee_got=$?
    if [ "$_ee_got" != "$_ee_want" ]; then
        fail "$_ee_what: exit $_ee_got, want $_ee_want; stderr: $(cat "$TMP/err")"
        return 1
    fi
    return 0
}

# refused CODE NEEDLE DESCRIPTION -- COMMAND...
refused() {
    code=$1; needle=$2; what=$3; shift 4
    expect_exit "$code" "$what" -- "$@" || return
    lines=$(wc -l <"$TMP/err")
    [ "$lines" -eq 1 ] || fail "$what: $lines lines on stderr: $(cat "$TMP/err")"
    grep -q "^dmbp: " "$TMP/err" || fail "$what: stderr does not start with 'dmbp: '"
    grep -qF -- "$needle" "$TMP/err" || fail "$what: stderr lacks '$needle': $(cat "$TMP/err")"
}

finish() {
    if [ "$failures" -ne 0 ]; then
        echo "$(basename "$0"): $failures failures" >&2
        exit 1
    fi
    echo "$(basename "$0"): ok"
    exit 0
}
