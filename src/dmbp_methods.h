/* dmbp_methods.h: the attribution methods and their options.
 *
 * Part of dmbp.h, which includes it at this point; include <dmbp.h>, not
 * this file (it uses dmbp.h's types and macros and has no meaning alone).
 * It is a file of its own so that each public header stays short enough
 * to read; the split changes no declaration. */
#ifndef DMBP_PUBLIC_METHODS_H
#define DMBP_PUBLIC_METHODS_H
#ifndef DMBP_H
#error "include <dmbp.h>, which includes dmbp_methods.h"
#endif

/* ------------------------------------------------------------------ */
/* Attribution methods                                                */
/* ------------------------------------------------------------------ */

typedef enum dmbp_method {
    DMBP_METHOD_SALIENCY = 0, /* gradient of the target logit            */
    DMBP_METHOD_GXI,          /* gradient x input                        */
    DMBP_METHOD_IG,           /* integrated gradients                    */
    DMBP_METHOD_SMOOTHGRAD,   /* SmoothGrad (of gradient x input)        */
    DMBP_METHOD_GUIDED,       /* guided backpropagation                  */
    DMBP_METHOD_GRADCAM,      /* Grad-CAM                                */
    DMBP_METHOD_DMBP,         /* disentangled masked backpropagation     */
    DMBP_METHOD_OCCLUSION,    /* occlusion (a sliding patch)             */
    DMBP_METHOD_GRADCAMPP,    /* Grad-CAM++                              */
    DMBP_METHOD_SCORECAM,     /* Score-CAM                               */
    DMBP_METHOD_RISE,         /* RISE (random masks)                     */
    DMBP_METHOD_LRP           /* layer-wise relevance propagation        */
} dmbp_method;
#define DMBP_NUM_METHODS 12 /* the methods of this header: 0 to 11 */
/* "saliency", "gxi", "ig", "smoothgrad", "guided", "gradcam", "dmbp",
 * "occlusion", "gradcam++" (also read: "gradcampp"), "scorecam", "rise",
 * "lrp". */
DMBP_API const char *dmbp_method_name(dmbp_method m);
DMBP_API DMBP_NODISCARD dmbp_status dmbp_method_from_name(const char *name,
                                                          dmbp_method *out);

typedef enum dmbp_baseline {
    DMBP_BASELINE_ZERO = 0, /* the all-zero model input (the mean colour) */
    DMBP_BASELINE_BLACK,    /* a black image, normalised (needs mean/std) */
    DMBP_BASELINE_BLUR      /* the input blurred (Gaussian, sigma 5)      */
} dmbp_baseline;

typedef enum dmbp_ig_rule {
    DMBP_IG_MIDPOINT = 0, /* Captum's riemann_middle   */
    DMBP_IG_TRAPEZOID,    /* Captum's riemann_trapezoid */
    DMBP_IG_LEFT,         /* Captum's riemann_left      */
    DMBP_IG_RIGHT         /* Captum's riemann_right     */
} dmbp_ig_rule;

/* Progress of a long method. DMBP: called after each iteration with the
 * group of images optimised together and their mean loss; non-zero stops
 * that group early (its results hold the masks reached so far, its
 * "iterations" scalar how many ran; later groups still run). RISE: after
 * each batch of masks, iteration = masks done of N, loss NaN; non-zero
 * stops that image, its map from the masks done. */
typedef int (*dmbp_progress_fn)(void *user, int first_image, int n_images,
                                int iteration, int iterations, double loss);

/* Each method's settings, in a struct of its own inside
 * dmbp_explain_options (which holds one of each, so that a program can
 * switch methods without losing settings); a method reads only its own.
 * These nested structs are part of the explain options' layout and never
 * change: settings added to a method later come as a new struct at the
 * end of dmbp_explain_options. */
typedef struct dmbp_saliency_options {
    int abs;                 /* 1: max over channels of |gradient|        */
} dmbp_saliency_options;

typedef struct dmbp_ig_options {
    int steps;               /* default 32                                */
    dmbp_baseline baseline;  /* default DMBP_BASELINE_ZERO                */
    dmbp_ig_rule rule;       /* default DMBP_IG_MIDPOINT                  */
} dmbp_ig_options;

typedef struct dmbp_smoothgrad_options {
    int samples;             /* default 16                                */
    float sigma;             /* noise sd as a fraction of max(x)-min(x);
                                default 0.15                              */
    uint64_t seed;           /* default 0                                 */
    int of_gradient;         /* 1: SmoothGrad of the plain gradient; 0
                                (default): of gradient x input            */
} dmbp_smoothgrad_options;

