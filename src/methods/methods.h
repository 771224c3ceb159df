/* Shared by explain.c and the methods (one file each). */
#ifndef DMBP_METHODS_H
#define DMBP_METHODS_H

#include "model/model.h"
#include "plan/plan.h"

struct dmbp_result {
    dmbp_method method;
    const char *method_name;    /* dmbp_method_name(method) */
    int n;                      /* images */
    int *target;
    float *logit, *prob;
    dmbp_shape ashape;          /* one array: C x H x W */
    int n_arrays;
    const char *const *array_names;
    float *arrays;              /* n x n_arrays x numel(ashape) */
    int signed_map;
    int n_scalars;
    const char *const *scalar_names;
    double *scalars;            /* n x n_scalars */
    /* DMBP */
    int n_mask_layers;
    char **ml_names;
    int *ml_channels;
    int64_t *ml_offset;
    int64_t n_masks;
    float *masks;               /* n x 2 x n_masks */
    int n_iters;
    float *loss;                /* n x n_iters */
};

typedef struct dmbp__explain_ctx {
    const dmbp_model *m;
    const float *x;             /* n x C x H x W */
    int n, c, h, w;
    const dmbp_explain_options *o;
    const dmbp_preprocess_options *pre; /* o->preprocess read in full */
    const float *const *over;   /* weight overrides (randomisation) */
    dmbp__plan_cache *cache;     /* the session's plans, or NULL: each
                                   plan freed after use */
} dmbp__explain_ctx;

/* A plan of `lanes` images of the context's size. */
dmbp_status dmbp__explain_plan(const dmbp__explain_ctx *c, int lanes,
                               bool reverse, dmbp_plan **out);
/* The same, keeping every value's gradient after backward (else the arena
 * reuses the bytes of those not needed later). */
dmbp_status dmbp__explain_plan_keep(const dmbp__explain_ctx *c, int lanes,
                                    dmbp_plan **out);
/* Give back a plan of dmbp__explain_plan(_keep): freed unless it is the
 * session's. */
void dmbp__explain_plan_done(const dmbp__explain_ctx *c, dmbp_plan *p);
/* dmbp_explain with some weights replaced (over, see
 * dmbp__plan_create_with; NULL: none) and the plans of cache (NULL: made
 * and freed in the call). */
dmbp_status dmbp__explain_cached(const dmbp_model *m,
                                 const float *const *over,
                                 dmbp__plan_cache *cache, const float *x,
                                 int n, int channels, int height, int width,
                                 const int *targets,
                                 const dmbp_explain_options *o,
                                 dmbp_result **out);
/* DMBP_ERR_SHAPE (with its message) when m declares a channel count other
 * than the preprocessed images' c (explain_images.c). */
dmbp_status dmbp__check_channels(const dmbp_model *m, int c);

/* dmbp_explain with some weights replaced (see dmbp__plan_create_with). */
dmbp_status dmbp__explain_with(const dmbp_model *m, const float *const *over,
                               const float *x, int n, int channels,
                               int height, int width, const int *targets,
                               const dmbp_explain_options *o,
                               dmbp_result **out);
dmbp_status dmbp__result_alloc(dmbp_result *r, int n_arrays,
                               const char *const *names, int channels,
                               int h, int w, int n_scalars,
                               const char *const *scalar_names);
float *dmbp__result_array(dmbp_result *r, int image, int k);
/* The Gaussian of the blur baseline (ig.c), also the metrics' blur
 * substrate: kernel 11 (radius 5), sigma 5, weights normalised, separable
 * (rows then columns, in double, the row pass stored as float in tmp, h*w
 * floats), edges clamped. */
void dmbp__blur(const float *x, int c, int h, int w, float *out, float *tmp);

/* Seeds with e_target in each lane's row of the logits. */
void dmbp__one_hot(float *seed, int lanes, int classes, const int *targets);

/* The documented noise generator (SmoothGrad, DMBP's smoothed variant):
 * splitmix64 seeded with seed + image index, uniforms in (0, 1], standard
 * normals by Box-Muller in pairs (z0 then z1). */
