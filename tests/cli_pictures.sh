#!/bin/sh
# explain's picture flags and the image-loading flags, as a user runs them:
# sizes of the pictures (PNG header), stdin, EXIF rotation, the pixel
# budget, and refusals with their exit statuses.
. "${top_srcdir:-$(dirname "$0")/..}/tests/cli_common.sh"
VGG="$MODELS/fmnist_vgg.onnx"
BOOT="$MODELS/samples/ankle_boot.png"
BAG="$MODELS/samples/bag.png"
JPG="$top_srcdir/tests/ref/data/jpeg"

# "WIDTHxHEIGHT" of a PNG, from its IHDR (bytes 16..23, big-endian).
png_size() {
    od -An -tu1 -j16 -N8 "$1" | awk '{ printf "%dx%d\n",
        (($1 * 256 + $2) * 256 + $3) * 256 + $4,
        (($5 * 256 + $6) * 256 + $7) * 256 + $8 }'
}

# Default picture: 28x28 enlarged x8; the colour bar adds a strip
# (glyph scale 224 / 112 = 2: (2 + 4 + 2 + 5 + 2) * 2 = 30 rows).
expect_exit 0 "plain" -- "$DMBP" explain "$VGG" "$BOOT" -m gxi -o "$TMP/a" &&
    [ "$(png_size "$TMP/a.png")" = 224x224 ] || fail "plain size $(png_size "$TMP/a.png")"
expect_exit 0 "colorbar" -- "$DMBP" explain "$VGG" "$BOOT" -m gxi --colorbar -o "$TMP/b" &&
    [ "$(png_size "$TMP/b.png")" = 224x254 ] || fail "colorbar size $(png_size "$TMP/b.png")"

# Options change the picture but not the arrays.
for opt in "--alpha 0.3" "--percentile 90" "--heatmap-only" "--colormap bwr"; do
    # shellcheck disable=SC2086
    expect_exit 0 "$opt" -- "$DMBP" explain "$VGG" "$BOOT" -m gxi $opt --force -o "$TMP/c" || continue
    cmp -s "$TMP/a.png" "$TMP/c.png" && fail "$opt: same picture as the default"
    cmp -s "$TMP/a.npy" "$TMP/c.npy" || fail "$opt: the .npy changed"
done
expect_exit 0 "gradcam inferno" -- "$DMBP" explain "$VGG" "$BOOT" -m gradcam --colormap inferno -o "$TMP/g" || true

# --shared-scale: on one scale, the image with the weaker map differs from
# its own-scale picture, the one that sets the scale does not.
expect_exit 0 "own scales" -- "$DMBP" explain "$VGG" "$BOOT" "$BAG" -m gxi -o "$TMP/own" &&
expect_exit 0 "shared" -- "$DMBP" explain "$VGG" "$BOOT" "$BAG" -m gxi --shared-scale -o "$TMP/sh" &&
{
    same=0
    # Several images with -o: PREFIX-NN-<stem>.
    for k in 01 02; do
        o=$(ls "$TMP"/own-$k-*.png | grep -v -- '-pos\|-neg\|-mappings')
        s=$(ls "$TMP"/sh-$k-*.png | grep -v -- '-pos\|-neg\|-mappings')
        cmp -s "$o" "$s" && same=$((same + 1))
    done
    [ "$same" -eq 1 ] || fail "--shared-scale: $same of 2 pictures unchanged, want 1"
}

# Standard input, JPEG from content.
expect_exit 0 "stdin" -- sh -c "\"$DMBP\" predict \"$VGG\" - --top 1 <\"$BOOT\"" &&
    grep -q "^ *9 " "$TMP/out" || fail "stdin: $(cat "$TMP/out")"

# EXIF: orientation 6 turns a 37x29 JPEG into 29x37 only when asked.
P="--resize 28 --crop 28"
expect_exit 0 "exif stored" -- "$DMBP" explain "$VGG" "$JPG/exif_6.jpg" $P -m gxi -o "$TMP/e0" &&
    [ "$(png_size "$TMP/e0.png")" = 296x232 ] || fail "exif stored size $(png_size "$TMP/e0.png")"
expect_exit 0 "exif rotated" -- "$DMBP" explain "$VGG" "$JPG/exif_6.jpg" $P -m gxi --exif-rotate -o "$TMP/e1" &&
    [ "$(png_size "$TMP/e1.png")" = 232x296 ] || fail "exif rotated size $(png_size "$TMP/e1.png")"

# Refusals.
expect_exit 6 "max-pixels" -- "$DMBP" predict "$VGG" "$BOOT" --max-pixels 783 &&
    grep -q "ankle_boot.png: image 28x28 has 784 pixels, more than the pixel budget of 783" "$TMP/err" ||
    fail "max-pixels message: $(cat "$TMP/err")"
expect_exit 0 "max-pixels at size" -- "$DMBP" predict "$VGG" "$BOOT" --max-pixels 784 || true
expect_exit 2 "alpha 2" -- "$DMBP" explain "$VGG" "$BOOT" -m gxi --alpha 2 -o "$TMP/x" &&
    grep -q "alpha" "$TMP/err" || fail "alpha 2 message: $(cat "$TMP/err")"
expect_exit 2 "inferno on a signed map" -- "$DMBP" explain "$VGG" "$BOOT" -m gxi --colormap inferno -o "$TMP/x" &&
    grep -q -- "--colormap inferno: --method gxi draws signed maps" "$TMP/err" || fail "inferno message: $(cat "$TMP/err")"
expect_exit 2 "unknown colormap" -- "$DMBP" explain "$VGG" "$BOOT" -m gxi --colormap jet -o "$TMP/x" || true
[ -e "$TMP/x.png" ] && fail "a refused run left $TMP/x.png"
finish
