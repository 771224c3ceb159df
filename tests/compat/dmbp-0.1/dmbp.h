/*
 * dmbp.h - libdmbp: attribution maps for ONNX image classifiers on the CPU.
 *
 * A walkthrough that compiles (error checks shortened):
 *
 *   #include <dmbp.h>
 *   #include <stdio.h>
 *   int main(void) {
 *       dmbp_model *model; dmbp_plan *plan; dmbp_image img, x;
 *       dmbp_preprocess_options pre; dmbp_plan_options po;
 *       float logits[10];
 *       if (dmbp_model_load("models/fmnist_vgg.onnx", &model)) goto fail;
 *       dmbp_model_preprocess_defaults(model, &pre);     // from the model
 *       if (dmbp_image_load("models/samples/ankle_boot.png", NULL, &img))
 *           goto fail;
 *       if (dmbp_image_preprocess(&img, &pre, &x)) goto fail; // CxHxW floats
 *       dmbp_plan_options_init(&po);                      // batch 1
 *       po.height = x.height; po.width = x.width;
 *       if (dmbp_plan_create(model, &po, &plan)) goto fail;
 *       if (dmbp_plan_forward(plan, x.data, logits)) goto fail;
 *       printf("class 0 logit %g\n", logits[0]);
 *       dmbp_plan_free(plan); dmbp_image_free(&x); dmbp_image_free(&img);
 *       dmbp_model_free(model);
 *       return 0;
 *   fail:
 *       fprintf(stderr, "%s\n", dmbp_last_error());
 *       return 1;
 *   }
 *
 * Conventions.
 *  - Every fallible call returns a dmbp_status (DMBP_OK == 0); the detail
 *    of the last failure on the calling thread is in dmbp_last_error().
 *  - Handles are opaque and come in create/free pairs; every *_free
 *    accepts NULL.
 *  - Options structs have an *_init function filling the defaults; set the
 *    fields you care about after calling it, so that fields added later
 *    never break your code.
 *  - Thread safety: a dmbp_model is read-only after loading and may be
 *    shared by any number of threads; a dmbp_plan and a dmbp_explainer
 *    are used by one thread at a time; dmbp_op_register must not race
 *    with model loading.
 *  - Tensors cross the API as plain row-major float32 arrays (NCHW for
 *    images), owned by the caller unless a function says otherwise.
 */
#ifndef DMBP_H
#define DMBP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(DMBP_BUILDING_LIBRARY) && defined(__GNUC__)
#define DMBP_API __attribute__((visibility("default")))
#else
#define DMBP_API
#endif

#if defined(__GNUC__) && !defined(__cplusplus)
#define DMBP_NODISCARD __attribute__((warn_unused_result))
#else
#define DMBP_NODISCARD
#endif

/* ------------------------------------------------------------------ */
/* Status and errors                                                  */
/* ------------------------------------------------------------------ */

typedef enum dmbp_status {
    DMBP_OK = 0,
    DMBP_ERR_ARG = 1,         /* invalid argument or option value        */
    DMBP_ERR_IO = 2,          /* a file could not be opened/read/written */
    DMBP_ERR_FORMAT = 3,      /* corrupt or truncated ONNX, not a PNG    */
    DMBP_ERR_UNSUPPORTED = 4, /* op, attribute or data type not handled  */
    DMBP_ERR_SHAPE = 5,       /* sizes do not fit together               */
    DMBP_ERR_NONFINITE = 6,   /* NaN or infinity where numbers must be   */
    DMBP_ERR_NOMEM = 7,       /* allocation failed                       */
    DMBP_ERR_BACKEND = 8,     /* oneDNN refused or failed                */
    DMBP_ERR_INTERNAL = 9     /* a bug in libdmbp: please report it      */
} dmbp_status;

/* Name of a status ("DMBP_ERR_FORMAT"); never NULL. */
DMBP_API const char *dmbp_status_str(dmbp_status s);

/* Human detail of the last failure on this thread, e.g.
 * "model.onnx: node 'conv1' (Conv, opset 13): group 3 does not divide 64
 * output channels". Not cleared by successful calls; at most 1023 bytes.
 * Valid until the next failing call on this thread; never NULL. */
DMBP_API const char *dmbp_last_error(void);

/* Library version, "MAJOR.MINOR.PATCH". */
DMBP_API const char *dmbp_version(void);

/* Threads that oneDNN's primitives and the library's own OpenMP loops use
 * from now on, in every thread that calls the library: n >= 1, or 0 for
 * the default (OMP_NUM_THREADS, else every core the process may run on).
 * DMBP_ERR_ARG for n < 0. Plans made before the call keep the thread
 * count they were made with for oneDNN's primitives. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_set_num_threads(int n);
/* The thread count the next call will use (the default resolved). */
DMBP_API int dmbp_get_num_threads(void);

/* ------------------------------------------------------------------ */
/* Shapes                                                             */
/* ------------------------------------------------------------------ */

#define DMBP_MAX_DIMS 8

typedef struct dmbp_shape {
    int ndim;                      /* 0 for a scalar                 */
    int64_t dims[DMBP_MAX_DIMS];   /* dims[0] is the batch for images */
} dmbp_shape;

