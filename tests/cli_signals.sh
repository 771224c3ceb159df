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

# interrupt SIGNAL STATUS: signal an explain that would run for minutes.
interrupt() {
    _sig=$1; _want=$2
    "$DMBP" explain --quiet --iters 1000000 --force -o "$TMP/out/x" \
        "$MODELS/fmnist_vgg.onnx" "$IMG1" >"$TMP/stdout" 2>"$TMP/stderr" &
    _pid=$!
    sleep 3
    kill "-$_sig" "$_pid"
    wait "$_pid"
    _got=$?
    [ "$_got" = "$_want" ] || fail "$_sig: exit $_got, want $_want"
    [ "$(wc -l <"$TMP/stderr")" = 1 ] && grep -q "interrupted" "$TMP/stderr" ||
        fail "$_sig: stderr: $(cat "$TMP/stderr")"
    ls "$TMP/out" | grep -q '\.tmp\.' &&
        fail "$_sig: temporary files left: $(ls "$TMP/out")"
    diff -r "$TMP/before" "$TMP/out" >/dev/null ||
        fail "$_sig: earlier outputs changed"
}

interrupt TERM 143
interrupt INT 130
finish
