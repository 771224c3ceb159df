/*
 * dmbp_render.h - libdmbp: drawing maps as PNG pictures and writing arrays as
 * .npy files. Includes dmbp.h.
 */
#ifndef DMBP_RENDER_H
#define DMBP_RENDER_H

#include <dmbp.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Rendering maps to PNG, arrays to .npy                              */
/* ------------------------------------------------------------------ */

/* Display follows dmbp-method.md section 5. Every writer writes to a
 * temporary file beside `path` and renames it over `path` only once the
 * whole file is written: on any failure nothing at `path` is created or
 * changed and no temporary file is left. Failures: DMBP_ERR_ARG (NULL
 * pointers, sizes <= 0, channels not 1 or 3, a background of another size,
 * an option out of range), DMBP_ERR_NONFINITE (NaN or infinity in a map or
 * background; the message names which), DMBP_ERR_IO (the message names the
 * path and the system's reason), DMBP_ERR_NOMEM. */

/* Default min_side: maps of small inputs (28 x 28) are upscaled to at
 * least the size of an ImageNet crop, so that they can be looked at. */
#define DMBP_RENDER_MIN_SIDE 224
/* Upscaling never makes a side (of a mappings panel, for
 * dmbp_render_mappings) longer than this; a map that is already larger
 * is written at its own size. */
#define DMBP_RENDER_MAX_SIDE 4096
/* White columns (in output pixels) between the two panels of
 * dmbp_render_mappings. */
#define DMBP_RENDER_GAP 8

/* Colormaps of the rendered maps. */
typedef enum dmbp_colormap {
    DMBP_COLORMAP_DEFAULT = 0, /* seismic for signed maps, reds otherwise */
    DMBP_COLORMAP_SEISMIC,     /* diverging: dark blue, blue, white, red,
                                  dark red (matplotlib's "seismic")      */
    DMBP_COLORMAP_BWR,         /* diverging: blue, white, red ("bwr")     */
    DMBP_COLORMAP_REDS,        /* sequential: white, red, dark red (the
                                  positive half of seismic)              */
    DMBP_COLORMAP_INFERNO      /* sequential: matplotlib's "inferno",
                                  black to yellow (17 of its 256 entries,
                                  linear between)                        */
} dmbp_colormap;


typedef struct dmbp_render_options {
    size_t struct_size; /* sizeof, set by the _init macro: leave it   */
    /* Nearest-neighbour upscaling by the integer factor
     * ceil(min_side / min(height, width)) when that is > 1, reduced so
     * that no side exceeds DMBP_RENDER_MAX_SIDE (never below 1).
     * Default DMBP_RENDER_MIN_SIDE; 0 = no upscaling; must be >= 0.
     * For the _original renderings the picture's size counts. */
    int min_side;
    /* Heatmap opacity over the background, in [0, 1]; default 0.7. */
    float alpha;
    /* Clipping percentile, in (0, 100]; default 99.99. */
    double percentile;
    /* A dmbp_colormap; default DMBP_COLORMAP_DEFAULT. Signed maps need a
     * diverging one (SEISMIC, BWR), non-negative maps a sequential one
     * (REDS, INFERNO): another is DMBP_ERR_ARG. */
    int colormap;
    /* > 0: the value shown at full colour, instead of the map's own
     * scale (the parts are still clipped at their percentiles), so that
     * several maps share one scale (see dmbp_render_scale); larger values
     * saturate. Default 0 (per map); must be finite and >= 0. */
    double scale;
    /* Non-zero: a colour bar under the picture, labelled with the scale's
     * values (-s, 0, s for signed maps; 0, s/2, s otherwise). Default 0. */
    int colorbar;
    /* Non-zero: the coloured map alone, without the background (alpha is
     * then not used). Default 0. */
    int heatmap_only;
} dmbp_render_options;

/* Fill the defaults. */
DMBP_API void dmbp_render_options_init_sized(dmbp_render_options *o,
                                             size_t struct_size);
#define dmbp_render_options_init(o)                                         \
    dmbp_render_options_init_sized((o), sizeof *(o))

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

/* As dmbp_render_signed and dmbp_render_sequential, drawn on the user's
 * original picture at its own size: original is the image as loaded
 * (before dmbp_image_preprocess with pre), the map is at the model's input
 * resolution (pre's crop) and is mapped back through the crop and resize
 * with dmbp_map_to_original. Pixels outside the crop show the picture
 * dimmed to DMBP_RENDER_DIM of its brightness, without heatmap (with
 * heatmap_only: grey 1 - DMBP_RENDER_DIM). Upscaled as o->min_side says
 * when the picture itself is small. DMBP_ERR_SHAPE when the map's size is
 * not what pre gives for the original's size. */
#define DMBP_RENDER_DIM 0.35
DMBP_API DMBP_NODISCARD dmbp_status dmbp_render_signed_original(
    const float *a_pos, const float *a_neg, int channels, int height,
    int width, const dmbp_image *original,
    const dmbp_preprocess_options *pre, const dmbp_render_options *o,
    const char *path);
DMBP_API DMBP_NODISCARD dmbp_status dmbp_render_sequential_original(
    const float *map, int height, int width, const dmbp_image *original,
    const dmbp_preprocess_options *pre, const dmbp_render_options *o,
    const char *path);

/* The scale a rendering with o would use for this map when o->scale is 0
 * (o->scale itself is ignored): the larger of the two parts' percentile
 * clipped maxima for a signed map (a_pos, a_neg as dmbp_render_signed),
 * or the clipped maximum of a non-negative map (a_neg NULL). Take the
 * largest over several maps and pass it as o->scale to render them on
 * one scale. 0 for an all-zero map. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_render_scale(
    const float *a_pos, const float *a_neg, int channels, int height,
    int width, const dmbp_render_options *o, double *scale);

/* Map a height x width map at the model's input resolution back onto an
 * orig_height x orig_width original image preprocessed with pre (the
 * resize and centre crop of dmbp_image_preprocess): original pixel (x, y),
 * centre (x + 0.5, y + 0.5), lies at resized coordinate
 * (x + 0.5) * rw / orig_width (rw the resized width; likewise y), and the
 * map is sampled there, shifted by the crop offset, with bilinear
 * interpolation between pixel centres (clamped at the map's edges). out
 * (orig_height x orig_width) is 0 outside the crop; inside (same size,
 * may be NULL) is 1 inside the crop, 0 outside. DMBP_ERR_SHAPE when the
 * map's size is not pre's crop of that original. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_map_to_original(
    const float *map, int height, int width,
    const dmbp_preprocess_options *pre, int orig_height, int orig_width,
    float *out, unsigned char *inside);

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



#ifdef __cplusplus
}
#endif

#endif /* DMBP_RENDER_H */