/* Number of elements (1 for a scalar); -1 when a dimension is negative or
 * the product exceeds 2^40 elements (the library's limit for any tensor,
 * so shapes from dmbp_plan_* calls never give -1). */
DMBP_API int64_t dmbp_shape_numel(const dmbp_shape *s);

/* ------------------------------------------------------------------ */
/* Models                                                             */
/* ------------------------------------------------------------------ */

typedef struct dmbp_model dmbp_model;

/* Load an ONNX file. Weights stored as external data are read from files
 * beside it. The graph is checked (every op supported, shapes consistent,
 * weights finite) and simplified (Dropout/Identity removed,
 * BatchNormalization folded into the Conv before it when nothing else
 * reads that Conv's output).
 * On success *out owns everything; free it with dmbp_model_free. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_model_load(const char *path,
                                                    dmbp_model **out);

/* The same from bytes in memory. name is used in messages; base_dir is
 * where external-data files are looked for (NULL: none allowed). The
 * buffer is not kept. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_model_load_memory(const void *data, size_t size, const char *name,
                       const char *base_dir, dmbp_model **out);

DMBP_API void dmbp_model_free(dmbp_model *m);

/* The graph's single runtime input, as declared (dynamic dimensions,
 * e.g. a symbolic batch, are reported as 0). */
DMBP_API dmbp_shape dmbp_model_input_shape(const dmbp_model *m);
DMBP_API const char *dmbp_model_input_name(const dmbp_model *m);
/* The graph's output, and the number of classes (last dimension of the
 * logits: the output, or the input of a final Softmax). */
DMBP_API const char *dmbp_model_output_name(const dmbp_model *m);
DMBP_API int dmbp_model_num_classes(const dmbp_model *m);
/* 1 when the graph ends in a Softmax (its input is taken as the logits). */
DMBP_API int dmbp_model_has_softmax(const dmbp_model *m);
/* Opset of the default ONNX domain, and the producer ("pytorch 1.13"). */
DMBP_API int dmbp_model_opset(const dmbp_model *m);
DMBP_API const char *dmbp_model_producer(const dmbp_model *m);
/* Number of weights (float parameters) after simplification. */
DMBP_API int64_t dmbp_model_num_params(const dmbp_model *m);

/* Nodes after simplification, in execution order. */
DMBP_API int dmbp_model_num_nodes(const dmbp_model *m);
DMBP_API const char *dmbp_model_node_op(const dmbp_model *m, int i);
DMBP_API const char *dmbp_model_node_name(const dmbp_model *m, int i);
/* Node i's op traits (DMBP_OP_* bits, from the op table), 0 if i is out
 * of range. */
DMBP_API unsigned dmbp_model_node_traits(const dmbp_model *m, int i);

/* Model metadata (ONNX metadata_props), in file order. */
DMBP_API int dmbp_model_num_metadata(const dmbp_model *m);
DMBP_API void dmbp_model_metadata(const dmbp_model *m, int i,
                                  const char **key, const char **value);

/* Class label from the metadata key "dmbp.labels", or NULL. */
DMBP_API const char *dmbp_model_label(const dmbp_model *m, int cls);

/* ------------------------------------------------------------------ */
/* Images and preprocessing                                           */
/* ------------------------------------------------------------------ */

/* A planar float image: data[c*height*width + y*width + x].
 * Filled by the functions below, which allocate data; release it with
 * dmbp_image_free. A caller may also fill one by hand (then it owns
 * data and must not call dmbp_image_free on it). */
typedef struct dmbp_image {
    int channels; /* 1 (gray) or 3 (RGB) */
    int height;
    int width;
    float *data;
} dmbp_image;

/* Largest image side read or produced by resizing. */
#define DMBP_IMAGE_MAX_SIDE (1 << 14)
/* Default pixel budget of a decoded image: 8192 x 8192 (67 Mpx), room
 * for an 8K photograph (7680 x 4320, 33 Mpx) and for 48 Mpx phone
 * cameras. At 3 channels it costs 0.8 GB of floats. */
#define DMBP_IMAGE_DEFAULT_MAX_PIXELS ((int64_t)8192 * 8192)

typedef struct dmbp_image_load_options {
    /* Non-zero: apply the EXIF Orientation tag of a JPEG (as PIL's
     * ImageOps.exif_transpose); default 0, the pixels as stored, which is
     * what Image.open(path).convert("RGB") gives. */
    int exif_rotate;
    /* Largest width x height accepted, checked from the file's header
     * before any pixel is decoded (DMBP_ERR_SHAPE beyond it). Default
     * DMBP_IMAGE_DEFAULT_MAX_PIXELS; 0 = no budget (sides are still
     * limited to DMBP_IMAGE_MAX_SIDE); must be >= 0. */
    int64_t max_pixels;
} dmbp_image_load_options;

/* Fill the defaults. Accepts NULL. */
DMBP_API void dmbp_image_load_options_init(dmbp_image_load_options *o);

