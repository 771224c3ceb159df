/* dmbp eval: what its files share (src/cli/eval*.c). */
#ifndef DMBP_CLI_EVAL_H
#define DMBP_CLI_EVAL_H

#include "cli.h"

/* The metrics of one image and method, in this order everywhere (table,
 * CSV columns, JSON keys). NAN where a metric does not apply. */
enum {
    EV_DELETION,    /* deletion AUC, lower is better                     */
    EV_INSERTION,   /* insertion AUC, higher is better                   */
    EV_NEG5,        /* target logit rise after removing the 5 % ...      */
    EV_NEG10,       /* ... 10 % and ...                                  */
    EV_NEG20,       /* ... 20 % most negative pixels; higher is better   */
    EV_AOPC,        /* AOPC, higher is better                            */
    EV_RAND,        /* randomisation: mean Spearman over stages, lower   */
    /* --ground-truth only (dmbp_eval_truth), all higher is better: */
    EV_POS_MASS,    /* relevance mass accuracy of the positive map       */
    EV_NEG_MASS,    /* ... of the negative map (signed maps only)        */
    EV_POS_RANK,    /* relevance rank accuracy                           */
    EV_NEG_RANK,
    EV_POS_POINT,   /* pointing game                                     */
    EV_NEG_POINT,
    EV_METRICS
};
/* The first ground-truth metric: without --ground-truth the reports stop
 * before it. */
#define EV_GT_FIRST EV_POS_MASS

typedef struct ev_metric_info {
    const char *key;     /* CSV column and JSON key */
    const char *title;   /* table heading */
    int better;          /* +1 higher is better, -1 lower */
} ev_metric_info;

extern const ev_metric_info ev_metric[EV_METRICS];

/* Fractions of the pixels removed for the negative-evidence metrics. */
#define EV_NEG_FRACTIONS {0.05, 0.10, 0.20}

/* ---- images (eval_images.c) ------------------------------------------ */

/* The selected images, preprocessed for the model. */
typedef struct ev_images {
    int n;
    char **names;       /* a PNG's path, or "PATH#INDEX" for IDX       */
    int *index;         /* position in the source (offset included)   */
    int c, h, w;
    float *x;           /* n x c x h x w, as the model takes them      */
    uint8_t *truth;     /* n x h x w DMBP_TRUTH_* (--ground-truth), or
                           NULL                                         */
} ev_images;

/* "NAME.truth.png" for "NAME.png": the ground truth beside an image. */
#define EV_TRUTH_SUFFIX ".truth.png"

/* --images SPEC: "idx:PATH" (an IDX3 file of unsigned bytes, gzipped or
 * not: values / 255 as gray images), a directory (its *.png, sorted by
 * name; .png, .jpg and .jpeg files) or a file listing image paths, one
 * per line (read with cli_load_image and the flags f). With
 * f->ground_truth, each PNG's NAME.truth.png too, through the same resize
 * and crop. Images offset ..
 * offset + count - 1 (count 0: all to the end), each through
 * dmbp_image_preprocess with pre. On failure a message is printed and the
 * exit status returned; free out with ev_images_free either way. */
int ev_images_load(const char *spec, int offset, int count,
                   const dmbp_preprocess_options *pre, const cli_flags *f,
                   ev_images *out);
void ev_images_free(ev_images *im);

/* ---- the run (helpers in eval_out.c) ----------------------------------- */

typedef struct ev_stat {
    double mean, se; /* se NAN when n < 2; both NAN when n == 0 */
    int n;
} ev_stat;

/* Mean and standard error of the finite values among v[0..n) (stride
 * apart). */
ev_stat ev_stats(const double *v, int n, int stride);

typedef struct ev_method {
    dmbp_method method;
    bool has_negative;        /* signed map: negative evidence measured */
    double *v;                /* n x EV_METRICS                         */
    int *target;              /* n                                      */
    float *prob;              /* n                                      */
    double *secs;             /* n x 3: each image's share of the times */
    double *del_curve, *ins_curve;  /* points: the mean over images     */
    float *del_img, *ins_img, *aopc_img; /* per image: its curves, summed
                                            in image order afterwards     */
    double *aopc_curve;       /* aopc_points: the mean                  */
    double *rho;              /* rand_images x stages                   */
    double t_explain, t_metrics, t_rand;   /* seconds, summed           */
} ev_method;

typedef struct ev_run {
    const char *model_path;
    const char *images_spec;
    const dmbp_model *model;
    dmbp_session *metrics;  /* the metrics' plans, for every image */
    const ev_images *images;
    int n, offset;
    int target;               /* --target, or -1: each image's top class */
    const cli_names *labels;  /* --labels, or empty: the model's        */
    bool ground_truth;        /* --ground-truth: the EV_GT_FIRST.. metrics */
    dmbp_eval_options eo;
    int points;               /* deletion / insertion curve points      */
    int aopc_points;          /* regions + 1 (fewer if fewer tiles)     */
    int rand_images, stages;  /* randomisation                          */
    char **layer_names;       /* stages, top layer first (malloc'ed)    */
    int n_methods;
    ev_method *m;
    int against;              /* index in m, or -1                      */
    char dmbp_settings[256];  /* DMBP's options, for the reports        */
    double seconds;           /* the whole run                          */
} ev_run;

/* "zero", "blur" or "mean". */
const char *ev_substrate_name(dmbp_substrate s);

/* The metrics reported: EV_METRICS with --ground-truth, else
 * EV_GT_FIRST. */
int ev_num_metrics(const ev_run *r);

/* Fraction of the pixels removed/inserted at curve point i. */
double ev_curve_x(const ev_run *r, int i);

/* Per-image paired differences m - against for metric k into d (n). */
void ev_paired(const ev_run *r, int method, int k, double *d);

/* ---- output (eval_out.c, eval_plot.c) ---------------------------------- */

/* Write path through a temporary file beside it, renamed over it once
 * written; a message is printed and EXIT_IO returned on failure. */
int ev_write_atomic(const char *path, void (*write)(FILE *, const ev_run *),
                    const ev_run *r);

void ev_print_table(FILE *f, const ev_run *r);
void ev_write_csv(FILE *f, const ev_run *r);
void ev_write_json(FILE *f, const ev_run *r);
void ev_write_markdown(FILE *f, const ev_run *r);
void ev_write_svg(FILE *f, const ev_run *r);

#endif
