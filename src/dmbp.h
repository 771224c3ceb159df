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
 *  - Options structs: declare one, call its *_init macro (which fills
 *    the defaults and sets the first member, struct_size, to the size of
 *    the struct as your header declares it), then set the fields you care
 *    about. Fields are only ever added at the end: the library reads only
 *    the fields your struct_size covers and takes its defaults for the
 *    rest, so a program built against an older header keeps working with
 *    a newer library (same soname). A struct_size the library does not
 *    know (0: a struct not made by the _init macro; larger: a newer
 *    header than the library) is DMBP_ERR_ARG naming the struct. Every
 *    function taking an options pointer accepts NULL for the defaults.
 *  - Thread safety: a dmbp_model is read-only after loading and may be
 *    shared by any number of threads; a dmbp_plan and a dmbp_session
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

/* Unused statuses warn: GCC's attribute in C; in C++ the standard
 * [[nodiscard]] from C++17 (GCC's attribute cannot be silenced by a cast
 * to void there). Only DMBP_API, empty outside the library, precedes it. */
#if defined(__cplusplus) && __cplusplus >= 201703L
#define DMBP_NODISCARD [[nodiscard]]
#elif defined(__GNUC__) && !defined(__cplusplus)
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

/* Set the thread's error detail (printf format) and return
 * status, so that `return dmbp_set_error(DMBP_ERR_ARG, "...")` works. */
