/*
 * dmbp_eval.h - libdmbp: faithfulness metrics, the randomisation check and
 * ground-truth scores of attribution maps. Includes dmbp.h.
 */
#ifndef DMBP_EVAL_H
#define DMBP_EVAL_H

#include <dmbp.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Faithfulness metrics                                               */
/* ------------------------------------------------------------------ */

/* What removed pixels become. */
typedef enum dmbp_substrate {
    DMBP_SUBSTRATE_ZERO = 0, /* 0 in normalised space (the dataset mean)  */
    DMBP_SUBSTRATE_BLUR,     /* the image blurred: Gaussian, kernel 11,
                                sigma 5 (RISE's insertion start)          */
    DMBP_SUBSTRATE_MEAN      /* the image's own per-channel mean          */
} dmbp_substrate;

typedef struct dmbp_eval_options {
    size_t struct_size; /* sizeof, set by the _init macro: leave it   */
    int steps;                  /* deletion/insertion steps; default 20   */
    int step_pixels;            /* > 0: pixels per step instead (RISE uses
                                   224); the last step takes the rest     */
    dmbp_substrate deletion_substrate;  /* default DMBP_SUBSTRATE_ZERO   */
    dmbp_substrate insertion_start;     /* default DMBP_SUBSTRATE_BLUR   */
    uint64_t seed;              /* tie-breaking permutation and AOPC noise;
                                   default 0                               */
    int region_size;            /* AOPC: square regions; default 9         */
    int regions;                /* AOPC: regions removed; default 20       */
    int max_lanes;              /* perturbed images per forward call;
                                   default 32                              */
} dmbp_eval_options;

DMBP_API void dmbp_eval_options_init_sized(dmbp_eval_options *o,
                                           size_t struct_size);
#define dmbp_eval_options_init(o)                                           \
    dmbp_eval_options_init_sized((o), sizeof *(o))
/* Option `name` of o by dmbp eval's name for it (its --NAME without the
 * dashes: "curve-steps", "step-pixels", "regions", "region-size",
 * "max-lanes", "seed", "substrate" zero|blur|mean, "insertion-start"
 * blur|zero|mean) and its value as text (0.3); the numbers are checked
 * where they are used. DMBP_ERR_ARG for an unknown name, a value that does
 * not read or an o not made by dmbp_eval_options_init. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_options_set(dmbp_eval_options *o, const char *name,
                      const char *value);

/* The score of every pixel (h x w) from an attribution of c x h x w:
 * mean over channels of the positive part (sign > 0) or of the negative
 * part's magnitude (sign < 0), or of the value itself for a non-negative
 * map (sign == 0). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_pixel_scores(const float *map, int c, int h, int w, int sign,
                       float *scores);

/* Deletion and insertion (Petsiuk et al., RISE): pixels ranked by score,
 * highest first (ties in a fixed seeded order); at step i the first
 * n_i pixels (all channels) are removed (deletion: replaced by the
 * substrate) or inserted (insertion: copied into the start image). The
 * curve (dmbp_eval_curve_points points: steps + 1, or with step_pixels
 * ceil(h w / step_pixels) + 1, from none to all) is the softmax
 * probability of the target; *auc the trapezoid area with the points
 * spaced evenly on [0, 1]. x is one preprocessed image c x h x w. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_deletion(dmbp_session *s, const float *x, int c, int h, int w,
                   int target, const float *scores,
                   const dmbp_eval_options *o, float *curve, double *auc);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_insertion(dmbp_session *s, const float *x, int c, int h, int w,
                    int target, const float *scores,
                    const dmbp_eval_options *o, float *curve, double *auc);
/* Number of points of those curves for o and an h x w image. */
DMBP_API int dmbp_eval_curve_points(const dmbp_eval_options *o, int h,
                                    int w);

/* Negative evidence: remove (deletion substrate) the pixels whose score is
 * highest (pass the negative part's scores, sign < 0) and report the rise
 * of the target logit after removing fractions[0..n) of the pixels. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_negative(dmbp_session *s, const float *x, int c, int h, int w,
                   int target, const float *scores, const double *fractions,
                   int n, const dmbp_eval_options *o, double *rise);

/* AOPC (Samek et al. 2017, region perturbation, most relevant first):
 * regions of region_size^2 pixels ranked by their summed score; the k-th
 * most relevant is replaced by uniform noise in [min x, max x] (seeded);
 * curve[k] = f_t(x) - f_t(x after k regions), k = 0..R with
 * R = min(regions, number of tiles) (allocate regions + 1 floats; entries
 * past R are not written); *aopc = mean of curve[0..R]. Regions are
 * non-overlapping tiles from the top-left corner (edge tiles smaller). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_aopc(dmbp_session *s, const float *x, int c, int h, int w,
               int target, const float *scores, const dmbp_eval_options *o,
               float *curve, double *aopc);
/* The points of dmbp_eval_aopc's curve for an h x w image under o: R + 1
 * with R = min(regions, tiles); 0 for options dmbp_eval_aopc refuses. */