typedef struct dmbp_gradcam_options { /* also Grad-CAM++'s, Score-CAM's */
    const char *layer;       /* node or value name; NULL (default): the
                                last Conv, or its activation's output     */
} dmbp_gradcam_options;

/* How DMBP's mask logits start (dmbp-method.md sections 3 and 7). */
typedef enum dmbp_mask_init {
    DMBP_MASK_INIT_CONSTANT = 0, /* theta = init_logit for every mask     */
    DMBP_MASK_INIT_CONTRIBUTION  /* theta+ = +init_logit where the filter's
                                    signed contribution along the copies
                                    is > 0, else -init_logit; theta-
                                    mirrored (< 0)                        */
} dmbp_mask_init;

/* DMBP (dmbp-method.md sections 3 and 7). */
typedef struct dmbp_dmbp_options {
    int iterations;          /* default 200                               */
    float lr;                /* Adam learning rate, default 0.05          */
    float init_logit;        /* initial mask logit theta, default 2.0     */
    float w_completeness, w_sign, w_nuisance, w_evidence, w_sparsity;
                             /* default preset "dmbp": 10, 3, 1, 0, 0.01  */
    /* The smoothed variant: samples noisy copies per image (default 1,
     * no smoothing), noise sd sigma as a fraction of max(x)-min(x)
     * (default 0.1), drawn from seed (default 0). */
    int samples;
    float sigma;
    uint64_t seed;
    /* Convergence stop: an image stops when its loss changed by at most
     * tol (relative) over the last tol_window iterations,
     * |l[i] - l[i - tol_window]| <= tol |l[i - tol_window]|; its
     * "iterations" scalar then says how many ran and its loss curve is 0
     * after that. tol 0 (default): always the full iterations. tol_window
     * 0: the default, 10. */
    float tol;
    int tol_window;
    /* Called after each iteration (see dmbp_progress_fn); NULL: none. */
    dmbp_progress_fn progress;
    void *progress_user;
    /* Path DMBP (dmbp-method.md section 7). 0: the masked passes run at x
     * (the classic formulation, or the smoothed one with samples > 1).
     * K > 0: they run at the K midpoints a_k = (k + 1/2)/K of the straight
     * path from the zero input to x, each copy with its own gates, all
     * sharing m+ and m-; the loss is taken on the aggregate maps
     * A+- = mean_k W+-_k (.) x, A1 = mean_k W1_k (.) x (integrated
     * gradients with K midpoint steps), and the results are those
     * aggregates. Cannot be combined with samples > 1. Lanes: 2 K per
     * image. Default: the preset's. */
    int path_steps;
    dmbp_mask_init mask_init; /* default: the preset's                   */
} dmbp_dmbp_options;

/* Occlusion: a window x window patch (all channels) set to the baseline
 * slides with the stride, the last one flush with the border; map (1 x H x
 * W, signed) = mean over the patches on a pixel of f_t(x) - f_t(x patched),
 * f_t the target's logit. Patches are lanes. */
typedef struct dmbp_occlusion_options {
    int window;  /* 0 (default): round(min(H, W) / DMBP_OCCLUSION_SCALE),
                    at least 2 (8 at 224)                                 */
    int stride;  /* 0 (default): window / 2, at least 1                   */
    dmbp_baseline baseline; /* default DMBP_BASELINE_ZERO                */
} dmbp_occlusion_options;
#define DMBP_OCCLUSION_SCALE 28

/* RISE (Petsiuk et al. 2018): N masks of grid x grid cells kept with
 * probability p, upsampled and shifted at random (libdmbp(3)), the same
 * for every image; map (1 x H x W) = sum_i P_t(x . M_i) M_i / (N p), P_t
 * the target's softmax probability. Masks are lanes. */
typedef struct dmbp_rise_options {
    int masks;               /* N, default 4000                           */
    int grid;                /* default 7                                 */
    float p;                 /* in (0, 1], default 0.5                    */
    uint64_t seed;           /* default 0                                 */
    dmbp_progress_fn progress; void *progress_user; /* NULL: none */
} dmbp_rise_options;