typedef struct dmbp__rng {
    uint64_t state;
    double spare;
    bool has_spare;
} dmbp__rng;
void dmbp__rng_init(dmbp__rng *r, uint64_t seed);
double dmbp__rng_normal(dmbp__rng *r);
/* eps = (float)(z * sigma * (max x - min x)) for count values. */
void dmbp__noise(dmbp__rng *r, const float *x, int64_t count, float sigma,
                 float *eps);

/* Read value v's activation (diff = 0) or its backward diff (diff = 1)
 * into out as plain row-major floats. */
dmbp_status dmbp__plan_read(dmbp_plan *p, int v, int diff, float *out);

/* A plan of up to `want` lanes (want >= least >= 1), as many as fit in
 * the memory budget (max_memory when the caller set it, else
 * DMBP__IG_MEMORY_PERCENT of the physical memory): a plan of `least` lanes
 * measures what a lane costs (its arena grows with the lanes; weights and
 * scratchpad do not) and is kept if no more fit. Give it back with
 * dmbp__explain_plan_done. */
dmbp_status dmbp__budget_plan(const dmbp__explain_ctx *c, int least, int want,
                              bool reverse, dmbp_plan **out);

/* The explain options' progress callback, when set: done of total units
 * of images first .. first + n - 1 (dmbp_explain_options.progress). */
void dmbp__progress(const dmbp__explain_ctx *c, int first, int n, int done,
                    int total);

/* A uniform double in (0, 1] from the generator (53 random bits). */
double dmbp__rng_uniform(dmbp__rng *r);

/* The baseline b of image x (ig.c): zero, black (normalised) or blurred
 * (dmbp__blur; tmp: h*w floats). */
void dmbp__baseline(const dmbp__explain_ctx *c, dmbp_baseline b,
                    const float *x, float *x0, float *tmp);

/* The CAM layer's value (gradcam.c): the node or value named `name`, by
 * default the last feature-map layer or the activation right after it. */
dmbp_status dmbp__cam_layer(const dmbp_model *m, const char *name, int *out);
/* The CAM layer v's channels and size in plan p (made with
 * dmbp__explain_plan_keep); DMBP_ERR_ARG unless a 4-D activation that the
 * logits depend on. */
dmbp_status dmbp__cam_shape(const dmbp_model *m, dmbp_plan *p, int v, int *K,
                            int *h, int *w);
/* Occlusion's window and stride for an h x w input (occlusion.c). */
void dmbp__occlusion_geometry(int h, int w, const dmbp_occlusion_options *o,
                              int *window, int *stride);
/* Bilinear upsampling of an h x w map to H x W as
 * torch.nn.functional.interpolate (align_corners false). */
void dmbp__upsample(const float *in, int h, int w, float *out, int H, int W);

dmbp_status dmbp__method_gradient(const dmbp__explain_ctx *c, dmbp_result *r);
dmbp_status dmbp__method_ig(const dmbp__explain_ctx *c, dmbp_result *r);
dmbp_status dmbp__method_smoothgrad(const dmbp__explain_ctx *c,
                                    dmbp_result *r);
dmbp_status dmbp__method_gradcam(const dmbp__explain_ctx *c, dmbp_result *r);
dmbp_status dmbp__method_dmbp(const dmbp__explain_ctx *c, dmbp_result *r);
dmbp_status dmbp__method_occlusion(const dmbp__explain_ctx *c, dmbp_result *r);
dmbp_status dmbp__method_scorecam(const dmbp__explain_ctx *c, dmbp_result *r);
dmbp_status dmbp__method_rise(const dmbp__explain_ctx *c, dmbp_result *r);
dmbp_status dmbp__method_lrp(const dmbp__explain_ctx *c, dmbp_result *r);
/* LRP's options (lrp.c): DMBP_ERR_ARG or DMBP_ERR_NONFINITE naming the
 * bad one. */
dmbp_status dmbp__lrp_check(const dmbp_lrp_options *o);

#endif