DMBP_API int dmbp_eval_aopc_points(const dmbp_eval_options *o, int h, int w);

/* Spearman rank correlation of two arrays (average ranks for ties); NaN
 * for n < 2, NULL, NaN input or a constant array. */
DMBP_API double dmbp_spearman(const float *a, const float *b, int64_t n);

/* Model-randomisation sanity check (Adebayo et al. 2018), cascading from
 * the top: stage s re-draws the weights of the last s layers that have
 * weights (Conv, Gemm, MatMul; biases and BN folded in) with a seeded
 * normal of each layer's own standard deviation; for each stage the
 * Spearman correlation between |map| of the trained and of the
 * randomised model (per pixel scores, sign 0 of |map|) for method o;
 * for DMBP the map is its attribution, |A+| + |A-|.
 * rho has one entry per stage, stages = the number of such layers (see
 * dmbp_model_num_weight_layers); layer_names (may be NULL) get the name
 * of the layer randomised at each stage. */
DMBP_API int dmbp_model_num_weight_layers(const dmbp_model *m);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_randomization(dmbp_session *s, const float *x, int c, int h,
                        int w, int target, const dmbp_explain_options *o,
                        uint64_t seed, double *rho, const char **layer_names);

/* ------------------------------------------------------------------ */
/* Ground truth: where the evidence for and against the class is      */
/* ------------------------------------------------------------------ */

/* Values of a truth mask (h x w bytes, as models/make_evidence.py writes
 * NAME.truth.png): pixels of no evidence, of evidence for the explained
 * class and of evidence against it. */
#define DMBP_TRUTH_NEITHER 0
#define DMBP_TRUTH_FOR 1
#define DMBP_TRUTH_AGAINST 2
/* The name of an image's truth mask beside it: NAME.truth.png for
 * NAME.png. */
#define DMBP_TRUTH_SUFFIX ".truth.png"
/* The pointing game's tolerance in pixels at the model's input
 * resolution: TorchRay's 15 px at 224 x 224 scaled to 64 x 64 (4.3),
 * rounded down. */
#define DMBP_POINTING_TOLERANCE 4

/* The two evidence maps (h x w, non-negative) of a map of c x h x w:
 * the channels are summed, then pos = max(sum, 0) and neg = max(-sum, 0)
 * (neg may be NULL). For a non-negative map (Grad-CAM, |gradient|) pos is
 * the channel sum and neg is 0. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_truth_maps(const float *map, int c, int h, int w, float *pos,
                     float *neg);
/* The same for DMBP's two attributions: pos = sum over channels of
 * max(A+, 0), neg = sum over channels of max(-A-, 0). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_truth_maps_split(const float *a_pos, const float *a_neg, int c,
                           int h, int w, float *pos, float *neg);

typedef struct dmbp_truth_scores {
    size_t struct_size; /* sizeof, set by dmbp_truth_scores_init: the
                           library writes only the fields it covers */
    /* Relevance mass accuracy: the share of the map's total inside the
     * mask; 0 for a map that is 0 everywhere (it found nothing). */
    double mass_accuracy;
    /* Relevance rank accuracy: the share of the |mask| highest-scoring
     * pixels that lie inside the mask. Pixels tied at the last place
     * count by the chance that a random order of the ties picks them;
     * pixels of score 0 are never among the highest. */
    double rank_accuracy;
    /* Pointing game: 1 if the map's maximum (the first in row-major order)
     * lies within the tolerance (Euclidean distance, pixels) of a mask
     * pixel, else 0; 0 for a map that is 0 everywhere. */
    double pointing;
} dmbp_truth_scores;

/* Sets every score to NaN. */
DMBP_API void dmbp_truth_scores_init_sized(dmbp_truth_scores *s,
                                           size_t struct_size);
#define dmbp_truth_scores_init(s)                                           \
    dmbp_truth_scores_init_sized((s), sizeof *(s))