/* Read a PNG or JPEG image, the format recognised from the content (the
 * file's first bytes), not from the name. o may be NULL for the defaults.
 *
 * PNG: gray, gray+alpha, RGB, RGBA or palette, 1 to 16 bits per sample.
 * Alpha is dropped (16-bit images with alpha lose colour precision where
 * alpha is small: libpng returns them premultiplied); gamma and
 * colour-profile chunks are ignored; values are the stored ones scaled to
 * [0, 1].
 *
 * JPEG (libjpeg-turbo): baseline or progressive, 8 bits per sample, gray
 * (1 channel), YCbCr or RGB (3 channels), or CMYK / YCCK with an Adobe
 * marker (Adobe's inverted polarity), converted to RGB as PIL's
 * convert("RGB"). Decoded as PIL decodes by default (accurate integer
 * IDCT, fancy upsampling), so the values are PIL's bytes / 255 exactly.
 * ICC profiles are ignored (as PIL does).
 *
 * Failures: DMBP_ERR_IO (cannot read), DMBP_ERR_FORMAT (neither format,
 * truncated or corrupt data, a side above DMBP_IMAGE_MAX_SIDE, a 12-bit
 * JPEG, CMYK without an Adobe marker), DMBP_ERR_SHAPE
 * (more pixels than o->max_pixels), DMBP_ERR_ARG, DMBP_ERR_NOMEM. Each
 * message starts with the path. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_image_load(const char *path, const dmbp_image_load_options *o,
                dmbp_image *out);

/* As dmbp_image_load, from size bytes in memory (standard input, say);
 * name is used in messages only (NULL: "<memory>"). data is not kept. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_image_load_memory(
    const void *data, size_t size, const char *name,
    const dmbp_image_load_options *o, dmbp_image *out);

/* dmbp_image_load with the default options, for PNG files only (a JPEG
 * is refused as "not a PNG file"). Kept for existing callers. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_image_load_png(const char *path,
                                                        dmbp_image *out);

/* Releases img->data and zeroes the struct. Accepts NULL. */
DMBP_API void dmbp_image_free(dmbp_image *img);

/* Metadata keys through which a model carries its preprocessing. */
#define DMBP_META_RESIZE "dmbp.resize"   /* "256"; "0" = no resize      */
#define DMBP_META_CROP "dmbp.crop"       /* "224"; "0" = no crop        */
#define DMBP_META_MEAN "dmbp.mean"       /* "0.485,0.456,0.406"         */
#define DMBP_META_STD "dmbp.std"         /* "0.229,0.224,0.225"         */
#define DMBP_META_LABELS "dmbp.labels"   /* one label per line, '\n'    */

typedef struct dmbp_preprocess_options {
    int resize;      /* shorter side resized to this; 0: keep size      */
    int crop;        /* centre crop to crop x crop; 0: no crop          */
    int channels;    /* channels the model takes: 1 or 3                */
    float mean[3];   /* per channel, subtracted after scaling to [0,1]  */
    float std[3];    /* per channel, divides after the mean             */
} dmbp_preprocess_options;

/* ImageNet's defaults: resize 256, crop 224, 3 channels, mean
 * 0.485 0.456 0.406, std 0.229 0.224 0.225. */
DMBP_API void dmbp_preprocess_options_init(dmbp_preprocess_options *o);

/* The model's defaults: ImageNet's; then the declared input: channels
 * (1 or 3) and, for a static square S x S input, crop S and resize
 * round(S * 256 / 224); then the model's metadata (DMBP_META_*). A
 * program's own flags go last. A malformed metadata value is an error
 * naming the key. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_model_preprocess_defaults(
    const dmbp_model *m, dmbp_preprocess_options *o);

/* Colour conversion (gray replicated to RGB; RGB to gray as
 * 0.299 R + 0.587 G + 0.114 B), then resize of the shorter side to
 * o->resize (bilinear, antialiased when shrinking, like torchvision's
 * Resize(antialias=True)), then a centre crop of o->crop, then
 * (v - mean) / std per channel. out is allocated; free it with
 * dmbp_image_free. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_image_preprocess(const dmbp_image *in, const dmbp_preprocess_options *o,
                      dmbp_image *out);

/* ------------------------------------------------------------------ */
/* Plans: a model compiled for one input shape and batch              */
/* ------------------------------------------------------------------ */

typedef struct dmbp_plan dmbp_plan;

/* Arithmetic of convolutions and matrix products. */
typedef enum dmbp_fpmath {
    DMBP_FPMATH_STRICT = 0, /* float32 throughout                        */
    DMBP_FPMATH_BF16        /* convolutions (forward and backward-data),
                               inner and matrix products read their
                               source and weights as bfloat16 and
                               accumulate and write float32; everything
                               else stays float32. Needs a CPU with
                               AVX512-BF16 or AMX (dmbp_backend_isa):
                               elsewhere plan creation fails with
                               DMBP_ERR_UNSUPPORTED                      */
} dmbp_fpmath;

/* The instruction set oneDNN uses on this CPU, as oneDNN names it
 * ("avx2", "avx512_core", "avx512_core_bf16", "avx512_core_amx", ...). */
DMBP_API const char *dmbp_backend_isa(void);

