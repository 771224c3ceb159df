/*
 * dmbp_render.h - libdmbp: drawing maps as PNG pictures and writing arrays as
 * .npy files. Includes dmbp.h.
 */
#ifndef DMBP_RENDER_H
#define DMBP_RENDER_H

#include <dmbp.h>
#include <stdio.h>

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
    /* Fields added in 0.3 (a struct_size of 0.2 gets their defaults). */
    /* Non-zero: the background keeps its colours. Default 0: it is drawn
     * in grey, 0.299 R + 0.587 G + 0.114 B (as dmbp_image_preprocess
     * converts to gray), so that a red or blue photograph cannot read as
     * evidence under a red/blue map. */
    int keep_colour;
    /* Which part of a signed map the picture shows: DMBP_RENDER_BOTH
     * (default), DMBP_RENDER_POSITIVE (a_pos alone) or
     * DMBP_RENDER_NEGATIVE (a_neg alone). The scale is still that of both
     * parts, so that the two one-part pictures of a map share it, and the
     * colour bar shows only the part's sign (0 to s, or -s to 0).
     * Non-negative maps take DMBP_RENDER_BOTH only. */
    int part;
    /* A line of text drawn in a white strip above the picture (NULL or ""
     * default: none): letters (upper case shown), digits, space and
     * . , : ; - + = _ ( ) / %; other characters are left blank; what does
     * not fit in the picture's width is cut (letters are drawn as
     * capitals). At most
     * DMBP_RENDER_CAPTION_MAX bytes. Read, not kept. */
    const char *caption;
} dmbp_render_options;

#define DMBP_RENDER_BOTH 0
#define DMBP_RENDER_POSITIVE 1
#define DMBP_RENDER_NEGATIVE 2
#define DMBP_RENDER_CAPTION_MAX 256

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
 *   map = pos - neg, in [-1, 1] (o->part DMBP_RENDER_POSITIVE: pos
 *   alone, DMBP_RENDER_NEGATIVE: -neg alone, on the same scale);
 *   colour = "seismic": -1 (0,0,0.3), -0.5 (0,0,1), 0 (1,1,1),
 *            +0.5 (1,0,0), +1 (0.5,0,0), linear between;
 *   out = alpha * colour + (1 - alpha) * background, rounded to 8 bits,
 *   the background in grey unless o->keep_colour.
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
/* An attribution array as dmbp_write_npy wrote it for dmbp_explain's
 * outputs (0.3): little-endian float32 in C order, C x H x W (one map) or
 * 5 x C x H x W (DMBP's W+, W-, A+, A-, N), C 1 or 3, H and W at most
 * DMBP_IMAGE_MAX_SIDE, nothing after the data. *ndim (3 or 4), dims[0..
 * *ndim) and *data (malloc'ed: free() it) on success. DMBP_ERR_IO when
 * the file cannot be opened, DMBP_ERR_FORMAT (naming the file and what
 * is wrong) for anything else, DMBP_ERR_NONFINITE for NaN or infinity. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_read_attribution_npy(const char *path, int *ndim, int64_t *dims,
                          float **data);
/* size bytes of data at path, written as every writer here writes (whole
 * or not at all), for a program's other files (0.3): its JSON, its
 * reports. data may be NULL when size is 0. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_write_file(const char *path,
                                                    const void *data,
                                                    size_t size);

/* ------------------------------------------------------------------ */
/* An HTML report of pictures (0.3)                                   */
/* ------------------------------------------------------------------ */

/* One picture of a report: its row (the image), its column (the method),
 * the PNG file and a line under it (class, F values; NULL: none). */
typedef struct dmbp_report_cell {
    const char *image;
    const char *method;
    const char *picture;  /* NULL: an empty cell */
    const char *caption;
} dmbp_report_cell;

typedef struct dmbp_report_options {
    size_t struct_size;   /* sizeof, set by the _init macro: leave it   */
    const char *title;    /* NULL (default): "dmbp report"              */
    /* A Markdown file whose tables are shown as HTML tables (dmbp eval's
     * report), and an SVG file embedded after them (eval's curves); NULL
     * (default): none. */
    const char *tables;
    const char *plot;
    /* Largest file embedded, in bytes; default 64 MiB. */
    int64_t max_file_bytes;
} dmbp_report_options;

DMBP_API void dmbp_report_options_init_sized(dmbp_report_options *o,
                                             size_t struct_size);
#define dmbp_report_options_init(o)                                         \
    dmbp_report_options_init_sized((o), sizeof *(o))