/* Scores of one evidence map (h x w, every value >= 0 and finite) against
 * the mask {truth == value}. All three are NaN when the mask is empty
 * (there is nothing to find). Errors: DMBP_ERR_ARG (NULL, sizes, a
 * negative evidence value, value outside 0..255, tolerance < 0),
 * DMBP_ERR_NONFINITE, DMBP_ERR_NOMEM. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_truth(const float *evidence, const uint8_t *truth, int h, int w,
                int value, int tolerance, dmbp_truth_scores *out);

/* The truth mask of an image, read from path (an 8-bit gray PNG holding
 * only DMBP_TRUTH_NEITHER, _FOR and _AGAINST, of the image's size
 * image_w x image_h as loaded) and brought to the model's input grid by
 * the image's own preprocessing pre (its resize and crop; normalisation is
 * not applied): each class is a 0/1 picture resampled alone, and an output
 * pixel keeps a class where at least half of it was that class. out: h x w
 * bytes, the grid pre gives the image. Errors name path: DMBP_ERR_IO,
 * DMBP_ERR_FORMAT (not a gray PNG, another value; a 16-bit PNG's value is
 * named as the file has it), DMBP_ERR_SHAPE (another size than the image,
 * or than h x w after preprocessing), DMBP_ERR_ARG, DMBP_ERR_NOMEM. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_truth_load(const char *path, int image_h, int image_w,
                     const dmbp_preprocess_options *pre, int h, int w,
                     uint8_t *out);

/* An image set's images as an evaluation takes them (added in 0.3):
 * images first .. first + n - 1 of s (n 0: to the end), each read
 * (load: NULL for the defaults; a file must be a regular file) and
 * preprocessed by pre, all to one size, with their true classes
 * (dmbp_image_set_true_class, -1 unknown; one >= classes is
 * DMBP_ERR_FORMAT) and, with ground_truth, each NAME.png's
 * NAME.truth.png brought to the input grid (dmbp_eval_truth_load). Errors
 * name the image or truth file; an idx: set with ground_truth and bad
 * ranges are DMBP_ERR_ARG. Free with dmbp_eval_images_free. */
typedef struct dmbp_eval_images {
    int n;            /* images                                       */
    int c, h, w;      /* the size each was preprocessed to            */
    char **names;     /* n: the set's names                           */
    int *index;       /* n: the position in the set                   */
    float *x;         /* n x c x h x w: dmbp_eval_run_compute's x     */
    uint8_t *truth;   /* n x h x w DMBP_TRUTH_* values, or NULL       */
    int *true_class;  /* n: a class, or -1                            */
} dmbp_eval_images;
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_images_load(const dmbp_image_set *s, int first, int n, int classes,
                      const dmbp_image_load_options *load,
                      const dmbp_preprocess_options *pre, int ground_truth,
                      dmbp_eval_images **out);
DMBP_API void dmbp_eval_images_free(dmbp_eval_images *im);

/* ------------------------------------------------------------------ */
/* Evaluations: methods over a set of images, and their reports       */
/* ------------------------------------------------------------------ */

/* The numbers of one image and method, in this order everywhere (the
 * table, the CSV's columns, the JSON's keys); NaN where one does not
 * apply (negative evidence of an unsigned map, an image without truth). */
typedef enum dmbp_eval_metric {
    DMBP_EVAL_DELETION = 0, /* deletion AUC, lower is better              */
    DMBP_EVAL_INSERTION,    /* insertion AUC, higher is better            */
    DMBP_EVAL_NEG5,         /* target logit rise after removing the 5 %,  */
    DMBP_EVAL_NEG10,        /* 10 % and                                   */
    DMBP_EVAL_NEG20,        /* 20 % most negative pixels; higher is better */
    DMBP_EVAL_AOPC,         /* AOPC, higher is better                     */
    DMBP_EVAL_RAND,         /* randomisation: mean Spearman over stages   */
    DMBP_EVAL_POS_MASS,     /* ground truth (higher is better): mass,     */
    DMBP_EVAL_NEG_MASS,     /* rank accuracy and the pointing game of the */
    DMBP_EVAL_POS_RANK,     /* positive and of the negative evidence      */
    DMBP_EVAL_NEG_RANK,
    DMBP_EVAL_POS_POINT,
    DMBP_EVAL_NEG_POINT,
    DMBP_EVAL_NUM_METRICS
} dmbp_eval_metric;
/* The first ground-truth metric: without ground truth the reports stop
 * before it. */
#define DMBP_EVAL_TRUTH_FIRST DMBP_EVAL_POS_MASS
/* The fractions of dmbp_eval_negative in DMBP_EVAL_NEG5.. */
#define DMBP_EVAL_NEG_FRACTIONS {0.05, 0.10, 0.20}
/* A metric's key ("deletion_auc", ...: the CSV column), or NULL. */
DMBP_API const char *dmbp_eval_metric_name(int metric);

/* What every image is explained for (dmbp_eval_run_options.target): its
 * top class, or its true class (dmbp_eval_run_set_image). */
#define DMBP_EVAL_TARGET_TOP (-1)
#define DMBP_EVAL_TARGET_TRUE (-2)