DMBP_API dmbp_status dmbp_set_error(dmbp_status status, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The version of this header. configure takes the package version from
 * these three lines, so the header, dmbp_version() and the tarball
 * always agree. A program may compare DMBP_VERSION_NUMBER (the version it
 * was compiled against) with dmbp_version_number() (the library it runs
 * with). */
#define DMBP_VERSION_MAJOR 0
#define DMBP_VERSION_MINOR 3
#define DMBP_VERSION_PATCH 0
#define DMBP_VERSION_NUMBER                                                 \
    (DMBP_VERSION_MAJOR * 10000 + DMBP_VERSION_MINOR * 100 +                \
     DMBP_VERSION_PATCH)

/* The library's version, "MAJOR.MINOR.PATCH" (static storage), and the
 * same as MAJOR * 10000 + MINOR * 100 + PATCH. */
DMBP_API const char *dmbp_version(void);
DMBP_API int dmbp_version_number(void);

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

/* Class labels from a file (dmbp_labels_read): one per line, a final "\n"
 * or "\r\n" removed; a line longer than DMBP_LABEL_MAX bytes or holding a
 * NUL byte is DMBP_ERR_FORMAT naming the line, fewer lines than classes
 * (0: any number) DMBP_ERR_FORMAT, an unreadable file DMBP_ERR_IO. */
#define DMBP_LABEL_MAX 4094
typedef struct dmbp_labels dmbp_labels;
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_labels_read(const char *path, int classes, dmbp_labels **out);
DMBP_API int dmbp_labels_count(const dmbp_labels *l);
DMBP_API const char *dmbp_labels_get(const dmbp_labels *l, int i);
DMBP_API void dmbp_labels_free(dmbp_labels *l);
/* Class cls's label: labels[cls] when labels are given (n > 0), else the
 * model's; NULL when there is none. */
DMBP_API const char *dmbp_class_label(const dmbp_model *m,
                                      const char *const *labels, int n,
                                      int cls);
/* The class whose label is name (labels as dmbp_class_label): an exact
 * match, else one ignoring case. Two classes of that label are
 * DMBP_ERR_ARG naming both; none is DMBP_ERR_ARG, with *nearest (may be
 * NULL) the nearest label, at most a third of name's length in edits
 * away ignoring case ("did you mean" in the message), or NULL. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_label_find(const dmbp_model *m, const char *const *labels, int n,
                const char *name, int *cls, const char **nearest);

/* A target as the dmbp program reads it (0.3): "auto" (-1: the top
 * class), "top:K" (-K, K from 1 to the classes: the K-th most probable,
 * as dmbp_explain_images takes it), a class index, a label (as
 * dmbp_label_find), or "label:NAME" for a label that reads as one of the
 * others. DMBP_ERR_ARG saying what is expected (the message does not
 * repeat spec). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_target_parse(const dmbp_model *m, const char *const *labels, int n,
                  const char *spec, int *target);

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

/* A file is read only up to the size an image within the pixel budget
 * may take: max_pixels (DMBP_IMAGE_MAX_SIDE squared when 0) times the
 * bytes of a 16-bit RGBA pixel stored uncompressed, plus room for headers
 * and metadata (EXIF, ICC); a larger file is DMBP_ERR_SHAPE before it is
 * read (a stream: once that much was read). With the default budget:
 * 8 x 67 Mpx + 16 MiB = 553 MB. */
#define DMBP_IMAGE_FILE_BYTES_PER_PIXEL 8
#define DMBP_IMAGE_FILE_SLACK (16 << 20)

typedef struct dmbp_image_load_options {
    size_t struct_size; /* sizeof, set by the _init macro: leave it   */
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

/* Fill the defaults (see "Options structs" at the top). */
DMBP_API void dmbp_image_load_options_init_sized(dmbp_image_load_options *o,
                                                 size_t struct_size);
#define dmbp_image_load_options_init(o)                                     \
    dmbp_image_load_options_init_sized((o), sizeof *(o))

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

/* The most bytes dmbp_image_load reads for options o (NULL: defaults). */
DMBP_API int64_t dmbp_image_max_file_bytes(const dmbp_image_load_options *o);

/* As dmbp_image_load, from the open descriptor fd (its data from the
 * current position to the end: standard input, a pipe), which is not
 * closed; name is used in messages only (NULL: "<fd>"). Bounded as
 * dmbp_image_load: the signature is checked on the first bytes read. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_image_load_fd(int fd, const char *name, const dmbp_image_load_options *o,
                   dmbp_image *out);

/* As dmbp_image_load, from size bytes in memory (standard input, say);
 * name is used in messages only (NULL: "<memory>"). data is not kept. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_image_load_memory(
    const void *data, size_t size, const char *name,
    const dmbp_image_load_options *o, dmbp_image *out);

/* Releases img->data and zeroes the struct. Accepts NULL. */
DMBP_API void dmbp_image_free(dmbp_image *img);

/* Image sets: the images one word names. dmbp_image_set_open takes
 * "idx:FILE" (an IDX3 file of unsigned bytes, gzipped or not, the MNIST
 * format: each image gray, values / 255; the true classes from the IDX1
 * labels file beside it, "images-idx3-ubyte" in its name read as
 * "labels-idx1-ubyte", when there is one), a directory (its .png, .jpg
 * and .jpeg files by name, hidden files and NAME.truth.png excepted;
 * none is DMBP_ERR_IO) or a file listing image paths, one per line
 * (blank lines and lines starting with '#' skipped, CR LF read as LF; a
 * PNG given instead is DMBP_ERR_ARG, a line longer than
 * DMBP_IMAGE_SET_LINE_MAX - 2 bytes DMBP_ERR_FORMAT). An empty set made by
 * dmbp_image_set_create grows by _add_dir and _add_list. Names are the
 * paths, or "FILE#K" for image K of an IDX file; a true class is -1 when
 * unknown. dmbp_image_set_load reads image i (a path through
 * dmbp_image_load with o). A set is read-only once made. */
#define DMBP_IMAGE_SET_LINE_MAX 8192
typedef struct dmbp_image_set dmbp_image_set;
DMBP_API DMBP_NODISCARD dmbp_status dmbp_image_set_open(const char *spec,
                                                        dmbp_image_set **out);
DMBP_API DMBP_NODISCARD dmbp_status dmbp_image_set_create(dmbp_image_set **out);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_image_set_add_dir(dmbp_image_set *s, const char *dir);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_image_set_add_list(dmbp_image_set *s, const char *file);
DMBP_API int dmbp_image_set_count(const dmbp_image_set *s);
DMBP_API const char *dmbp_image_set_name(const dmbp_image_set *s, int i);
DMBP_API int dmbp_image_set_true_class(const dmbp_image_set *s, int i);
/* 1 for an idx: set (its names are not files). */
DMBP_API int dmbp_image_set_is_idx(const dmbp_image_set *s);
/* Would a directory contribute a file of this name (its extension)? */
DMBP_API int dmbp_image_set_is_image_name(const char *name);
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_image_set_load(const dmbp_image_set *s, int i,
                    const dmbp_image_load_options *o, dmbp_image *out);
DMBP_API void dmbp_image_set_free(dmbp_image_set *s);

/* A line of an image set's manifest, DIR/manifest.jsonl (dmbp(1) FILES),
 * read back as --resume and `dmbp report` trust it (0.3): a record
 * {"input": NAME, "status": "ok"|"failed"|"claimed", "outputs": {KIND:
 * PATH, ...}, "input_size": N, "input_mtime_ns": N, ...} (other members
 * skipped; an "ok" record lists its outputs) or the set's fingerprint
 * {"set": {KEY: VALUE, ...}}. Anything else is DMBP_MANIFEST_BAD: not
 * such an object, a NUL byte, a string JSON cannot hold (a raw control
 * character, \u0000, a lone surrogate), nesting deeper than
 * DMBP_MANIFEST_MAX_DEPTH (a crafted line cannot exhaust the stack). */
#define DMBP_MANIFEST_MAX_DEPTH 32
typedef enum dmbp_manifest_kind {
    DMBP_MANIFEST_BAD = 0,
    DMBP_MANIFEST_ITEM,
    DMBP_MANIFEST_SET
} dmbp_manifest_kind;
typedef enum dmbp_manifest_status {
    DMBP_MANIFEST_OK,      /* the item finished, its outputs listed      */
    DMBP_MANIFEST_FAILED,  /* the item failed                            */
    DMBP_MANIFEST_CLAIMED  /* the set was about to write its outputs     */
} dmbp_manifest_status;
typedef struct dmbp_manifest_line dmbp_manifest_line;
/* Parse line (len bytes, without its '\n'): its kind, and *out (free
 * with dmbp_manifest_line_free) unless DMBP_MANIFEST_BAD (*out NULL; also
 * out of memory, with DMBP_ERR_NOMEM as the last error). */
DMBP_API dmbp_manifest_kind dmbp_manifest_parse(const char *line, size_t len,
                                                dmbp_manifest_line **out);
DMBP_API void dmbp_manifest_line_free(dmbp_manifest_line *l);
/* A record's input, status and output paths (NULL / -1 / 0 for a set's
 * line); 1 and the input's size and mtime (ns) when the record has both,
 * else 0. A set's keys and values, in the line's order. */
DMBP_API const char *dmbp_manifest_input(const dmbp_manifest_line *l);
DMBP_API int dmbp_manifest_item_status(const dmbp_manifest_line *l);
DMBP_API int dmbp_manifest_num_outputs(const dmbp_manifest_line *l);
DMBP_API const char *dmbp_manifest_output(const dmbp_manifest_line *l,
                                          int k);
DMBP_API int dmbp_manifest_input_stat(const dmbp_manifest_line *l,
                                      long long *size, long long *mtime_ns);
DMBP_API int dmbp_manifest_num_keys(const dmbp_manifest_line *l);
DMBP_API const char *dmbp_manifest_key(const dmbp_manifest_line *l, int k);
DMBP_API const char *dmbp_manifest_value(const dmbp_manifest_line *l,
                                         int k);

/* Metadata keys through which a model carries its preprocessing. */
#define DMBP_META_RESIZE "dmbp.resize"   /* "256"; "0" = no resize      */
#define DMBP_META_CROP "dmbp.crop"       /* "224"; "0" = no crop        */
#define DMBP_META_MEAN "dmbp.mean"       /* "0.485,0.456,0.406"         */
#define DMBP_META_STD "dmbp.std"         /* "0.229,0.224,0.225"         */
#define DMBP_META_LABELS "dmbp.labels"   /* one label per line, '\n'    */

typedef struct dmbp_preprocess_options {
    size_t struct_size; /* sizeof, set by the _init macro: leave it   */
    int resize;      /* shorter side resized to this; 0: keep size      */
    int crop;        /* centre crop to crop x crop; 0: no crop          */
    int channels;    /* channels the model takes: 1 or 3                */
    float mean[3];   /* per channel, subtracted after scaling to [0,1]  */
    float std[3];    /* per channel, divides after the mean             */
} dmbp_preprocess_options;

/* ImageNet's defaults: resize 256, crop 224, 3 channels, mean
 * 0.485 0.456 0.406, std 0.229 0.224 0.225. */
DMBP_API void dmbp_preprocess_options_init_sized(dmbp_preprocess_options *o,
                                                 size_t struct_size);
#define dmbp_preprocess_options_init(o)                                     \
    dmbp_preprocess_options_init_sized((o), sizeof *(o))

/* The model's defaults: ImageNet's; then the declared input: channels
 * (1 or 3) and, for a static square S x S input, crop S and resize
 * round(S * 256 / 224); then the model's metadata (DMBP_META_*). A
 * program's own flags go last. A malformed metadata value is an error
 * naming the key. o is filled as dmbp_preprocess_options_init does
 * (its struct_size set by the macro). */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_model_preprocess_defaults_sized(
    const dmbp_model *m, dmbp_preprocess_options *o, size_t struct_size);
#define dmbp_model_preprocess_defaults(m, o)                                \
    dmbp_model_preprocess_defaults_sized((m), (o), sizeof *(o))

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
    size_t struct_size; /* sizeof, set by the _init macro: leave it   */
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

DMBP_API void dmbp_plan_options_init_sized(dmbp_plan_options *o,
                                           size_t struct_size);
#define dmbp_plan_options_init(o)                                           \
    dmbp_plan_options_init_sized((o), sizeof *(o))

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

/* The attribution methods, their options and dmbp_explain_options:
 * dmbp_methods.h (part of this header). */
#include "dmbp_methods.h"

typedef struct dmbp_result dmbp_result;

/* A session: a model and the plans that its jobs need, kept from one call
 * to the next. Every job on a model is a call on a session: dmbp_explain,
 * and in dmbp_eval.h the metrics and the randomisation check. A job makes
 * plans (one for the targets' forward pass, one or two for the method, one
 * per metric); over a data set, making them is most of the time of the
 * fast methods, so the session keeps them, one set per input shape and
 * lane count, and a second call of the same shape makes none.
 *
 * A call returns exactly what it returns in a new session, bit for bit,
 * for any options (each call may pass other options: a plan is reused only
 * if everything it was made from is the same). A session holds at most
 * DMBP_SESSION_MAX_PLANS plans, the least recently used freed first; their
 * memory stays taken until dmbp_session_free. Thread safety: a session is
 * used by one thread at a time; threads working on one model (which may
 * be shared) each create their own session. The model must outlive its
 * sessions. */
typedef struct dmbp_session dmbp_session;
#define DMBP_SESSION_MAX_PLANS 8

/* On success *out is a session of m, with no plans yet; free it with
 * dmbp_session_free. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_session_create(const dmbp_model *m, dmbp_session **out);
/* Frees s and its plans; accepts NULL. */
DMBP_API void dmbp_session_free(dmbp_session *s);
/* The session's model (NULL for NULL). */
DMBP_API const dmbp_model *dmbp_session_model(const dmbp_session *s);
/* Plans s has made so far (each miss of its cache): a check that plans
 * are reused (0 for NULL). */
DMBP_API int64_t dmbp_session_plans_created(const dmbp_session *s);
/* keep 1 (the default): s keeps its plans as above. keep 0: every plan is
 * freed as soon as its job is done, before the next is made (and the
 * plans kept so far are freed): a single call's lowest peak memory, for a
 * session that does one job. Accepts NULL. */
DMBP_API void dmbp_session_keep_plans(dmbp_session *s, int keep);

/* Explain n images with the session's model. x holds them as preprocessed
 * model inputs, n x channels x height x width floats; targets (n ints,
 * NULL for all automatic) the class to explain per image, -1 meaning the
 * top class; o NULL: the defaults. On success *out holds per image: the
 * target, its logit and probability, the method's arrays and scalars
 * (below); free it with dmbp_result_free. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_explain(dmbp_session *s, const float *x, int n, int channels,
             int height, int width, const int *targets,
             const dmbp_explain_options *o, dmbp_result **out);

/* Explain n pictures as loaded (originals, e.g. from dmbp_image_load, in
 * [0, 1]): each through dmbp_image_preprocess with pre (NULL: the model's
 * defaults), all of one size (DMBP_ERR_SHAPE naming two that differ, or
 * one the model's fixed input size refuses), then dmbp_explain. names
 * (may be NULL) name the images in messages. targets as dmbp_explain's,
 * and -K (K >= 2) for the image's K-th most probable class (a forward
 * pass of its own; ties to the lower index). (0.3) */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_explain_images(dmbp_session *s, const dmbp_image *originals,
                    const char *const *names, int n,
                    const dmbp_preprocess_options *pre, const int *targets,
                    const dmbp_explain_options *o, dmbp_result **out);

/* Method option `name` of o->method, by the dmbp program's name for it
 * (its --NAME without the dashes: "iters", "w-sign", "baseline", "seed",
 * "preset", ...; see dmbp(1)) and its value as text (numbers as strtol,
 * strtof, strtoull read them; choices by name; "abs" on or off), as the
 * program sets it (0.3): "samples" is SmoothGrad's samples, RISE's masks
 * and DMBP's noisy copies (which for DMBP above 1 turn the path off),
 * "seed" and "sigma" every method's that has one. "layer" keeps value
 * (borrowed). DMBP_ERR_ARG for an unknown name or a value that does not
 * read; "preset" is dmbp_explain_preset. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_explain_options_set(dmbp_explain_options *o, const char *name,
                         const char *value);

/* The class of rank k (1: the most probable) of one preprocessed image x
 * (channels x height x width), by a forward pass of a plan of its own;
 * ties to the lower index, as dmbp_explain's top class. (0.3) */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_model_class_of_rank(const dmbp_model *m, const float *x, int channels,
                         int height, int width, int k, int *cls);

DMBP_API void dmbp_result_free(dmbp_result *r);
DMBP_API int dmbp_result_num_images(const dmbp_result *r);
DMBP_API dmbp_method dmbp_result_method(const dmbp_result *r);
DMBP_API int dmbp_result_target(const dmbp_result *r, int image);
DMBP_API float dmbp_result_logit(const dmbp_result *r, int image);
DMBP_API float dmbp_result_prob(const dmbp_result *r, int image);

/* Arrays per image, each of dmbp_result_array_shape (C x H x W, or 1 x H
 * x W for the CAMs, occlusion, RISE, saliency with abs). Baselines have one,
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
/* Whether image's map is essentially zero: the sum of its absolute values
 * (DMBP: of a_pos, a_neg and nuisance together) is below
 * DMBP_NEAR_ZERO_RATIO times max(|logit|, 1), the logit of its target.
 * Pictures scale a map by its own percentile, so such a map (a model
 * whose logits are ~1e-9, a layer that passes no gradient) is drawn at
 * full strength: a program should say so. 1: near zero, 0: not, -1: r
 * NULL or image out of range. */
#define DMBP_NEAR_ZERO_RATIO 1e-6
DMBP_API int dmbp_result_near_zero(const dmbp_result *r, int image);

/* Named numbers per image (IG: "completeness_gap"; DMBP: "f", "F",
 * "F_pos", "F_neg", "F_nuisance", "bias", "loss", "completeness", "sign",
 * "nuisance", "evidence", "sparsity", "iterations", "seconds"). */
DMBP_API int dmbp_result_num_scalars(const dmbp_result *r);
DMBP_API const char *dmbp_result_scalar_name(const dmbp_result *r, int k);
DMBP_API double dmbp_result_scalar(const dmbp_result *r, int image, int k);

/* Results by name. A view of one named quantity of one image: for an
 * array ("a_pos", "map", ...) data points at its floats, shape is
 * dmbp_result_array_shape and value is NaN; for a scalar ("F_pos",
 * "completeness_gap", ...) data is NULL, shape.ndim is 0 and value holds
 * it. name and data belong to the result (valid until dmbp_result_free). */
typedef struct dmbp_tensor_view {
    const char *name;
    const float *data;
    dmbp_shape shape;
    double value;
} dmbp_tensor_view;

/* The index of the array / scalar called name (dmbp_result_array,
 * dmbp_result_scalar); -1 if the result has none (or r or name is NULL). */
DMBP_API int dmbp_result_find_array(const dmbp_result *r, const char *name);
DMBP_API int dmbp_result_find_scalar(const dmbp_result *r, const char *name);
/* The array or scalar called name of image `image`. Arrays come first:
 * DMBP's "nuisance" is both an array (the nuisance attribution) and a
 * scalar (its loss term; dmbp_result_find_scalar finds it). DMBP_ERR_ARG
 * for NULL arguments, an image out of range or a name the result does not
 * have (the message lists the names it has). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_result_find(const dmbp_result *r, int image, const char *name,
                 dmbp_tensor_view *out);

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

#ifdef __cplusplus
}
#endif

#endif /* DMBP_H */