/* Write path as one self-contained HTML page (nothing is loaded from
 * anywhere else): a table with one row per image and one column per
 * method, in the order they first appear in cells, each picture embedded
 * as a data: URI with its caption (the last cell given for a pair wins),
 * then o's tables and plot. Written whole or not at all, as the pictures.
 * DMBP_ERR_IO (a file that cannot be read or written), DMBP_ERR_FORMAT (a
 * picture that is not a PNG, a file over max_file_bytes), DMBP_ERR_ARG. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_report_write(
    const char *path, const dmbp_report_cell *cells, int n,
    const dmbp_report_options *o);



/* DMBP's learned masks of image `image` of r as one JSON line:
 * {"image": image_name, "target": T, "layers": [{"name": ..., "channels":
 * C, "m_pos": [C values], "m_neg": [C values]}, ...]}, values with 9
 * significant digits (a float exactly). DMBP_ERR_ARG for a result without
 * masks (another method) or an image out of range; DMBP_ERR_IO when f
 * reports a write error. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_result_write_masks_json(const dmbp_result *r, int image,
                             const char *image_name, FILE *f);
/* The same line as the file path (0.3), whole or not at all
 * (dmbp_write_file): dmbp_result_write_masks_json's errors, then the
 * file's (DMBP_ERR_IO naming path). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_result_write_masks_file(const dmbp_result *r, int image,
                             const char *image_name, const char *path);
/* The k largest masks of mask layer `layer` of image `image` (set 0: m+,
 * 1: m-), largest first, ties to the lower channel: their channels into
 * idx. Returns how many (k, or the layer's channels when fewer), -1 for
 * bad arguments. */
DMBP_API int dmbp_result_top_masks(const dmbp_result *r, int image,
                                   int layer, int set, int k, int *idx);

/* ------------------------------------------------------------------ */
/* The files `dmbp explain` writes for one image (0.3)                */
/* ------------------------------------------------------------------ */

/* One image's files, in the order they are written, named from a prefix
 * P (dmbp_output_path): P.png, the map over the picture; DMBP only:
 * P-pos.png and P-neg.png (one part each, on the scale of both) and
 * P-mappings.png (W+ and W-); P.npy, the arrays (DMBP: 5 x C x H x W,
 * W+, W-, A+, A-, N; else the map, C x H x W); and, when asked for,
 * DMBP's masks as JSON (dmbp_result_write_masks_json) at o->masks. */
typedef enum dmbp_output {
    DMBP_OUTPUT_PNG,
    DMBP_OUTPUT_POS,
    DMBP_OUTPUT_NEG,
    DMBP_OUTPUT_MAPPINGS,
    DMBP_OUTPUT_NPY,
    DMBP_OUTPUT_MASKS,
    DMBP_OUTPUT_COUNT
} dmbp_output;

typedef struct dmbp_output_options {
    size_t struct_size; /* sizeof, set by the _init macro: leave it   */
    /* How the pictures are drawn; NULL (default): the defaults. Its part
     * and caption are the call's own (see caption). Read, not kept. */
    const dmbp_render_options *render;
    /* Non-zero: the pictures of the map (P.png, P-pos.png, P-neg.png)
     * carry a caption line: "LABEL (T) METHOD" or "class T METHOD", then
     * DMBP's totals "F+ x F- y Fn z" (the sums of A+, A- and N) or a
     * signed map's "sum x". Default 0. */
    int caption;
    /* The target's label, for the caption and the JSON; NULL (default):
     * none. */
    const char *label;
    /* DMBP: also the masks as JSON at this path; NULL (default): none.
     * Another method with masks set is DMBP_ERR_ARG. */
    const char *masks;
    /* The image's name in the masks JSON; NULL (default): "". */
    const char *image_name;
} dmbp_output_options;

DMBP_API void dmbp_output_options_init_sized(dmbp_output_options *o,
                                             size_t struct_size);
#define dmbp_output_options_init(o)                                         \
    dmbp_output_options_init_sized((o), sizeof *(o))

/* The line dmbp explain prints for image `image` of r (0.3), without its
 * newline: "NAME: class T (LABEL) logit L p=P -> PATH" (label NULL: "-"),
 * with details also IG's completeness gap, DMBP's F+, F- and Fn, and the
 * warning of a near-zero map (dmbp masks prints it without them). And
 * each mask layer's top masks of m+ and m- as dmbp masks prints them
 * (dmbp_result_top_masks): "LAYER (C channels)", then "  m+  CH:VALUE
 * ..." and "  m-  ...". DMBP_ERR_ARG for bad arguments, DMBP_ERR_IO when
 * f reports a write error. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_result_write_line(const dmbp_result *r, int image, const char *name,
                       const char *label, const char *path, int details,
                       FILE *f);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_result_write_top_masks(const dmbp_result *r, int image, int top,
                            FILE *f);

/* dmbp explain's progress line (0.3), for a terminal: start it with the
 * call's method, its first image in a run of total images (an image set
 * explains one image per call) and the images of the call (call), then
 * pass dmbp_progress_explain as dmbp_explain_options.progress and p as
 * progress_user. It redraws "dmbp: image 3 of 9  iteration 10/40  loss
 * 0.52  ETA 0:07" (the method's steps, samples, patches, channels or
 * masks, or the images done) in place at most ten times a second, with
 * '\r' and spaces only; dmbp_progress_clear erases it. out NULL: nothing
 * drawn. The t0, last and width fields are the library's. */
