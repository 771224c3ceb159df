/* Argument checks shared by the map functions (metrics.c,
 * groundtruth.c). */
#ifndef DMBP__EVAL_H
#define DMBP__EVAL_H

#include "base.h"

/* ---- argument checks of the map functions (metrics.c) ------------------- */

/* A c x h x w map: every size >= 1, at most 2^30 values (DMBP_ERR_ARG
 * naming fn). */
dmbp_status dmbp__check_map_sizes(const char *fn, int c, int h, int w);
/* Every v[0..n) finite (DMBP_ERR_NONFINITE naming fn, what and the index). */
dmbp_status dmbp__check_finite(const char *fn, const char *what,
                               const float *v, int64_t n);

/* The first layout of dmbp_eval_options with struct_size (0.2.0) ends at
 * max_lanes (metrics.c, options_set.c). */
#define EVAL_OPTIONS_MIN DMBP__END(dmbp_eval_options, max_lanes)

/* ---- evaluations (evalrun.c, evalimage.c, report.c, report_svg.c) ---- */

typedef struct dmbp__ev_method {
    dmbp_explain_options o;   /* preprocess: &pre                       */
    dmbp_preprocess_options pre; /* a copy of the caller's              */
    char *layer;              /* o.gradcam.layer's copy                 */
    bool has_negative;        /* signed map: negative evidence measured */
    double *v;                /* n x DMBP_EVAL_NUM_METRICS              */
    int *target;              /* n                                      */
    float *prob;              /* n                                      */
    double *secs;             /* n x 3: each image's share of the times */
    double *del_curve, *ins_curve;  /* points: the mean over images     */
    float *del_img, *ins_img, *aopc_img; /* per image: its curves       */
    double *aopc_curve;       /* aopc_points: the mean                  */
    double *rho;              /* rand_images x stages                   */
    double t_explain, t_metrics, t_rand;   /* seconds, summed           */
} dmbp__ev_method;

struct dmbp_eval_run {
    const dmbp_model *model;
    dmbp_session *metrics;    /* the metrics' plans, for every image     */
    int n, c, h, w;
    dmbp_eval_run_options o;  /* o.metrics points at eo                  */
    dmbp_eval_options eo;
    char *model_name, *images_name;
    char **names;             /* n: each image's name                    */
    int *index, *truth_cls;   /* n: index in its source, true class or -1 */
    char **labels;            /* n_labels, or none: the model's          */
    int n_labels;
    int points, aopc_points;  /* curve points                            */
    int rand_images, stages;  /* randomisation                           */
    char **layer_names;       /* stages, top layer first                 */
    const char **lnames;      /* stages: the check's answer (scratch)    */
    float *pos, *neg;         /* pixel scores, h x w (scratch)           */
    int n_methods;
    dmbp__ev_method *m;
    int against;              /* index in m, or -1                       */
    double seconds;           /* the whole run                           */
    bool finished;            /* dmbp_eval_run_finish called             */
    long long finished_at;    /* when: seconds since the epoch           */
};

/* Seconds on a monotonic clock. */
double dmbp__now(void);
/* Class cls's label (the run's labels, else the model's), or NULL. */
const char *dmbp__ev_label(const dmbp_eval_run *r, int cls);
/* The JSON and SVG reports (report_json.c, report_svg.c). */
void dmbp__ev_write_json(FILE *f, const dmbp_eval_run *r);
void dmbp__ev_write_svg(FILE *f, const dmbp_eval_run *r);
/* The statistics of the reports (report_stats.c). The metrics reported:
 * all with ground truth, else those before DMBP_EVAL_TRUTH_FIRST.
 * "zero", "blur" or "mean". */
int dmbp__ev_num_metrics(const dmbp_eval_run *r);
const char *dmbp__ev_substrate_name(dmbp_substrate s);

/* Mean and standard error of the finite values among v[0..n) (stride
 * apart); se NAN when n < 2, both NAN when n == 0. */
typedef struct dmbp__ev_stat {
    double mean, se;
    int n;
} dmbp__ev_stat;
dmbp__ev_stat dmbp__ev_stats(const double *v, int n, int stride);
/* Fraction of the pixels removed/inserted at curve point i. */
double dmbp__ev_curve_x(const dmbp_eval_run *r, int i);
/* Metric k of method m over the images; its paired differences to the
 * run's against; the randomisation's rho at a stage. */
dmbp__ev_stat dmbp__ev_metric_stat(const dmbp_eval_run *r, int m, int k);
dmbp__ev_stat dmbp__ev_paired_stat(const dmbp_eval_run *r, int m, int k);
dmbp__ev_stat dmbp__ev_rho_stat(const dmbp_eval_run *r, int m, int stage);

#endif /* DMBP__EVAL_H */