typedef struct dmbp_plan_options {
    int batch;        /* images per forward call; default 1            */
    int height;       /* input height; 0: the model's declared height  */
    int width;        /* input width;  0: the model's declared width   */
    dmbp_shape shape; /* if shape.ndim > 0: the whole input shape,
                         overriding the three fields above            */
    int reverse;      /* 1: also build the reverse passes (backward,
                         tangent, masks); 0 (default): forward only     */
    dmbp_fpmath fpmath; /* DMBP_FPMATH_STRICT (default) or _BF16       */
    size_t max_memory; /* bytes the plan may allocate (arena, weights in
                         the primitives' layouts, scratchpad); 0
                         (default): DMBP_DEFAULT_MEMORY_PERCENT % of the
                         physical memory. Larger: DMBP_ERR_SHAPE at
                         creation, naming the size asked for          */
    int whole_tensor; /* 0 (default): a classifier plan. The logits must
                         be [batch, classes] with classes ==
                         dmbp_model_num_classes, and every value computed
                         from the input keeps the batch as its axis 0
                         (ops that mix images of a batch, e.g. Pad or
                         Concat on axis 0, are refused naming the node).
                         1: any tensor function (testing single ops):
                         the logits may have any shape and the explain
                         and metrics functions are not for such plans  */
} dmbp_plan_options;

/* The default plan memory budget, in percent of the physical memory. */
#define DMBP_DEFAULT_MEMORY_PERCENT 50
/* IG's lanes (its steps run together) fit in max_memory when the caller
 * set it, else in this percent of the physical memory. */
#define DMBP_IG_MEMORY_PERCENT 10

DMBP_API void dmbp_plan_options_init(dmbp_plan_options *o);

/* Build oneDNN primitives and one memory arena for the given shape. The
 * plan keeps a pointer to the model: free the plan first. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_plan_create(const dmbp_model *m,
                                                     const dmbp_plan_options *o,
                                                     dmbp_plan **out);
DMBP_API void dmbp_plan_free(dmbp_plan *p);

DMBP_API dmbp_shape dmbp_plan_input_shape(const dmbp_plan *p);
/* Shape of the logits ([batch, classes] for a classifier). */
DMBP_API dmbp_shape dmbp_plan_logits_shape(const dmbp_plan *p);
/* Shape of the graph's output (equal to the logits' unless a final
 * Softmax). */
DMBP_API dmbp_shape dmbp_plan_output_shape(const dmbp_plan *p);

/* Run the network on input (plain row-major, dmbp_plan_input_shape) and
 * write the logits (dmbp_plan_logits_shape) to logits, if not NULL.
 * The plan keeps the trace of this pass (activations, pooling choices)
 * for the reverse passes. Non-finite input is rejected. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_plan_forward(dmbp_plan *p,
                                                      const float *input,
                                                      float *logits);

/* After dmbp_plan_forward: the graph's output (after a final Softmax if
 * the model has one), dmbp_plan_output_shape elements. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_plan_output(dmbp_plan *p,
                                                     float *out);

/* ---- Reverse passes (plans made with reverse = 1) ----------------------
 *
 * With the gates (ReLU & co.) and max-pooling choices of the last
 * dmbp_plan_forward frozen, the network is a linear map of its input.
 * Every Conv output channel and every unit of a Gemm/MatMul except the
 * classifier's is a mask layer: masks scale their contribution during
 * backpropagation (DMBP). A plan's batch dimension is its lanes: masks,
 * seeds and maps are given per lane. */

#define DMBP_BACKWARD_GUIDED 1u /* guided backprop: activations also pass
                                   only positive incoming signal */

/* The shape of node i's (first) output in this plan, numbered as
 * dmbp_model_node_op; ndim 0 if i is out of range. */
DMBP_API dmbp_shape dmbp_plan_node_output_shape(const dmbp_plan *p, int i);

/* Masks per lane (0 for a forward-only plan), mask layers, and layer i's
 * name (its node), channel count and offset in a lane's masks. */
DMBP_API int64_t dmbp_plan_num_masks(const dmbp_plan *p);
DMBP_API int dmbp_plan_num_mask_layers(const dmbp_plan *p);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_plan_mask_layer(const dmbp_plan *p, int i, const char **name,
                     int *channels, int64_t *offset);

/* mapping = d(seed . logits)/d(input) of the gated linear network with
 * masks (lanes x dmbp_plan_num_masks values; NULL: all 1). seed has
 * dmbp_plan_logits_shape elements, mapping dmbp_plan_input_shape. The plan
 * keeps the signal arriving at each mask layer for dmbp_plan_mask_grad.
 * flags: 0 or DMBP_BACKWARD_GUIDED. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_plan_backward(dmbp_plan *p, const float *seed, const float *masks,
                   unsigned flags, float *mapping);

/* out (logits shape) = the gated linear network with masks applied to v
 * (input shape), biases dropped: a Jacobian-vector product. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_plan_tangent(dmbp_plan *p, const float *v, const float *masks,
                  float *out);

/* After dmbp_plan_backward with masks m: grad (lanes x masks) =
 * d(sum V . W(m))/dm for V = v (input shape), where W(m) is that backward's
 * mapping. Any loss of the mapping has this gradient for V = dloss/dW.
 * DMBP_ERR_ARG unless a successful dmbp_plan_backward came after the last
 * forward pass and no dmbp_plan_tangent changed the masks since. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_plan_mask_grad(dmbp_plan *p, const float *v, float *grad);

/* Softmax of n logits into prob (may alias). */
DMBP_API void dmbp_softmax(const float *logits, int n, float *prob);

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
    DMBP_METHOD_DMBP          /* disentangled masked backpropagation     */
} dmbp_method;

