#!/bin/sh
# dmbp render (issue #25 item 2): explain's pictures drawn again from its
# .npy, byte for byte what explain wrote with the same options, for DMBP
# (4 pictures), a signed baseline and a non-negative one, on a PNG and on a
# JPEG photo under a resize and crop; other options redraw without
# computing; bad input is refused in one line with its status.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"
CNN="$MODELS/evidence_cnn.onnx"
SQ="$MODELS/evidence/test_00005.png"
NET="$top_srcdir/tests/ref/data/resnet50_small_op13.onnx"
PHOTO="$top_srcdir/docs/images/example-photo.jpg"
W="$TMP/w"
mkdir "$W"

# same_pictures A B SUFFIX...: A<suffix> and B<suffix> are the same bytes.
same_pictures() {
    _a=$1; _b=$2; shift 2
    for _s in "$@"; do
        cmp -s "$_a$_s" "$_b$_s" || fail "render: $_b$_s differs from explain's $_a$_s"
    done
}

# DMBP, with a caption (the class from the top class) and a colour bar.
opts="--caption --colorbar --alpha 0.5 --percentile 99"
expect_exit 0 "explain dmbp" -- "$DMBP" explain "$CNN" "$SQ" --iters 2 $opts -q -o "$W/d"
expect_exit 0 "render dmbp" -- "$DMBP" render "$W/d.npy" --image "$SQ" --model "$CNN" $opts -o "$W/r"
same_pictures "$W/d" "$W/r" .png -pos.png -neg.png -mappings.png
grep -qx "$W/r.png $W/r-pos.png $W/r-neg.png $W/r-mappings.png" "$TMP/out" ||
    fail "render: printed $(cat "$TMP/out")"
# A target by label, and another colormap.
opts="--target triangle --caption --colormap bwr --keep-colour"
expect_exit 0 "explain dmbp --target" -- "$DMBP" explain "$CNN" "$SQ" --iters 2 $opts -q -o "$W/t"
expect_exit 0 "render --target" -- "$DMBP" render "$W/t.npy" --image "$SQ" --model "$CNN" $opts -o "$W/rt"
same_pictures "$W/t" "$W/rt" .png -pos.png -neg.png -mappings.png
# Other options give other pictures, without computing again.
expect_exit 0 "render --heatmap-only" -- "$DMBP" render "$W/d.npy" --image "$SQ" --model "$CNN" --heatmap-only -o "$W/h"
cmp -s "$W/d.png" "$W/h.png" && fail "render --heatmap-only: the same picture as explain's"

# Baselines on a JPEG photo under --resize/--crop: gxi (signed, caption
# with the sum) and Grad-CAM (non-negative), and the default prefix: the
# .npy's own name, over explain's pictures with --force only.
for m in gxi gradcam; do
    opts="--method $m --caption --colorbar"
    [ $m = gradcam ] && opts="$opts --colormap inferno"
    expect_exit 0 "explain $m photo" -- "$DMBP" explain "$NET" "$PHOTO" --resize 72 --crop 64 $opts -q -o "$W/p$m"
    cp "$W/p$m.png" "$W/p$m-explain.png"
    refused 2 "exists; --force" "render $m over explain's picture" -- \
        "$DMBP" render "$W/p$m.npy" --image "$PHOTO" --model "$NET" --resize 72 --crop 64 $opts
    expect_exit 0 "render $m photo --force" -- "$DMBP" render "$W/p$m.npy" --image "$PHOTO" --model "$NET" --resize 72 --crop 64 $opts --force
    cmp -s "$W/p$m.png" "$W/p$m-explain.png" || fail "render $m: differs from explain's picture"
done

# Bad input: one line, its status, no picture.
refused 2 "--image is required" "no --image" -- "$DMBP" render "$W/d.npy" --model "$CNN"
refused 2 "name its method with --method" "a map without --method" -- \
    "$DMBP" render "$W/pgxi.npy" --image "$PHOTO" --model "$NET"
refused 2 "but the file holds DMBP's five arrays" "dmbp file, --method gxi" -- \
    "$DMBP" render "$W/d.npy" --image "$SQ" --model "$CNN" --method gxi -o "$W/x"
refused 4 "not a .npy file" "a PNG as the .npy" -- \
    "$DMBP" render "$SQ" --image "$SQ" --model "$CNN" -o "$W/x"
head -c 300 "$W/d.npy" >"$W/cut.npy"
refused 4 "truncated" "a truncated .npy" -- "$DMBP" render "$W/cut.npy" --image "$SQ" --model "$CNN" -o "$W/x"
refused 6 "the preprocessing differs" "another crop" -- \
    "$DMBP" render "$W/pgxi.npy" --image "$PHOTO" --model "$NET" --method gxi --resize 80 --crop 72 -o "$W/x"
refused 2 "--steps" "an IG option with render" -- "$DMBP" render "$W/d.npy" --image "$SQ" --model "$CNN" --steps 3
[ -e "$W/x.png" ] && fail "render: a picture written after a refusal"
finish
