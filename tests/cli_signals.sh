#!/bin/sh
# SIGTERM and SIGINT during explain: exit 143 / 130 with one line, no
# temporary file left, and the outputs of an earlier run (finished files)
# intact: a file is only ever replaced whole, by rename.
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/cli_common.sh"

IMG1="$MODELS/samples/bag.png"
cd "$TMP" || exit 1
mkdir out
"$DMBP" explain --quiet --iters 5 -o "$TMP/out/x" "$MODELS/fmnist_vgg.onnx" \
    "$IMG1" >/dev/null 2>&1 || fail "first run"
cp -r out before

# Seconds to wait for dmbp to install its SIGINT/SIGTERM handlers. A
# signal sent before that would test the default action, not dmbp: SIGTERM
# would still give 143 but without dmbp's line, and SIGINT is ignored by
# a background job of a non-interactive shell, so the run would go on.
READY_SECONDS=120

# wait_handlers PID: return once PID catches SIGINT (bit 2) and SIGTERM
# (bit 15) in /proc/PID/status's SigCgt mask; without /proc, sleep 3.
wait_handlers() {
    if [ ! -r "/proc/$1/status" ]; then sleep 3; return 0; fi
    _n=0
    while [ "$_n" -lt $((READY_SECONDS * 10)) ]; do
        _cgt=$(awk '/^SigCgt:/ {print $2}' "/proc/$1/status" 2>/dev/null)
        [ -n "$_cgt" ] || return 1
        # the last four hex digits hold signals 1..16: 0x4002 = INT | TERM
        _low=$(printf '%d' "0x$(printf '%s' "$_cgt" | tail -c 4)")
        [ $((_low & 16386)) -eq 16386 ] && return 0
        sleep 0.1
        _n=$((_n + 1))
    done
    return 1
}

# interrupt WHAT SIGNAL STATUS ARGS...: signal `dmbp ARGS` (a run that
# would go on for minutes) once its handlers are in; it must exit STATUS
# with one line, leave no temporary file and no earlier output changed.
interrupt() {
    _what=$1; _sig=$2; _want=$3; shift 3
    "$DMBP" "$@" >"$TMP/stdout" 2>"$TMP/stderr" &
    _pid=$!
    if ! wait_handlers "$_pid"; then
        kill -KILL "$_pid" 2>/dev/null
        wait "$_pid"
        fail "$_what $_sig: dmbp did not install its signal handlers within ${READY_SECONDS} s"
        return
    fi
    kill "-$_sig" "$_pid"
    wait "$_pid"
    _got=$?
    [ "$_got" = "$_want" ] || fail "$_what $_sig: exit $_got, want $_want"
    [ "$(wc -l <"$TMP/stderr")" = 1 ] && grep -q "interrupted" "$TMP/stderr" ||
        fail "$_what $_sig: stderr: $(cat "$TMP/stderr")"
    ls "$TMP/out" | grep -q '\.tmp\.' &&
        fail "$_what $_sig: temporary files left: $(ls "$TMP/out")"
    diff -r "$TMP/before" "$TMP/out" >/dev/null ||
        fail "$_what $_sig: earlier outputs changed"
}

# eval's CSV, like explain's files, is written whole or not at all.
"$DMBP" eval --quiet "$MODELS/fmnist_vgg.onnx" --images "$MODELS/samples" \
    --methods saliency --randomization-images 0 --csv "$TMP/out/e.csv" \
    >/dev/null 2>&1 || fail "eval: first run"
rm -rf before
cp -r out before

for pair in TERM:143 INT:130; do
    interrupt explain "${pair%:*}" "${pair#*:}" explain --quiet \
        --iters 1000000 --force -o "$TMP/out/x" "$MODELS/fmnist_vgg.onnx" "$IMG1"
    interrupt eval "${pair%:*}" "${pair#*:}" eval --quiet \
        "$MODELS/fmnist_vgg.onnx" --images "$MODELS/samples" --methods dmbp \
        --iters 1000000 --randomization-images 0 --csv "$TMP/out/e.csv"
done
finish