/* "saliency", "gxi", "ig", "smoothgrad", "guided", "gradcam", "dmbp". */
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

/* Progress of a long method (DMBP): called after each iteration with the
 * group of images being optimised together and their mean loss; return
 * non-zero to stop that group early (its results hold the masks reached
 * so far, its "iterations" scalar how many ran; later groups still run). */
typedef int (*dmbp_progress_fn)(void *user, int first_image, int n_images,
                                int iteration, int iterations, double loss);

typedef struct dmbp_explain_options {
    dmbp_method method;      /* default DMBP_METHOD_DMBP                 */
    /* saliency */
    int abs;                 /* 1: max over channels of |gradient|        */
    /* ig */
    int steps;               /* default 32                                */
    dmbp_baseline baseline;  /* default DMBP_BASELINE_ZERO                */
    dmbp_ig_rule ig_rule;    /* default DMBP_IG_MIDPOINT                  */
    /* smoothgrad, and DMBP's smoothed variant */
    int samples;             /* 0 (default): the method's default, 16 for
                                smoothgrad and 1 (no smoothing) for dmbp  */
    float sigma;             /* noise sd as a fraction of max(x)-min(x);
                                0 (default): 0.15 for smoothgrad, 0.1 for
                                dmbp                                      */
    uint64_t seed;           /* default 0                                 */
    int smooth_of_gradient;  /* 1: SmoothGrad of the plain gradient      */
    /* gradcam */
    const char *layer;       /* node or value name; NULL: the last Conv
                                (its activation's output if it has one)  */
    /* The normalisation the input went through (for the black baseline). */
    float mean[3], std[3];
    /* dmbp (dmbp-method.md section 3) */
    int iterations;          /* default 200                               */
    float lr;                /* Adam learning rate, default 0.05          */
    float init_logit;        /* initial mask logit theta, default 2.0     */
    float w_completeness, w_sign, w_nuisance, w_evidence, w_sparsity;
                             /* default preset "dmbp": 10, 3, 1, 0, 0.01  */
    dmbp_progress_fn progress;
    void *progress_user;
    dmbp_fpmath fpmath;      /* default DMBP_FPMATH_STRICT                */
    size_t max_memory;       /* each plan's budget, as in
                                dmbp_plan_options (0: the default)        */
    /* Lanes of one plan, which bounds memory; default 32. Saliency, gxi,
     * guided and Grad-CAM run up to max_lanes images at once; IG and
     * SmoothGrad one image at a time with up to max_lanes of its steps or
     * samples (IG at least 2, and no more than fit in max_memory, or
     * without it DMBP_IG_MEMORY_PERCENT of the physical memory); DMBP as
     * many images as fit in max_lanes at 2 x samples lanes each (at least
     * one image). */
    int max_lanes;
    /* DMBP convergence stop: an image stops when its loss changed by at
     * most tol (relative) over the last tol_window iterations,
     * |l[i] - l[i - tol_window]| <= tol |l[i - tol_window]|; its
     * "iterations" scalar then says how many ran and its loss curve is 0
     * after that. tol 0 (default): always the full iterations. tol_window
     * 0: the default, 10. */
    float tol;
    int tol_window;
} dmbp_explain_options;

/* Defaults as documented above (method DMBP, preset "dmbp", ImageNet's
 * mean and std). */
DMBP_API void dmbp_explain_options_init(dmbp_explain_options *o);

/* Set the DMBP loss weights of a preset: "dmbp" (completeness 10, sign 3,
 * nuisance 1, evidence 0, sparsity 0.01) or "evidence" (evidence 1,
 * sign 0.3, sparsity 0.01, the others 0). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_explain_preset(dmbp_explain_options *o, const char *preset);

typedef struct dmbp_result dmbp_result;

/* Explain n images. x holds them as preprocessed model inputs, n x channels
 * x height x width floats; targets (n ints, NULL for all automatic) the
 * class to explain per image, -1 meaning the top class. On success *out
 * holds per image: the target, its logit and probability, the method's
 * arrays and scalars (below); free it with dmbp_result_free. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_explain(const dmbp_model *m, const float *x, int n, int channels,
             int height, int width, const int *targets,
             const dmbp_explain_options *o, dmbp_result **out);

/* An explainer: a model and the plans that explaining its images needs,
 * kept from one call to the next. dmbp_explain makes its plans (one for
 * the targets' forward pass, one or two for the method) and frees them
 * before it returns; over a data set, that is most of the time of the
 * fast methods. An explainer keeps them, one set per input shape and
 * lane count, so that a second call of the same shape makes none.
 *
 * dmbp_explainer_run(e, ...) returns exactly what dmbp_explain(m, ...)
 * does, bit for bit, for any options (each call may pass other options:
 * a plan is reused only if everything it was made from is the same).
 * It holds at most DMBP_EXPLAINER_MAX_PLANS plans, the least recently
 * used freed first; the plans' memory stays taken until
 * dmbp_explainer_free. An explainer is used by one thread at a time;
 * threads explaining with one model each create their own. The model must
 * outlive the explainer. */
