/* The overlay on the user's original picture and the rendering options of
 * #10: dmbp_map_to_original against torchvision (fixtures of
 * tests/ref/make_overlay_fixtures.py: a linear ramp resized and cropped by
 * torchvision must come back as the same ramp), then the pictures:
 * sizes, dimming outside the crop, heatmap-only, the colour bar, a shared
 * scale and colormap checks. */
#include <dmbp.h>
#include <dmbp_render.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"

#define DIR "tests/ref/data/overlay/"
/* Against the script's numpy implementation of the rule: only float
 * rounding (float32 map, values ~0.1..0.9, ~1e-7) separates them. */
#define GEOM_TOL 1e-5
/* Against the ramp itself, as the script checks too: torchvision's
 * antialiased filter shifts a ramp by up to ~0.07 pixel, so 0.1 pixel of
 * the steeper slope (0.013 per pixel); a half-pixel geometry error gives
 * 0.0065 or more. */
#define RAMP_TOL (0.1 * 0.013)

static float *load(const char *name, const char *kind, int64_t *dims)
{
    char path[256];
    snprintf(path, sizeof path, DIR "%s_%s.npy", name, kind);
    float *d;
    int nd;
    if (npy_read_f32(test_path(path), &d, dims, &nd)) {
        CHECK(0, "cannot read %s", path);
        return NULL;
    }
    return d;
}

static void geometry(const char *name)
{
    int64_t dm[NPY_MAX_DIMS], dmap[NPY_MAX_DIMS], dr[NPY_MAX_DIMS];
    float *meta = load(name, "meta", dm), *map = load(name, "map", dmap);
    float *ramp = load(name, "ramp", dr), *in = load(name, "inside", dr);
    float *chk = load(name, "check", dr), *back = load(name, "back", dr);
    if (!meta || !map || !ramp || !in || !chk || !back)
        goto done;
    int oh = (int)meta[0], ow = (int)meta[1];
    dmbp_preprocess_options pre;
    dmbp_preprocess_options_init(&pre);
    pre.resize = (int)meta[2];
    pre.crop = (int)meta[3];
    size_t n = (size_t)oh * (size_t)ow;
    /* Room for the 3x3 larger original tried at the end. */
    float *out = malloc(9 * n * sizeof *out);
    unsigned char *inside = malloc(n);
    dmbp_status st = dmbp_map_to_original(map, (int)dmap[0], (int)dmap[1],
                                          &pre, oh, ow, out, inside);
    CHECK(st == DMBP_OK, "%s: %s", name, dmbp_last_error());
    if (!st) {
        size_t bad_in = 0, checked = 0, zero_out = 0;
        double worst = 0, worst_rule = 0;
        for (size_t i = 0; i < n; i++) {
            bad_in += inside[i] != (in[i] != 0.0f);
            if (!inside[i] && out[i] != 0.0f)
                zero_out++;
            double er = fabs((double)out[i] - back[i]);
            worst_rule = er > worst_rule ? er : worst_rule;
            if (chk[i] != 0.0f) {
                double e = fabs((double)out[i] - ramp[i]);
                worst = e > worst ? e : worst;
                checked++;
            }
        }
        CHECK(worst_rule <= GEOM_TOL, "%s: max |ours - numpy| %g > %g", name,
              worst_rule, GEOM_TOL);
        CHECK(bad_in == 0, "%s: %zu pixels in/out of the crop wrongly", name,
              bad_in);
        CHECK(zero_out == 0, "%s: %zu outside pixels not 0", name, zero_out);
        CHECK(worst <= RAMP_TOL, "%s: max |back - ramp| %g > %g", name,
              worst, RAMP_TOL);
        printf("%-12s %dx%d: max |ours - numpy| %.3g; %zu pixels checked "
               "against the ramp, max |back - ramp| %.3g\n",
               name, ow, oh, worst_rule, checked, worst);
    }
    /* The wrong original size for this map is a shape error. */
    st = dmbp_map_to_original(map, (int)dmap[0], (int)dmap[1], &pre, oh * 3,
                              ow * 3, out, NULL);
    CHECK(pre.crop == 0 || pre.resize != 0 ? st == DMBP_ERR_SHAPE || st == 0
                                           : st == 0,
          "%s: resized original: %d", name, st);
    free(out);
    free(inside);
done:
    free(meta);
    free(map);
    free(ramp);
    free(in);
    free(chk);
    free(back);
}