/* LRP (libdmbp(3), "Layer-wise relevance propagation"): relevance
 * propagated from R = f_t(x) e_t at the logits down to the input through
 * each op's rule (dmbp_lrp_rule in dmbp_plugin.h); rules per layer by
 * composite, with Zennit's names. "First" is the first layer with
 * weights; "conv" a convolution; "dense" another layer with weights (Gemm,
 * MatMul) and a BatchNormalization that follows no convolution:
 *  - EPSILON:             epsilon everywhere
 *  - EPSILON_PLUS:        zplus on conv, epsilon on dense
 *  - EPSILON_PLUS_FLAT:   as EPSILON_PLUS, flat on the first layer
 *  - EPSILON_GAMMA_BOX:   zbox on the first layer (bounds: the image's 0
 *                         and 1 after the preprocessing's mean and std),
 *                         gamma on conv, epsilon on dense
 *  - EPSILON_ALPHA2_BETA1: alpha 2, beta 1 on conv, epsilon on dense
 *  - EPSILON_ALPHA1_BETA0: alpha 1, beta 0 on conv, epsilon on dense (not
 *                         one of Zennit's)
 * Activations pass relevance through, max pooling gives it to the input
 * it took, sums and average pooling split it in proportion to the inputs
 * (with the epsilon stabiliser), views route it. A model whose logits
 * depend on an op without a rule is refused (DMBP_ERR_UNSUPPORTED, the
 * message names the node and op). Result: the signed map "map" (C x H x
 * W, the input's relevance) and the scalar "conservation", the sum of
 * the map over f_t(x): 1 only where every rule conserves (epsilon -> 0
 * with no biases; biases, epsilon, zplus's dropped negative parts,
 * alpha-beta with alpha - beta = 1 only on balanced layers, flat and
 * zbox in general do not). */
typedef enum dmbp_lrp_composite {
    DMBP_LRP_COMPOSITE_EPSILON = 0,
    DMBP_LRP_COMPOSITE_EPSILON_PLUS,
    DMBP_LRP_COMPOSITE_EPSILON_PLUS_FLAT,
    DMBP_LRP_COMPOSITE_EPSILON_GAMMA_BOX,
    DMBP_LRP_COMPOSITE_EPSILON_ALPHA2_BETA1,
    DMBP_LRP_COMPOSITE_EPSILON_ALPHA1_BETA0
} dmbp_lrp_composite;
/* "epsilon", "epsilon-plus", "epsilon-plus-flat", "epsilon-gamma-box",
 * "epsilon-alpha2-beta1", "epsilon-alpha1-beta0". */
DMBP_API const char *dmbp_lrp_composite_name(dmbp_lrp_composite c);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_lrp_composite_from_name(const char *name, dmbp_lrp_composite *out);

typedef struct dmbp_lrp_options {
    dmbp_lrp_composite composite; /* default EPSILON_PLUS_FLAT           */
    float epsilon;           /* stabiliser, > 0, default 1e-6             */
    float gamma;             /* >= 0, default 0.25                        */
} dmbp_lrp_options;
#define DMBP_LRP_EPSILON_DEFAULT 1e-6f
#define DMBP_LRP_GAMMA_DEFAULT 0.25f

typedef struct dmbp_explain_options {
    size_t struct_size;      /* sizeof, set by the _init macro: leave it  */
    dmbp_method method;      /* default DMBP_METHOD_DMBP                 */
    /* The preprocessing the input went through: its mean and std make
     * IG's black baseline (a 1-channel input uses mean[0] and std[0]).
     * Read, not kept: it must stay valid during the call only. NULL
     * (default): dmbp_preprocess_options_init's (ImageNet's). */
    const dmbp_preprocess_options *preprocess;
    dmbp_fpmath fpmath;      /* default DMBP_FPMATH_STRICT                */
    size_t max_memory;       /* each plan's budget, as in
                                dmbp_plan_options (0: the default)        */
    /* Lanes of one plan, which bounds memory; default 32. Saliency, gxi,
     * guided and Grad-CAM run up to max_lanes images at once; IG and
     * SmoothGrad one image at a time with up to max_lanes of its steps or
     * samples (IG at least 2, and no more than fit in max_memory, or
     * without it 10 % of the physical memory), occlusion, Score-CAM and
     * RISE so with patches, channels, masks; DMBP as many images as fit
     * in max_lanes at 2 x samples lanes each (at least one image). */
    int max_lanes;
    dmbp_saliency_options saliency;
    dmbp_ig_options ig;
    dmbp_smoothgrad_options smoothgrad;
    dmbp_gradcam_options gradcam;
    dmbp_dmbp_options dmbp;
    dmbp_occlusion_options occlusion;
    dmbp_rise_options rise;
    /* Fields added in 0.3 (a struct_size of 0.2 gets their defaults). */
    /* Progress of every method, NULL (default): none. Called as
     * progress(user, first_image, n_images, done, total, NaN) after each
     * pass over a lane group: done of total units of the images
     * first_image .. first_image + n_images - 1, the units being IG's
     * steps, SmoothGrad's samples, occlusion's patches, Score-CAM's
     * channels (and its masked input), the images of saliency, gxi,
     * guided and the Grad-CAMs; DMBP and RISE call their own callback
     * (dmbp.progress, rise.progress) when it is set, else this one, with
     * their own meaning. Its return value is read by DMBP and RISE only
     * (see dmbp_progress_fn); the other methods always finish. */
    dmbp_progress_fn progress;
    void *progress_user;
    dmbp_lrp_options lrp;    /* added in 0.3 */
    /* Path DMBP's round robin (dmbp-method.md section 7; added in 0.3, a
     * DMBP option kept here so that the layouts before it stay): the
     * copies whose masked passes each iteration runs, 0 to 1024. 0
     * (presets "classic", "path") or >= K = dmbp.path_steps: all. R < K:
     * the copies form G = ceil(K / R) groups (copy k in group k mod G, n_g
     * <= R copies, each group its own plan of 2 n_g lanes per image);
     * iteration i runs group i mod G only, the loss is taken on the
     * aggregate of its new maps and the other groups' last ones, and its
     * mask gradient counts K / n_g times. The start and the results use
     * every copy. An iteration costs n_g copies instead of K. Read only
     * with path_steps > 0. */
    int dmbp_path_refresh;
    /* 1: DMBP's negative masks stay at their start (only the positive
     * set learns; with mask_init contribution the negative set is then
     * the contribution-sign choice of the filters that push the class
     * down, and the negative map keeps that amount). Its maps are then
     * computed once and each iteration runs the positive set's lanes
     * only: about half the cost. 0 (default): both sets learn. Added in
     * 0.3 after dmbp_path_refresh. */
    int dmbp_fix_negative;
} dmbp_explain_options;

