/*
 * render.h - rendering attribution maps to PNG files, and arrays to .npy.
 *
 * A fragment of the public API, to be pasted into dmbp.h (before its
 * closing `extern "C"` brace); until then render.c and the tests include
 * it after dmbp.h. The DMBP_RENDER_H_DECLS guard travels with the block,
 * so including this file after the pasted dmbp.h is harmless.
 *
 * Display follows docs/dmbp-method.md section 5. Every writer here writes
 * to a temporary file beside `path` and renames it over `path` only once
 * the whole file is written: on any failure nothing at `path` is created
 * or changed, and no temporary file is left behind. Failures: DMBP_ERR_ARG
 * (NULL pointers, sizes <= 0, channels not 1 or 3, a background of another
 * size, an option out of range), DMBP_ERR_NONFINITE (NaN or infinity in a
 * map or background; the message names which), DMBP_ERR_IO (the message
 * names the path and the system's reason), DMBP_ERR_NOMEM.
 */
#ifndef DMBP_RENDER_H
#define DMBP_RENDER_H

#include "dmbp.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef DMBP_RENDER_H_DECLS
#define DMBP_RENDER_H_DECLS

/* ------------------------------------------------------------------ */
/* Rendering                                                          */
/* ------------------------------------------------------------------ */

/* Default min_side: maps of small inputs (28 x 28) are upscaled to at
 * least the size of an ImageNet crop, so that they can be looked at. */
#define DMBP_RENDER_MIN_SIDE 224
/* Upscaling never makes a side (of a mappings panel, for
 * dmbp_render_mappings) longer than this; a map that is already larger
 * is written at its own size. */
#define DMBP_RENDER_MAX_SIDE 4096
/* Largest height or width of a map accepted (as for dmbp_image_load_png):
 * beyond it a size is a mistake, not a picture. */
#define DMBP_RENDER_MAX_INPUT_SIDE (1 << 14)
/* White columns (in output pixels) between the two panels of
 * dmbp_render_mappings. */
#define DMBP_RENDER_GAP 8

typedef struct dmbp_render_options {
    /* Nearest-neighbour upscaling by the integer factor
     * ceil(min_side / min(height, width)) when that is > 1, reduced so
     * that no side exceeds DMBP_RENDER_MAX_SIDE (never below 1).
     * Default DMBP_RENDER_MIN_SIDE; 0 = no upscaling; must be >= 0. */
    int min_side;
    /* Heatmap opacity over the background, in [0, 1]; default 0.7. */
    float alpha;
    /* Clipping percentile, in (0, 100]; default 99.99. */
    double percentile;
} dmbp_render_options;

/* Fill the defaults. Accepts NULL. */
DMBP_API void dmbp_render_options_init(dmbp_render_options *o);

/* Signed attribution over an image, written to path as an 8-bit RGB PNG.
 *
 * a_pos and a_neg are channels x height x width (channels 1 or 3); for a
 * single signed map pass the same array twice. With every percentile
 * numpy.percentile's (linear interpolation, over the height * width
 * values of one map):
 *   pos = mean_c max(a_pos, 0),  neg = mean_c max(-a_neg, 0);
 *   each clipped at its own o->percentile percentile;
 *   both divided by their joint maximum (if that is 0, the map is all 0);
 *   map = pos - neg, in [-1, 1];
 *   colour = "seismic": -1 (0,0,0.3), -0.5 (0,0,1), 0 (1,1,1),
 *            +0.5 (1,0,0), +1 (0.5,0,0), linear between;
 *   out = alpha * colour + (1 - alpha) * background, rounded to 8 bits.
 * background has the map's height and width, 1 (replicated to RGB) or 3
 * channels, values in [0, 1] (values outside are clamped): the image as
 * the model saw it, resized and cropped but not normalised. The output is
 * upscaled as o->min_side says. o may be NULL for the defaults. Nothing
 * is kept; the caller owns every argument. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_render_signed(const float *a_pos, const float *a_neg, int channels,
                   int height, int width, const dmbp_image *background,
                   const dmbp_render_options *o, const char *path);

/* A non-negative height x width map (Grad-CAM, |gradient|) over an image:
 * clipped at its o->percentile percentile, divided by its maximum (all 0
 * if that is 0) and coloured with the positive half of the signed
 * colormap, 0 (1,1,1), 0.5 (1,0,0), 1 (0.5,0,0), linear between: a
 * sequential map of monotonically decreasing lightness whose colours mean
 * what they mean in dmbp_render_signed, so that a Grad-CAM and the
 * positive evidence of DMBP can be compared side by side, and where
 * unimportant regions leave the image visible (faded) rather than black.
 * Negative values are clamped to 0 first. Blending, background and
 * upscaling as dmbp_render_signed. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_render_sequential(const float *map, int height, int width,
                       const dmbp_image *background,
                       const dmbp_render_options *o, const char *path);

/* Mappings W+ and W- (each channels x height x width, channels 1 or 3)
 * as an 8-bit RGB PNG: W+ on the left, -W- on the right, separated by
 * DMBP_RENDER_GAP white columns. Both panels together are clipped to
 * [-p, p], p the o->percentile percentile of |value| over the values of
 * W+ and -W-, then min-max scaled jointly to [0, 1] (a constant result is
 * shown as 0); channels are shown as R, G, B, gray replicated. Each panel
 * is upscaled as o->min_side says; there is no background, and o->alpha
 * is not used (but must still be valid). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_render_mappings(const float *w_pos, const float *w_neg, int channels,
                     int height, int width, const dmbp_render_options *o,
                     const char *path);

/* A float32 array as a NumPy .npy file (format version 1.0, '<f4', C
 * order) of shape dims[0..ndim), ndim in [0, DMBP_MAX_DIMS] (0: a
 * scalar, one element), every dims[i] >= 0. data may be NULL only when
 * the shape holds no element. Values are written as they are (NaN
 * included). */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_write_npy(const char *path,
                                                   const float *data,
                                                   const int64_t *dims,
                                                   int ndim);

#endif /* DMBP_RENDER_H_DECLS */

#ifdef __cplusplus
}
#endif

#endif /* DMBP_RENDER_H */