#define OH 50
#define OW 70
#define CROP 24
#define RESIZE 32

static void pictures(void)
{
    /* A grey original, a map with a positive and a negative blob. */
    dmbp_image orig = {3, OH, OW, malloc(3 * OH * OW * sizeof(float))};
    for (int i = 0; i < 3 * OH * OW; i++)
        orig.data[i] = 0.8f;
    float map[CROP * CROP], half[CROP * CROP];
    for (int y = 0; y < CROP; y++)
        for (int x = 0; x < CROP; x++) {
            float v = expf(-((x - 6) * (x - 6) + (y - 6) * (y - 6)) / 8.0f) -
                      expf(-((x - 17) * (x - 17) + (y - 17) * (y - 17)) /
                           8.0f);
            map[y * CROP + x] = v;
            half[y * CROP + x] = v / 2;
        }
    dmbp_preprocess_options pre;
    dmbp_preprocess_options_init(&pre);
    pre.resize = RESIZE;
    pre.crop = CROP;
    dmbp_render_options o;
    dmbp_render_options_init(&o);
    CHECK(o.colormap == DMBP_COLORMAP_DEFAULT && o.scale == 0 &&
              !o.colorbar && !o.heatmap_only,
          "render defaults");
    const char *p1 = "test_overlay.tmp1.png", *p2 = "test_overlay.tmp2.png";
    int h, w;

    /* At the picture's own size (a 70x50 picture would otherwise be
     * upscaled x5 to reach min_side). */
    o.min_side = 0;
    dmbp_status st = dmbp_render_signed_original(map, map, 1, CROP, CROP,
                                                 &orig, &pre, &o, p1);
    o.min_side = DMBP_RENDER_MIN_SIDE;
    CHECK(st == DMBP_OK, "signed original: %s", dmbp_last_error());
    unsigned char *px = tl_read_png_rgb(p1, &h, &w);
    CHECK(px && h == OH && w == OW, "original size: %dx%d", w, h);
    if (px) {
        /* Corner (0, 0) is outside the crop: dimmed grey, no heatmap. */
        int want = (int)floor(DMBP_RENDER_DIM * 0.8 * 255 + 0.5);
        CHECK(px[0] == want && px[1] == want && px[2] == want,
              "outside pixel %d %d %d, want %d", px[0], px[1], px[2], want);
        /* The centre is inside and the map is ~0 there: the background
         * blended with white at alpha 0.7. */
        size_t c = ((size_t)(OH / 2) * OW + OW / 2) * 3;
        CHECK(px[c] > 200, "centre pixel %d", px[c]);
    }
    free(px);

    /* Colour bar: a strip under the picture, same width. */
    o.colorbar = 1;
    st = dmbp_render_signed(map, map, 1, CROP, CROP,
                            &(dmbp_image){3, CROP, CROP, orig.data}, &o, p1);
    CHECK(st == DMBP_OK, "colorbar: %s", dmbp_last_error());
    px = tl_read_png_rgb(p1, &h, &w);
    /* 24 upscaled x10 to 240; glyph scale 240 / 112 = 2. */
    CHECK(px && w == 240 && h == 240 + 2 * (2 + 4 + 2 + 5 + 2),
          "colorbar size %dx%d", w, h);
    free(px);
    o.colorbar = 0;

    /* Heatmap only: the background does not matter. */
    o.heatmap_only = 1;
    dmbp_image black = {3, CROP, CROP, calloc(3 * CROP * CROP, sizeof(float))};
    st = dmbp_render_signed(map, map, 1, CROP, CROP, &black, &o, p1);
    CHECK(!st, "heatmap only: %s", dmbp_last_error());
    st = dmbp_render_signed(map, map, 1, CROP, CROP,
                            &(dmbp_image){3, CROP, CROP, orig.data}, &o, p2);
    CHECK(!st, "heatmap only: %s", dmbp_last_error());
    int h2, w2;
    unsigned char *a = tl_read_png_rgb(p1, &h, &w);
    unsigned char *b = tl_read_png_rgb(p2, &h2, &w2);
    CHECK(a && b && h == h2 && w == w2 && !memcmp(a, b, (size_t)h * w * 3),
          "heatmap only depends on the background");
    free(a);
    free(b);
    o.heatmap_only = 0;

    /* Shared scale: half the map on the full map's scale is paler than
     * half the map alone (which stretches to full colour), and the full
     * map at its own scale passed explicitly renders identically. */
    double s_full, s_half;
    CHECK(!dmbp_render_scale(map, map, 1, CROP, CROP, &o, &s_full) &&
              !dmbp_render_scale(half, half, 1, CROP, CROP, &o, &s_half),
          "render_scale: %s", dmbp_last_error());
    CHECK(fabs(s_half * 2 - s_full) < 1e-6 * s_full,
          "scales %g %g", s_full, s_half);
    dmbp_image bg = {3, CROP, CROP, orig.data};
    st = dmbp_render_signed(map, map, 1, CROP, CROP, &bg, &o, p1);
    o.scale = s_full;
    st |= dmbp_render_signed(map, map, 1, CROP, CROP, &bg, &o, p2);
    a = tl_read_png_rgb(p1, &h, &w);
    b = tl_read_png_rgb(p2, &h2, &w2);
    CHECK(!st && a && b && !memcmp(a, b, (size_t)h * w * 3),
          "explicit own scale differs from the default");
    free(b);
    st = dmbp_render_signed(half, half, 1, CROP, CROP, &bg, &o, p2);
    b = tl_read_png_rgb(p2, &h2, &w2);
    /* Pixel of the positive peak (6, 6), upscaled x10. Alone, the full
     * map's peak is 1: seismic dark red (0.5, 0, 0); on the full map's
     * scale the half map's peak, clipped at its own percentile (s_half),
     * is s_half / s_full = 0.5: red (1, 0, 0); seismic's red falls by 1
     * per unit past 0.5 (rounding). Blended at 0.7 over 0.8. */
    size_t pk = ((size_t)65 * w + 65) * 3;
    double hv = s_half / s_full;
    double red = hv > 0.5 ? 1.0 - (hv - 0.5) : 1.0;
    int want = (int)floor((0.7 * red + 0.3 * 0.8) * 255 + 0.5);
    CHECK(!st && a && b && a[pk] == 150 && b[pk] == want,
          "shared scale: peak red %d (full, own scale), %d (half, shared; "
          "want %d)",
          a ? a[pk] : -1, b ? b[pk] : -1, want);
    free(a);
    free(b);
    o.scale = 0;

    /* Colormaps: sequential ones refuse signed maps and vice versa. */
    o.colormap = DMBP_COLORMAP_INFERNO;
    st = dmbp_render_signed(map, map, 1, CROP, CROP, &bg, &o, p1);
    CHECK(st == DMBP_ERR_ARG && strstr(dmbp_last_error(), "diverging"),
          "inferno on signed: %d", st);
    st = dmbp_render_sequential(map, CROP, CROP, &bg, &o, p1);
    CHECK(st == DMBP_OK, "inferno: %s", dmbp_last_error());
    o.colormap = DMBP_COLORMAP_BWR;
    st = dmbp_render_sequential(map, CROP, CROP, &bg, &o, p1);
    CHECK(st == DMBP_ERR_ARG, "bwr on sequential: %d", st);
    o.colormap = 99;
    st = dmbp_render_signed(map, map, 1, CROP, CROP, &bg, &o, p1);
    CHECK(st == DMBP_ERR_ARG, "colormap 99: %d", st);
    o.colormap = 0;
    o.scale = -1;
    st = dmbp_render_signed(map, map, 1, CROP, CROP, &bg, &o, p1);
    CHECK(st == DMBP_ERR_ARG, "scale -1: %d", st);
    o.scale = 0;
    /* A map that does not match pre for this original. */
    st = dmbp_render_sequential_original(map, CROP - 1, CROP, &orig, &pre,
                                         &o, p1);
    CHECK(st == DMBP_ERR_SHAPE, "mismatched map: %d %s", st,
          dmbp_last_error());
    remove(p1);
    remove(p2);
    free(orig.data);
    free(black.data);
}

int main(void)
{
    static const char *const cases[] = {"landscape", "portrait", "upscale",
                                        "crop_only", "resize_only"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        geometry(cases[i]);
    pictures();
    if (failures)
        printf("%d failure(s)\n", failures);
    return failures != 0;
}