/* Defaults as documented above (method DMBP, preset "dmbp"). */
DMBP_API void dmbp_explain_options_init_sized(dmbp_explain_options *o,
                                              size_t struct_size);
#define dmbp_explain_options_init(o)                                        \
    dmbp_explain_options_init_sized((o), sizeof *(o))

/* Set o->dmbp's formulation and loss weights to a preset's:
 *  - "classic" (dmbp-method.md section 3): masks at x, every logit
 *    starting at init_logit, 200 iterations; weights completeness 10,
 *    sign 3, nuisance 1, evidence 0, sparsity 0.01;
 *  - "path" (section 7): path_steps DMBP_PATH_STEPS, contribution-sign
 *    start, DMBP_PATH_ITERATIONS iterations, the classic weights;
 *  - "path-rr" (section 7, round robin): path_steps DMBP_RR_STEPS,
 *    dmbp_path_refresh DMBP_RR_REFRESH, DMBP_RR_ITERATIONS iterations,
 *    contribution-sign start, the classic weights;
 *  - "path-evidence": "path-rr" with dmbp_fix_negative 1 (the negative
 *    set stays at its contribution-sign start) and the evidence weight
 *    DMBP_PATH_EVIDENCE_WEIGHT (issue #23's study,
 *    bench/dmbp_study/ROUNDROBIN.md and VGG.md);
 *  - "evidence": the classic formulation with weights evidence 1,
 *    sign 0.3, sparsity 0.01, the others 0;
 *  - "dmbp": the default preset (DMBP_DEFAULT_PRESET).
 * Sets iterations, path_steps, mask_init, dmbp_path_refresh,
 * dmbp_fix_negative, the five weights; nothing else. A struct that ends
 * before dmbp_fix_negative (built against 0.2) gets the default preset's
 * dmbp_path_refresh and dmbp_fix_negative when its path_steps and
 * mask_init are the default preset's, else 0. */
#define DMBP_PATH_STEPS 4
#define DMBP_PATH_ITERATIONS 40
#define DMBP_RR_STEPS 8
#define DMBP_RR_REFRESH 1
#define DMBP_RR_ITERATIONS 180
#define DMBP_PATH_EVIDENCE_WEIGHT 1.f
#define DMBP_DEFAULT_PRESET "path-evidence"
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_explain_preset(dmbp_explain_options *o, const char *preset);

/* Whether o->method's maps, with o's settings, are signed (positive and
 * negative evidence: saliency without abs, gxi, IG, SmoothGrad, guided,
 * DMBP, occlusion) or non-negative (saliency with abs, the Grad-CAMs,
 * Score-CAM, RISE): what dmbp_result_signed will say of the result, known
 * before computing it (a program checks its colormap with it). o NULL:
 * the defaults'. */
DMBP_API int dmbp_explain_signed(const dmbp_explain_options *o);

/* Check o as dmbp_explain would, before any image: every setting, and,
 * when m is not NULL, the model's side of them (the CAM methods' layer).
 * What depends on the images' size (occlusion's window, RISE's grid) is
 * checked by dmbp_explain. DMBP_OK, or the status and message
 * dmbp_explain would give. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_explain_check(const dmbp_model *m, const dmbp_explain_options *o);

#endif /* DMBP_PUBLIC_METHODS_H */