typedef struct dmbp_explainer dmbp_explainer;
#define DMBP_EXPLAINER_MAX_PLANS 8

/* On success *out is an explainer of m, with no plans yet; free it with
 * dmbp_explainer_free. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_explainer_create(const dmbp_model *m, dmbp_explainer **out);
/* dmbp_explain with e's model and plans; o NULL: the defaults. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_explainer_run(dmbp_explainer *e, const float *x, int n, int channels,
                   int height, int width, const int *targets,
                   const dmbp_explain_options *o, dmbp_result **out);
/* Plans e has made so far (each miss of its cache): a check that plans
 * are reused (0 for NULL). */
DMBP_API int64_t dmbp_explainer_plans_created(const dmbp_explainer *e);
/* Frees e and its plans; accepts NULL. */
DMBP_API void dmbp_explainer_free(dmbp_explainer *e);

DMBP_API void dmbp_result_free(dmbp_result *r);
DMBP_API int dmbp_result_num_images(const dmbp_result *r);
DMBP_API dmbp_method dmbp_result_method(const dmbp_result *r);
DMBP_API int dmbp_result_target(const dmbp_result *r, int image);
DMBP_API float dmbp_result_logit(const dmbp_result *r, int image);
DMBP_API float dmbp_result_prob(const dmbp_result *r, int image);

/* Arrays per image, each of dmbp_result_array_shape (C x H x W, or
 * 1 x H x W for Grad-CAM and saliency with abs). The baselines have one,
 * "map"; DMBP has "w_pos", "w_neg" (the mappings), "a_pos", "a_neg" (the
 * attributions, shown as the overlay) and "nuisance". dmbp_result_signed
 * tells whether the maps have a sign (else they are non-negative).
 * Pointers stay valid until the result is freed. */
DMBP_API int dmbp_result_num_arrays(const dmbp_result *r);
DMBP_API const char *dmbp_result_array_name(const dmbp_result *r, int k);
DMBP_API dmbp_shape dmbp_result_array_shape(const dmbp_result *r);
DMBP_API const float *dmbp_result_array(const dmbp_result *r, int image,
                                        int k);
DMBP_API int dmbp_result_signed(const dmbp_result *r);

/* Named numbers per image (IG: "completeness_gap"; DMBP: "f", "F",
 * "F_pos", "F_neg", "F_nuisance", "bias", "loss", "completeness", "sign",
 * "nuisance", "evidence", "sparsity", "iterations", "seconds"). */
DMBP_API int dmbp_result_num_scalars(const dmbp_result *r);
DMBP_API const char *dmbp_result_scalar_name(const dmbp_result *r, int k);
DMBP_API double dmbp_result_scalar(const dmbp_result *r, int image, int k);

/* DMBP: the learned masks of image i (set 0: m+, set 1: m-), laid out by
 * mask layer as dmbp_result_mask_layer tells; the loss per iteration. */
DMBP_API int dmbp_result_num_mask_layers(const dmbp_result *r);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_result_mask_layer(const dmbp_result *r, int layer, const char **name,
                       int *channels, int64_t *offset);
DMBP_API const float *dmbp_result_masks(const dmbp_result *r, int image,
                                        int set);
/* Masks per set (the length of dmbp_result_masks' arrays). */
DMBP_API int64_t dmbp_result_num_masks(const dmbp_result *r);
DMBP_API int dmbp_result_num_iterations(const dmbp_result *r);
DMBP_API const float *dmbp_result_loss_curve(const dmbp_result *r,
                                             int image);

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
    dmbp_explainer *plans;      /* NULL (default): each call makes its
                                   forward plan and frees it. An explainer
                                   of the same model: the metrics take
                                   their plans from it and leave them
                                   there for the next image (the same
                                   numbers, bit for bit). Not const: one
                                   thread at a time, as the explainer    */
} dmbp_eval_options;

DMBP_API void dmbp_eval_options_init(dmbp_eval_options *o);

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
dmbp_eval_deletion(const dmbp_model *m, const float *x, int c, int h, int w,
                   int target, const float *scores,
                   const dmbp_eval_options *o, float *curve, double *auc);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_insertion(const dmbp_model *m, const float *x, int c, int h, int w,
                    int target, const float *scores,
                    const dmbp_eval_options *o, float *curve, double *auc);
/* Number of points of those curves for o and an h x w image. */
DMBP_API int dmbp_eval_curve_points(const dmbp_eval_options *o, int h,
                                    int w);