typedef struct dmbp_eval_run_options {
    size_t struct_size; /* sizeof, set by the _init macro: leave it       */
    const dmbp_eval_options *metrics; /* NULL: dmbp_eval_options_init's;
                                         read, not kept                  */
    int randomization_images;  /* the first images checked; default 8   */
    int ground_truth;          /* 1: the DMBP_EVAL_TRUTH_FIRST.. metrics
                                  (masks given to dmbp_eval_run_compute)  */
    uint64_t seed;             /* the methods' seeds (image i gets seed + i
                                  whatever its window) and the check's;
                                  default 0                               */
    int target;                /* a class, DMBP_EVAL_TARGET_TOP (default)
                                  or DMBP_EVAL_TARGET_TRUE                 */
    /* For the reports only (copied; NULL: ""): the model's and the image
     * set's names as the user gave them, and the set's first index. */
    const char *model_name, *images_name;
    int offset;
} dmbp_eval_run_options;

DMBP_API void dmbp_eval_run_options_init_sized(dmbp_eval_run_options *o,
                                               size_t struct_size);
#define dmbp_eval_run_options_init(o)                                       \
    dmbp_eval_run_options_init_sized((o), sizeof *(o))

/* n_images images of c x h x w (preprocessed for m, which must outlive
 * the run) evaluated for n_methods methods, each by its explain options
 * (methods[k]->method; copied, and every setting recorded in the JSON
 * report). The run computes with sessions of its own. */
typedef struct dmbp_eval_run dmbp_eval_run;
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_run_create(const dmbp_model *m, int n_images, int c, int h,
                     int w, const dmbp_explain_options *const *methods,
                     int n_methods, const dmbp_eval_run_options *o,
                     dmbp_eval_run **out);
DMBP_API void dmbp_eval_run_free(dmbp_eval_run *run);

/* Image i's name and index in its source, for the reports, and its true
 * class (-1: unknown), for DMBP_EVAL_TARGET_TRUE and the true-label
 * column. Class labels: the model's, or labels[0..n) when given
 * (copied). The paired differences against method k (-1: none). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_run_set_image(dmbp_eval_run *run, int i, const char *name,
                        int index, int true_class);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_run_set_labels(dmbp_eval_run *run, const char *const *labels,
                         int n);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_run_set_against(dmbp_eval_run *run, int k);

/* Images first .. first + n - 1 (x: their inputs, n x c x h x w; truth:
 * their DMBP_TRUTH_* masks, n x h x w, or NULL without ground truth) by
 * every method: each method explains them in one call, then every
 * metric, then the randomisation check of those among the first
 * randomization_images. Errors name the image (its name) at fault. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_run_compute(dmbp_eval_run *run, int first, int n, const float *x,
                      const uint8_t *truth);

/* Image i's numbers as JSON text, `"eval": [...]` (and for image 0 the
 * randomised layers, `, "layers": [...]`), to keep (an image set's
 * manifest) and read back by dmbp_eval_run_read_image, which takes them
 * from anywhere in text: DMBP_ERR_FORMAT when they are not numbers this
 * run could have written. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_run_write_image(const dmbp_eval_run *run, int i, FILE *f);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_run_read_image(dmbp_eval_run *run, int i, const char *text);

/* Every image's numbers are in: the mean curves and times; seconds is
 * the whole run's wall time, for the reports. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_run_finish(dmbp_eval_run *run, double seconds);

/* One number of the run: metric of image i by method k (NaN when it does
 * not apply or is not computed); the class it was explained for. */
DMBP_API double dmbp_eval_run_value(const dmbp_eval_run *run, int k, int i,
                                    int metric);
DMBP_API int dmbp_eval_run_target(const dmbp_eval_run *run, int k, int i);

/* The reports of a finished run. TABLE: the text table (mean and standard
 * error per method and metric, the randomisation per stage, paired
 * differences); CSV: one row per image and method (RFC 4180, CR LF);
 * JSON: the settings by name (the metrics', every method's, the library
 * version, the CPU, the date) and per method the means, curves and
 * paired differences; MARKDOWN: the tables for a paper or docs; SVG: the
 * mean deletion and insertion curves. */
typedef enum dmbp_eval_report {
    DMBP_EVAL_REPORT_TABLE = 0,
    DMBP_EVAL_REPORT_CSV,
    DMBP_EVAL_REPORT_JSON,
    DMBP_EVAL_REPORT_MARKDOWN,
    DMBP_EVAL_REPORT_SVG
} dmbp_eval_report;
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_run_write(const dmbp_eval_run *run, dmbp_eval_report format,
                    FILE *f);
/* The same report as a file at path (0.3), written whole or not at all
 * (dmbp_write_file): dmbp_eval_run_write's errors, then the file's
 * (DMBP_ERR_IO naming path). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_run_write_file(const dmbp_eval_run *run, dmbp_eval_report format,
                         const char *path);

#ifdef __cplusplus
}
#endif

#endif /* DMBP_EVAL_H */
