#!/bin/sh
# Replay every seed corpus file and every regression through the fuzz
# targets (plain main() drivers built by make check, or the sanitizer
# builds of make check-asan with REPLAY_DIR=asan-bin). Each run must end
# normally: a crash or a sanitizer report fails the test.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$(pwd)}
dir=${REPLAY_DIR:-$top_builddir/tests/fuzz}
FUZZ="$top_srcdir/tests/fuzz"
failures=0
for t in onnx png jpeg labels images manifest; do
    inputs="$FUZZ/corpus/$t"
    [ "$t" = onnx ] && inputs="$inputs $FUZZ/regressions"
    if ! "$dir/replay_$t" $inputs >"${TMPDIR:-/tmp}/replay-$$.log" 2>&1; then
        echo "FAIL: replay_$t:" >&2
        tail -30 "${TMPDIR:-/tmp}/replay-$$.log" >&2
        failures=$((failures + 1))
    else
        echo "replay_$t: $(tail -1 "${TMPDIR:-/tmp}/replay-$$.log")"
    fi
    rm -f "${TMPDIR:-/tmp}/replay-$$.log"
done
[ "$failures" -eq 0 ]