/* Negative evidence: remove (deletion substrate) the pixels whose score is
 * highest (pass the negative part's scores, sign < 0) and report the rise
 * of the target logit after removing fractions[0..n) of the pixels. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_negative(const dmbp_model *m, const float *x, int c, int h, int w,
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
dmbp_eval_aopc(const dmbp_model *m, const float *x, int c, int h, int w,
               int target, const float *scores, const dmbp_eval_options *o,
               float *curve, double *aopc);

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
dmbp_eval_randomization(const dmbp_model *m, const float *x, int c, int h,
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

/* Sets every field to NaN. */
DMBP_API void dmbp_truth_scores_init(dmbp_truth_scores *s);

/* Scores of one evidence map (h x w, every value >= 0 and finite) against
 * the mask {truth == value}. All three are NaN when the mask is empty
 * (there is nothing to find). Errors: DMBP_ERR_ARG (NULL, sizes, a
 * negative evidence value, value outside 0..255, tolerance < 0),
 * DMBP_ERR_NONFINITE, DMBP_ERR_NOMEM. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_eval_truth(const float *evidence, const uint8_t *truth, int h, int w,
                int value, int tolerance, dmbp_truth_scores *out);

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
/* Largest height or width of a map accepted (as for dmbp_image_load_png):
 * beyond it a size is a mistake, not a picture. */
#define DMBP_RENDER_MAX_INPUT_SIDE (1 << 14)
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

/* Height in pixels of one glyph of the colour bar's labels before their
 * integer scaling. */
#define DMBP_RENDER_GLYPH_HEIGHT 5