typedef struct dmbp_progress {
    FILE *out;
    dmbp_method method;
    int first, call, total;
    double t0, last;
    int width;
} dmbp_progress;
DMBP_API void dmbp_progress_start(dmbp_progress *p, FILE *out,
                                  dmbp_method method, int first, int call,
                                  int total);
DMBP_API int dmbp_progress_explain(void *p, int first_image, int n_images,
                                   int iteration, int iterations,
                                   double loss);
DMBP_API void dmbp_progress_clear(dmbp_progress *p);

/* dmbp explain's names (0.3), malloc'ed (free() them; NULL when out of
 * memory): an image's stem (its base name without .png, .jpg or .jpeg in
 * any case; "stdin" for "-"); the output prefix of image i of n: prefix
 * itself for one image, PREFIX-<NN>-<stem> for several (NN from 1, at
 * least two digits, as many as n needs), else dir/<stem>-<method> (dir
 * NULL: <stem>-<method>); and the masks file of image i of n: file for
 * one image, else with "-<i+1>" before a final ".json" (or appended). */
DMBP_API char *dmbp_output_stem(const char *image);
DMBP_API char *dmbp_output_prefix(const char *dir, const char *prefix,
                                  const char *image, int i, int n,
                                  dmbp_method method);
DMBP_API char *dmbp_output_masks_path(const char *file, int i, int n);

/* The name of output k in JSON ("png", "pos", "neg", "mappings", "npy",
 * "masks"), NULL for k out of range. */
DMBP_API const char *dmbp_output_kind(int k);
/* Output k's path for the files of prefix as a method writes them, into
 * buf (cap bytes, NUL-terminated, cut if short). Returns the path's
 * length (as snprintf: compare with cap), or 0 when the method does not
 * write output k (o NULL: the defaults; DMBP_OUTPUT_MASKS is o->masks). */
DMBP_API size_t dmbp_output_path(dmbp_method method, const char *prefix,
                                 const dmbp_output_options *o, int k,
                                 char *buf, size_t cap);

/* Draw the pictures of one image's arrays, as `dmbp explain` and `dmbp
 * render` draw them, to prefix's P.png (and DMBP's P-pos.png, P-neg.png,
 * P-mappings.png): arrays in the layout of P.npy (above), channels x
 * height x width each, drawn on the picture as loaded (original, before
 * dmbp_image_preprocess with pre) with dmbp_render_signed_original, or
 * for a non-negative map (is_signed 0) dmbp_render_sequential_original of
 * its channels' mean. target is the class for the caption. Failures as
 * the renderers'. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_render_pictures(
    dmbp_method method, int is_signed, int target, const float *arrays,
    int channels, int height, int width, const dmbp_image *original,
    const dmbp_preprocess_options *pre, const char *prefix,
    const dmbp_output_options *o);

/* Every file of image `image` of r (explained from original, before
 * dmbp_image_preprocess with pre) at prefix, each written whole or not
 * at all, in the order of dmbp_output; the first failure stops the call
 * (files written before it stay). json (NULL: none) then receives the
 * image's result as JSON object members without braces, what `dmbp
 * explain --json` prints after "image" and records in its manifest:
 * "method", "target", "label", "logit", "prob", "near_zero": true when
 * dmbp_result_near_zero, "F" (the map's sum; not DMBP), "outputs" (kind:
 * path) and "scalars" (name: value), numbers with 9 significant digits.
 * DMBP_ERR_ARG for bad arguments, else the renderers' failures. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_result_write_outputs(
    const dmbp_result *r, int image, const dmbp_image *original,
    const dmbp_preprocess_options *pre, const char *prefix,
    const dmbp_output_options *o, FILE *json);

/* The scale (dmbp_render_scale) of image's map as dmbp_result_write_outputs
 * draws it with render options ro (NULL: the defaults), so that a caller
 * can draw several images on one scale (the largest, as ro->scale). */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_result_render_scale(
    const dmbp_result *r, int image, const dmbp_render_options *ro,
    double *scale);