typedef struct dmbp_render_options {
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


/* ------------------------------------------------------------------ */
/* Operator plugins                                                   */
/* ------------------------------------------------------------------ */

/* A node as seen by an operator plugin. */
typedef struct dmbp_node dmbp_node;

DMBP_API const char *dmbp_node_name(const dmbp_node *n);
DMBP_API const char *dmbp_node_op(const dmbp_node *n);
DMBP_API int dmbp_node_num_inputs(const dmbp_node *n);
/* Integer / float attribute, or def when absent. Fails (DMBP_ERR_FORMAT)
 * when present with another type; a non-finite float attribute is
 * DMBP_ERR_NONFINITE. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_node_attr_int(const dmbp_node *n, const char *name, int64_t def,
                   int64_t *out);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_node_attr_float(const dmbp_node *n, const char *name, float def,
                     float *out);
/* Integer list: copies up to cap values, *count gets the full length
 * (-1 when absent); DMBP_ERR_FORMAT when not an integer list. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_node_attr_ints(const dmbp_node *n, const char *name, int64_t *buf,
                    int cap, int *count);
/* Data of input i when it is a constant (initializer or Constant node),
 * else NULL. */
DMBP_API const float *dmbp_node_const_input(const dmbp_node *n, int i);

/* What an op is, declared by its table entry (built-in or plugin). The
 * rest of the library asks these traits and never names an op:
 *  - DMBP_OP_WEIGHTS: a linear layer with weights (Conv, Gemm, MatMul): a
 *    DMBP mask site on its output channels, a layer the randomisation
 *    check re-draws.
 *  - DMBP_OP_FEATURE_MAP: its output is a spatial feature map Grad-CAM may
 *    explain at (Conv).
 *  - DMBP_OP_GATE: an element-wise activation; Grad-CAM's default layer is
 *    the activation after the last feature map.
 *  - DMBP_OP_LAYOUT: moves or reshapes values without arithmetic.
 *  - DMBP_OP_POOL: a pooling (window or global) op.
 *  - DMBP_OP_PASSTHROUGH: the identity at inference (Dropout, Identity):
 *    removed when the model is simplified.
 *  - DMBP_OP_CHANNEL_AFFINE: a per-channel affine map (inference
 *    BatchNormalization) that the simplifier folds into a preceding
 *    DMBP_OP_FOLD_TARGET op.
 *  - DMBP_OP_FOLD_TARGET: absorbs a following per-channel affine (Conv):
 *    its weights are input 1 with the output channels first, its optional
 *    bias input 2.
 *  - DMBP_OP_OUTPUT_NORMALIZER: a final normalisation of the logits
 *    (Softmax): when it produces the graph output, its input are the
 *    logits that methods explain. */
enum dmbp_op_trait {
    DMBP_OP_WEIGHTS = 1u << 0,
    DMBP_OP_FEATURE_MAP = 1u << 1,
    DMBP_OP_GATE = 1u << 2,
    DMBP_OP_LAYOUT = 1u << 3,
    DMBP_OP_POOL = 1u << 4,
    DMBP_OP_PASSTHROUGH = 1u << 5,
    DMBP_OP_CHANNEL_AFFINE = 1u << 6,
    DMBP_OP_FOLD_TARGET = 1u << 7,
    DMBP_OP_OUTPUT_NORMALIZER = 1u << 8
};

/* One table entry per ONNX op type. Built-in ops are entries of the same
 * table; a program (or a `dmbp --plugin` shared object) adds its own with
 * dmbp_op_register before loading the models that use it. Tensors given
 * to a plugin are plain row-major float32; an integer constant input is
 * passed as NULL (its shape is still given).
 *
 * Versions: the fields up to `forward` are version 1 (libdmbp before
 * plugins had reverse passes); `struct_size` and what follows are version
 * 2. dmbp_op_def_init and dmbp_op_register are macros passing
 * sizeof(dmbp_op_def) as the program saw it, so a plugin compiled against
 * an older header keeps loading: the library reads only the fields that
 * header had and takes the rest as zero; binaries built against the
 * version-1 header, which had no struct_size, call the functions named
 * dmbp_op_def_init and dmbp_op_register, kept for them. Fields are only
 * ever added at the end. */
typedef struct dmbp_op_def {
    const char *op_type;  /* ONNX op_type, e.g. "HardSigmoid"            */
    void *user;           /* passed back to every callback               */
    /* Shape rule: fill out[0..n_out) from in[0..n_in). Also the place to
     * reject attributes the op cannot handle (return an error and say
     * why through dmbp_set_error). */
    dmbp_status (*infer)(void *user, const dmbp_node *node, int n_in,
                         const dmbp_shape *in, int n_out, dmbp_shape *out);
    /* Forward: compute the outputs from the inputs. */
    dmbp_status (*forward)(void *user, const dmbp_node *node, int n_in,
                           const dmbp_shape *in_shapes,
                           const float *const *in, int n_out,
                           const dmbp_shape *out_shapes, float *const *out);
    /* ---- version 2 ---- */
    size_t struct_size;   /* set by dmbp_op_def_init; leave it alone      */
    unsigned traits;      /* DMBP_OP_*: what the op is (see above). A
                           * plugin may declare GATE, LAYOUT, POOL,
                           * FEATURE_MAP, PASSTHROUGH and
                           * OUTPUT_NORMALIZER; the others need hooks that
                           * only built-in ops have (DMBP_ERR_ARG). */
    /* Reverse passes (every attribution method needs both; without them
     * the op still predicts and methods fail naming the node). Both are
     * the op linearised at the last forward pass: they get that pass's
     * inputs `in` and outputs `out` (so an element-wise op recomputes its
     * local derivative f'(x) from them), and are linear in the signal.
     * backward: from the gradient of the outputs dout[0..n_out), write
     *   (overwrite) the gradient of each input din[i] = sum_k
     *   J_ki^T dout[k]; din[i] is NULL for inputs that need none
     *   (constants, omitted inputs), dout[k] NULL for an output the
     *   logits do not depend on (zero). Under guided backpropagation a
     *   DMBP_OP_GATE op gets dout[0] with its negative part removed.
     * tangent: from a perturbation of the inputs tin[i] (NULL for
     *   constants: zero), write tout[k] = sum_i J_ki tin[i], the
     *   Jacobian-vector product, without any constant offset (a bias). */
    dmbp_status (*backward)(void *user, const dmbp_node *node, int n_in,
                            const dmbp_shape *in_shapes,
                            const float *const *in, int n_out,
                            const dmbp_shape *out_shapes,
                            const float *const *out,
                            const float *const *dout, float *const *din);
    dmbp_status (*tangent)(void *user, const dmbp_node *node, int n_in,
                           const dmbp_shape *in_shapes,
                           const float *const *in, int n_out,
                           const dmbp_shape *out_shapes,
                           const float *const *out,
                           const float *const *tin, float *const *tout);
} dmbp_op_def;

/* Zero *def (the first struct_size bytes) and set def->struct_size. */
DMBP_API void dmbp_op_def_init_sized(dmbp_op_def *def, size_t struct_size);
#define dmbp_op_def_init(def) dmbp_op_def_init_sized((def), sizeof *(def))

/* Add def to the table. The strings are copied. Fails with DMBP_ERR_ARG
 * if an op of that type is already registered, if op_type, infer or
 * forward is missing, if only one of backward and tangent is given, or if
 * struct_size is not one this library knows (def not made by
 * dmbp_op_def_init). Not thread-safe against concurrent loads. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_op_register_sized(
    const dmbp_op_def *def);
#define dmbp_op_register(def) dmbp_op_register_sized(def)

/* The version-1 entry points keep their symbols for binaries built
 * against that header (the parentheses stop the macros above): they
 * touch only the version-1 fields. New code uses the macros. */
DMBP_API void(dmbp_op_def_init)(dmbp_op_def *def);
DMBP_API DMBP_NODISCARD dmbp_status(dmbp_op_register)(const dmbp_op_def *def);

/* What a `dmbp --plugin FILE.so` shared object exports: the CLI
 * dlopen()s FILE and calls this function once, before loading the model;
 * it registers its ops with dmbp_op_register and returns DMBP_OK (or an
 * error status with dmbp_set_error's message). */
#define DMBP_PLUGIN_REGISTER_SYMBOL "dmbp_plugin_register"
typedef dmbp_status (*dmbp_plugin_register_fn)(void);

/* Names of every op in the table, comma separated (static storage until
 * the next dmbp_op_register). */
DMBP_API const char *dmbp_op_list(void);

/* For plugins: set the thread's error detail (printf format) and return
 * status, so that `return dmbp_set_error(DMBP_ERR_ARG, "...")` works. */
DMBP_API dmbp_status dmbp_set_error(dmbp_status status, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

#ifdef __cplusplus
}
#endif

#endif /* DMBP_H */