/* The largest of those scales over r's images (0.3): one scale for all
 * (ro->scale, as dmbp explain --shared-scale draws); 0 when every map is
 * zero. scale may point at ro->scale. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_result_shared_scale(
    const dmbp_result *r, const dmbp_render_options *ro, double *scale);

/* DIR/index.html (dmbp_report_write) from the image sets in dir and its
 * subdirectories, in name order: each manifest.jsonl's "ok" records whose
 * first output is a PNG become cells (the input's name without its
 * extension, the record's "method", the picture found where the record
 * says or beside the manifest, a caption "LABEL (T) logit L F ..."), and
 * the first eval.md and eval.svg found become the tables and the plot,
 * unless o says otherwise (NULL: the defaults; title "dmbp report: DIR").
 * *pictures (may be NULL): the cells written. DMBP_ERR_IO when dir cannot
 * be read or holds neither a set nor an eval report; then
 * dmbp_report_write's errors. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_report_write_dir(
    const char *dir, const dmbp_report_options *o, int *pictures);

/* Images 0 .. n-1 classified in batches, as `dmbp predict` runs them
 * (0.3): the logits of image i come from the batch holding it, else from
 * a new batch from i: up to batch images of i's size, each made by load,
 * ended early by one of another size or one whose load fails (kept for
 * its own call, so that each image is loaded once), through one forward
 * call of a plan for that size (made again when the size changes). */
typedef struct dmbp_classifier dmbp_classifier;
typedef struct dmbp_classifier_options {
    size_t struct_size; /* sizeof, set by the _init macro: leave it       */
    int batch;          /* images per forward call; default 8 (at most n)  */
    size_t max_memory;  /* the plans' budget (dmbp_plan_options)          */
    /* Image index preprocessed (dmbp_image_preprocess) into *x, which
     * the classifier frees; a failure's status and message are that
     * image's, returned by its dmbp_classifier_logits. Required. */
    dmbp_status (*load)(void *user, int index, dmbp_image *x);
    void *user;
} dmbp_classifier_options;
DMBP_API void dmbp_classifier_options_init_sized(dmbp_classifier_options *o,
                                                 size_t struct_size);
#define dmbp_classifier_options_init(o)                                     \
    dmbp_classifier_options_init_sized((o), sizeof *(o))
/* m must outlive the classifier. DMBP_ERR_ARG for n < 1, no load, batch
 * < 1. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_classifier_create(const dmbp_model *m, int n,
                       const dmbp_classifier_options *o,
                       dmbp_classifier **out);
/* *logits: image index's dmbp_model_num_classes logits, valid until the
 * next call; its load's error, or DMBP_ERR_SHAPE when the model takes
 * another number of channels, or the plan's and the forward pass's. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_classifier_logits(dmbp_classifier *c, int index, const float **logits);
DMBP_API void dmbp_classifier_free(dmbp_classifier *c);

/* The softmax of logits (k classes) into prob, and order[0..top) the
 * classes by logit, the largest first, ties to the lower index (0.3). */
DMBP_API void dmbp_rank_classes(const float *logits, int k, int top,
                                float *prob, int *order);
/* What `dmbp predict` prints for one image (0.3): its name and its top
 * classes (top at most k) with their labels (labels as dmbp_class_label)
 * and probabilities, as text, or with json one JSON line that also holds
 * every logit. DMBP_ERR_IO when f reports a write error. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_write_prediction(FILE *f, int json, const char *image,
                      const float *logits, int k, int top,
                      const dmbp_model *m, const char *const *labels,
                      int n_labels);

/* A comma-separated list of method names (dmbp_method_from_name), as
 * `dmbp eval --methods` takes it (0.3): into out (room for
 * DMBP_NUM_METHODS), *n of them. DMBP_ERR_ARG for an empty name, an
 * unknown one (the message lists them all) or one listed twice, each
 * message starting with what (NULL: "methods"). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_method_list_parse(const char *list, const char *what, dmbp_method *out,
                       int *n);

/* What `dmbp info` prints about m, on out: name (the model's path as
 * shown), producer, opset, input and output, parameters, op counts, the
 * preprocessing defaults, labels and metadata; with layers, every node's
 * name, op and output shape for one preprocessed image and its DMBP mask
 * site (a reverse plan is made: its failures are dmbp_plan_create's).
 * Text, or with json one JSON object and a newline. DMBP_ERR_IO when out
 * reports a write error. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_model_describe(const dmbp_model *m,
                                                        const char *name,
                                                        int layers, int json,
                                                        FILE *out);

#ifdef __cplusplus
}
#endif

#endif /* DMBP_RENDER_H */
