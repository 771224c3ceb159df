/* The options of every subcommand in one table (src/cli/opts.c parses
 * them, prints the help and suggests the nearest name).
 *
 * Adding an option is one row of CLI_OPTIONS below: the row declares the
 * field of cli_flags that receives the value, the enum id (CLI_O_<ID>)
 * that cli_flags.given[] is indexed by, the subcommands that accept it,
 * the methods it applies to, and its line of --help. Then use the field in
 * the subcommand (or in cli_explain_options for a method setting). */
#ifndef DMBP_CLI_OPTS_H
#define DMBP_CLI_OPTS_H

#include <dmbp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Subcommands, as bits of a row's commands. */
enum {
    CMD_INFO = 1u << 0,
    CMD_PREDICT = 1u << 1,
    CMD_EXPLAIN = 1u << 2,
    CMD_MASKS = 1u << 3,
    CMD_EVAL = 1u << 4,
    CMD_RENDER = 1u << 5,
    CMD_REPORT = 1u << 6
};
#define CMD_ALL (CMD_INFO | CMD_PREDICT | CMD_EXPLAIN | CMD_MASKS | CMD_EVAL | \
                 CMD_RENDER | CMD_REPORT)
/* explain's and render's pictures. */
#define CMD_DRAW (CMD_EXPLAIN | CMD_RENDER)
/* The subcommands that run the network. */
#define CMD_RUN (CMD_PREDICT | CMD_EXPLAIN | CMD_MASKS | CMD_EVAL)
/* The subcommands with an image-set mode (-O DIR, src/cli/runner.h). */
#define CMD_SETS (CMD_PREDICT | CMD_EXPLAIN | CMD_MASKS | CMD_EVAL)
/* The subcommands that compute attributions. */
#define CMD_ATTR (CMD_EXPLAIN | CMD_MASKS | CMD_EVAL)

/* Methods, as bits of a row's methods (0: not a method setting). */
#define MB(x) (1u << DMBP_METHOD_##x)
#define MB_ALL (MB(SALIENCY) | MB(GXI) | MB(IG) | MB(SMOOTHGRAD) | \
                MB(GUIDED) | MB(GRADCAM) | MB(DMBP) | MB(OCCLUSION) |   \
                MB(GRADCAMPP) | MB(SCORECAM) | MB(RISE) | MB(LRP))
/* The methods of Grad-CAM's layer. */
#define MB_CAMS (MB(GRADCAM) | MB(GRADCAMPP) | MB(SCORECAM))

/* How a value is read (and its C type in cli_flags). */
typedef enum cli_kind {
    K_SWITCH,      /* bool: no value                                      */
    K_STRING,      /* const char *: any word, even empty                  */
    K_NAME,        /* const char *: a non-empty word (a file, a name)     */
    K_INT,         /* int in [lo, hi]                                     */
    K_U64,         /* uint64_t: a whole decimal number                    */
    K_FLOAT,       /* float: finite                                       */
    K_FLOAT_POS,   /* float: finite, > 0                                  */
    K_FLOAT_NONNEG,/* float: finite, >= 0                                 */
    K_FLOAT3,      /* float[3]: 1 or 3 finite numbers "a,b,c"             */
    K_CHOICE       /* int: the index of the value in "a|b|c"              */
} cli_kind;

typedef float cli_float3[3];

/* X(ID, "long-name", 'short' or 0, kind, C type, field, lo, hi,
 *   "choice|list" or NULL, commands, methods, "ARG" or NULL, "help").
 * Two rows may share a name only if they belong to different subcommands
 * and mean the same thing in both (--seed). Old spellings kept for one
 * release are opts.c's deprecated[]. */
#define CLI_OPTIONS(X)                                                       \
    X(HELP, "help", 'h', K_SWITCH, bool, help, 0, 0, NULL, CMD_ALL, 0,       \
      NULL, "this subcommand's usage")                                       \
    X(JSON, "json", 0, K_SWITCH, bool, json, 0, 0, NULL, CMD_ALL, 0, NULL,   \
      "JSON lines on standard output instead of text")                       \
    X(QUIET, "quiet", 'q', K_SWITCH, bool, quiet, 0, 0, NULL, CMD_ALL, 0,    \
      NULL, "no progress line or notes on standard error")                   \
    X(THREADS, "threads", 0, K_INT, int, threads, 1, 4096, NULL, CMD_RUN, 0, \
      "N", "threads to compute with (default: all cores)")                  \
    X(PLUGIN, "plugin", 0, K_NAME, const char *, plugin, 0, 0, NULL,         \
      CMD_ALL, 0, "FILE",                                                    \
      "load an operator plugin (a shared object exporting "                 \
      "dmbp_plugin_register); repeatable")                                   \
    X(TOL, "tol", 0, K_FLOAT_NONNEG, float, tol, 0, 0, NULL, CMD_ATTR,       \
      MB(DMBP), "X",                                                         \
      "stop when the loss changed by less than X (relative) over a window " \
      "of iterations (0: run them all)")                                     \
    X(MAX_MEMORY, "max-memory", 0, K_NAME, const char *, max_memory, 0, 0,  \
      NULL, CMD_RUN, 0, "SIZE",                                              \
      "memory budget of each plan, e.g. 4G (default: half the physical "    \
      "memory); more is exit 6")                                            \
    X(FPMATH, "fpmath", 0, K_CHOICE, int, fpmath, 0, 0, "strict|f32|bf16",   \
      CMD_RUN, MB_ALL, "MODE",                                               \
      "strict (f32, default) or bf16 (AVX512-BF16/AMX CPUs)")                \
    X(LABELS, "labels", 0, K_NAME, const char *, labels, 0, 0, NULL,         \
      CMD_PREDICT | CMD_DRAW | CMD_MASKS | CMD_EVAL, 0, "FILE",              \
      "class names, one per line (default: the model's)")                    \
    X(LAYERS, "layers", 0, K_SWITCH, bool, layers, 0, 0, NULL, CMD_INFO, 0,  \
      NULL, "every layer: name, op, output shape, mask site")                \
    X(TOP, "top", 0, K_INT, int, top, 1, 1 << 30, NULL,                      \
      CMD_PREDICT | CMD_MASKS, 0, "K", "classes shown (5); masks: filters")  \
    X(BATCH, "batch", 0, K_INT, int, batch, 1, 65536, NULL,                  \
      CMD_PREDICT | CMD_EVAL, 0, "N",                                        \
      "images per forward pass (predict 8, at most 1024; eval 64)")          \
    X(RESIZE, "resize", 0, K_INT, int, resize, 0, 16384, NULL, CMD_RUN | CMD_RENDER, 0,\
      "N", "shorter side resized to N (model default)")                     \
    X(NO_RESIZE, "no-resize", 0, K_SWITCH, bool, no_resize, 0, 0, NULL,      \
      CMD_RUN | CMD_RENDER, 0, NULL, "no resize")                                         \
    X(CROP, "crop", 0, K_INT, int, crop, 0, 16384, NULL, CMD_RUN | CMD_RENDER, \
      0, "N",                                                                \
      "centre crop to NxN (model default)")                                  \
    X(MEAN, "mean", 0, K_FLOAT3, cli_float3, mean, 0, 0, NULL, CMD_RUN, 0,   \
      "M", "normalisation mean, 1 or 3 numbers a,b,c")                      \
    X(STD, "std", 0, K_FLOAT3, cli_float3, std, 0, 0, NULL, CMD_RUN, 0, "S", \
      "normalisation standard deviation, 1 or 3 numbers, not 0")             \
    X(METHOD, "method", 'm', K_CHOICE, int, method, 0, 0,                    \
      "saliency|gxi|ig|smoothgrad|guided|gradcam|dmbp|occlusion|gradcam++|"  \
      "scorecam|rise|lrp|gradcampp", CMD_DRAW, 0, "M",                        \
      "attribution method (dmbp)")                                           \
    X(TARGET, "target", 0, K_NAME, const char *, target, 0, 0, NULL,         \
      CMD_ATTR | CMD_RENDER, 0, "T",                                                      \
      "class explained: auto (top class), an index, a label or top:K "      \
      "(the K-th class)")                                                    \
    X(TARGETS, "targets", 0, K_NAME, const char *, targets, 0, 0, NULL,      \
      CMD_EXPLAIN, 0, "FILE", "one target per image, one per line")         \
    X(OUTPUT, "output", 'o', K_NAME, const char *, output, 0, 0, NULL,       \
      CMD_DRAW | CMD_MASKS | CMD_EVAL, 0, "PREFIX",                       \
      "output name (a directory if it ends in / or is one; masks: the "     \
      "JSON file; eval: PREFIX.csv, .json, .svg and .md)")                  \
    X(OUTPUT_DIR, "output-dir", 'O', K_NAME, const char *, output_dir, 0, 0, \
      NULL, CMD_SETS, 0, "DIR",                                              \
      "an image set: DIR/manifest.jsonl and DIR/<image>-<method|predict|"   \
      "masks>... files (eval: DIR/eval.csv, .json, .svg and .md)")          \
    X(FORCE, "force", 'f', K_SWITCH, bool, force, 0, 0, NULL,                \
      CMD_SETS | CMD_RENDER, 0,   \
      NULL,                                                                  \
      "overwrite existing files this run did not create")                   \
    X(MASKS, "masks", 0, K_NAME, const char *, masks, 0, 0, NULL,            \
      CMD_EXPLAIN, MB(DMBP), "FILE", "also DMBP's masks as JSON")           \
    X(MAX_LANES, "max-lanes", 0, K_INT, int, max_lanes, 1, 65536, NULL,      \
      CMD_ATTR, MB_ALL, "N", "images x samples computed together (32)")     \
    X(ABS, "abs", 0, K_SWITCH, bool, abs, 0, 0, NULL,                        \
      CMD_DRAW | CMD_EVAL, MB(SALIENCY), NULL,                               \
      "saliency: max over channels of |gradient|")                          \
    X(STEPS, "steps", 0, K_INT, int, steps, 1, 100000, NULL, CMD_EXPLAIN,    \
      MB(IG), "N", "IG's steps (32)")                                        \
    X(BASELINE, "baseline", 0, K_CHOICE, int, baseline, 0, 0,                \
      "zero|black|blur", CMD_EXPLAIN | CMD_EVAL, MB(IG) | MB(OCCLUSION), "B", \
      "IG's baseline, occlusion's patch (zero)")                             \
    X(IG_RULE, "ig-rule", 0, K_CHOICE, int, ig_rule, 0, 0,                   \
      "midpoint|trapezoid|left|right", CMD_EXPLAIN, MB(IG), "R",             \
      "IG's quadrature (midpoint)")                                          \
    X(SAMPLES, "samples", 0, K_INT, int, samples, 1, 100000, NULL, CMD_ATTR, \
      MB(SMOOTHGRAD) | MB(DMBP) | MB(RISE), "N",                             \
      "noisy samples or random masks (smoothgrad 16, dmbp 1, rise 4000)")    \
    X(SIGMA, "sigma", 0, K_FLOAT_POS, float, sigma, 0, 0, NULL, CMD_ATTR,    \
      MB(SMOOTHGRAD) | MB(DMBP), "S",                                        \
      "noise level (smoothgrad 0.15, dmbp 0.1)")                             \
    X(SEED, "seed", 0, K_U64, uint64_t, seed, 0, 0, NULL,                    \
      CMD_EXPLAIN | CMD_MASKS, MB(SMOOTHGRAD) | MB(DMBP) | MB(RISE), "N",    \
      "noise or mask seed (0)")                                              \
    X(OF, "of", 0, K_CHOICE, int, of, 0, 0, "grad|gxi", CMD_EXPLAIN,         \
      MB(SMOOTHGRAD), "grad|gxi", "what SmoothGrad averages (gxi)")          \
    X(LAYER, "layer", 0, K_NAME, const char *, layer, 0, 0, NULL,            \
      CMD_EXPLAIN | CMD_EVAL, MB_CAMS, "NAME",                               \
      "the CAMs' layer (the last Conv; see info --layers)")                 \
    X(WINDOW, "window", 0, K_INT, int, window, 1, DMBP_IMAGE_MAX_SIDE, NULL, \
      CMD_EXPLAIN | CMD_EVAL, MB(OCCLUSION), "W",                            \
      "occlusion's patch side (side / 28 rounded, at least 2: 8 at 224)")   \
    X(STRIDE, "stride", 0, K_INT, int, stride, 1, DMBP_IMAGE_MAX_SIDE, NULL, \
      CMD_EXPLAIN | CMD_EVAL, MB(OCCLUSION), "S",                            \
      "occlusion's patch step (window / 2)")                                 \
    X(GRID, "grid", 0, K_INT, int, grid, 1, DMBP_IMAGE_MAX_SIDE, NULL,       \
      CMD_EXPLAIN | CMD_EVAL, MB(RISE), "S", "RISE's mask cells per side (7)")\
    X(KEEP, "keep", 0, K_FLOAT_POS, float, keep, 0, 0, NULL,                 \
      CMD_EXPLAIN | CMD_EVAL, MB(RISE), "P",                                 \
      "RISE's probability that a cell is kept, at most 1 (0.5)")            \
    X(COMPOSITE, "composite", 0, K_CHOICE, int, composite, 0, 0,             \
      "epsilon|epsilon-plus|epsilon-plus-flat|epsilon-gamma-box|"            \
      "epsilon-alpha2-beta1|epsilon-alpha1-beta0", CMD_EXPLAIN | CMD_EVAL,   \
      MB(LRP), "NAME", "LRP's rules per layer: epsilon, epsilon-plus, "      \
      "epsilon-plus-flat (default), epsilon-gamma-box, epsilon-alpha2-beta1 " \
      "or epsilon-alpha1-beta0")                                             \
    X(EPSILON, "epsilon", 0, K_FLOAT_POS, float, epsilon, 0, 0, NULL,        \
      CMD_EXPLAIN | CMD_EVAL, MB(LRP), "X", "LRP's stabiliser (1e-6)")       \
    X(GAMMA, "gamma", 0, K_FLOAT_NONNEG, float, gamma, 0, 0, NULL,           \
      CMD_EXPLAIN | CMD_EVAL, MB(LRP), "G",                                  \
      "LRP's gamma rule weight (0.25)")                                      \
    X(ITERS, "iters", 0, K_INT, int, iters, 1, 1000000, NULL, CMD_ATTR,      \
      MB(DMBP), "N",                                                         \
      "DMBP's iterations (preset's: 180, path 40, classic 200)")             \
    X(LR, "lr", 0, K_FLOAT_POS, float, lr, 0, 0, NULL, CMD_ATTR, MB(DMBP),   \
      "X", "DMBP's learning rate (0.05)")                                    \
    X(INIT_LOGIT, "init-logit", 0, K_FLOAT, float, init_logit, 0, 0, NULL,   \
      CMD_ATTR, MB(DMBP), "X", "DMBP's initial mask logit (2)")              \
    X(PRESET, "preset", 0, K_CHOICE, int, preset, 0, 0,                      \
      "dmbp|classic|path|path-rr|path-evidence|evidence", CMD_ATTR,         \
      MB(DMBP), "P",                                                         \
      "DMBP's formulation and weights (dmbp)")                               \
    X(PATH_STEPS, "path-steps", 0, K_INT, int, path_steps, 0, 1024, NULL,    \
      CMD_ATTR, MB(DMBP), "K", "DMBP's copies on the path, 0: at x (preset)")\
    X(PATH_REFRESH, "path-refresh", 0, K_INT, int, path_refresh, 0, 1024,    \
      NULL, CMD_ATTR, MB(DMBP), "R",                                         \
      "path copies run per iteration, 0: all (preset)")                      \
    X(FIX_NEGATIVE, "fix-negative", 0, K_SWITCH, bool, fix_negative, 0, 0,   \
      NULL, CMD_ATTR, MB(DMBP), NULL,                                        \
      "negative masks stay at their start; only m+ learns")                  \
    X(MASK_INIT, "mask-init", 0, K_CHOICE, int, mask_init, 0, 0,             \
      "constant|contribution", CMD_ATTR, MB(DMBP), "I",                      \
      "DMBP's mask start (preset)")                                          \
    X(W_COMPLETENESS, "w-completeness", 0, K_FLOAT_NONNEG, float,            \
      w_completeness, 0, 0, NULL, CMD_ATTR, MB(DMBP), "X",                   \
      "DMBP's completeness weight (10)")                                     \
    X(W_SIGN, "w-sign", 0, K_FLOAT_NONNEG, float, w_sign, 0, 0, NULL,        \
      CMD_ATTR, MB(DMBP), "X", "DMBP's sign weight (3)")                     \
    X(W_NUISANCE, "w-nuisance", 0, K_FLOAT_NONNEG, float, w_nuisance, 0, 0,  \
      NULL, CMD_ATTR, MB(DMBP), "X", "DMBP's nuisance weight (1)")           \
    X(W_EVIDENCE, "w-evidence", 0, K_FLOAT_NONNEG, float, w_evidence, 0, 0,  \
      NULL, CMD_ATTR, MB(DMBP), "X",                                         \
      "DMBP's evidence weight (preset's: 1; classic, path, path-rr 0)")      \
    X(W_SPARSITY, "w-sparsity", 0, K_FLOAT_NONNEG, float, w_sparsity, 0, 0,  \
      NULL, CMD_ATTR, MB(DMBP), "X", "DMBP's sparsity weight (0.01)")        \
    X(EXIF_ROTATE, "exif-rotate", 0, K_SWITCH, bool, exif_rotate, 0, 0,     \
      NULL, CMD_RUN | CMD_RENDER, 0, NULL,                                                \
      "turn JPEGs upright by their EXIF orientation")                       \
    X(MAX_PIXELS, "max-pixels", 0, K_U64, uint64_t, max_pixels, 0, 0, NULL,  \
      CMD_RUN | CMD_RENDER, 0, "N", "largest image accepted, in pixels (67108864; 0: any)")\
    X(ALPHA, "alpha", 0, K_FLOAT_NONNEG, float, alpha, 0, 0, NULL,           \
      CMD_DRAW, 0, "A", "heatmap opacity over the picture, 0..1 (0.7)")   \
    X(COLORMAP, "colormap", 0, K_CHOICE, int, colormap, 0, 0,                \
      "default|seismic|bwr|reds|inferno", CMD_DRAW, 0, "NAME",               \
      "seismic/bwr (signed maps), reds/inferno (non-negative)")             \
    X(PERCENTILE, "percentile", 0, K_FLOAT_POS, float, percentile, 0, 0,     \
      NULL, CMD_DRAW, 0, "P", "clip the map at its P-th percentile (99.99)")\
    X(COLORBAR, "colorbar", 0, K_SWITCH, bool, colorbar, 0, 0, NULL,         \
      CMD_DRAW, 0, NULL, "a colour bar with the scale's values")             \
    X(HEATMAP_ONLY, "heatmap-only", 0, K_SWITCH, bool, heatmap_only, 0, 0,   \
      NULL, CMD_DRAW, 0, NULL, "the map alone, without the picture")         \
    X(KEEP_COLOUR, "keep-colour", 0, K_SWITCH, bool, keep_colour, 0, 0,      \
      NULL, CMD_DRAW, 0, NULL,                                               \
      "the picture under the map in its colours (default: grey)")           \
    X(CAPTION, "caption", 0, K_SWITCH, bool, caption, 0, 0, NULL, CMD_DRAW,  \
      0, NULL, "a line over each picture: class, method, F values")         \
    X(IMAGE, "image", 0, K_NAME, const char *, image, 0, 0, NULL,            \
      CMD_RENDER, 0, "IMAGE", "the picture the result was computed on")     \
    X(MODEL, "model", 0, K_NAME, const char *, model, 0, 0, NULL,            \
      CMD_RENDER, 0, "MODEL",                                                \
      "the model: its preprocessing, labels and the top class")             \
    X(HTML, "html", 0, K_SWITCH, bool, html, 0, 0, NULL, CMD_EXPLAIN, 0,     \
      NULL, "with -O: also DIR/index.html, the pictures side by side (as "  \
      "dmbp report DIR)")                                                   \
    X(SHARED_SCALE, "shared-scale", 0, K_SWITCH, bool, shared_scale, 0, 0,   \
      NULL, CMD_EXPLAIN, 0, NULL,                                            \
      "one colour scale for all images of the run (not with -O)")           \
    X(IMAGES, "images", 0, K_NAME, const char *, images, 0, 0, NULL,         \
      CMD_SETS, 0, "SPEC",                                                   \
      "a file listing image paths, a directory, or idx:FILE (eval: "         \
      "required)")                                                           \
    X(RESUME, "resume", 0, K_SWITCH, bool, resume, 0, 0, NULL, CMD_SETS,     \
      0, NULL, "with -O: skip the images DIR/manifest.jsonl proves done "   \
      "(see IMAGE SETS AND MPI and FILES in dmbp(1))")   \
    X(MAX_FAILURES, "max-failures", 0, K_INT, int, max_failures, 1,          \
      INT32_MAX, NULL, CMD_SETS, 0, "K",                                     \
      "with -O: stop after K failed or lost images (default: no limit)")                        \
    X(CHUNK, "chunk", 0, K_INT, int, chunk, 1, 1000000, NULL, CMD_SETS,      \
      0, "N", "with -O under MPI: images handed to a rank at a time (2; "         \
      "eval: --batch)")   \
    X(METHODS, "methods", 0, K_NAME, const char *, methods, 0, 0, NULL,      \
      CMD_EVAL, 0, "M,M,...", "methods compared (all)")                      \
    X(N, "n", 0, K_INT, int, n, 1, 1 << 28, NULL, CMD_EVAL, 0, "N",          \
      "images used (all)")                                                   \
    X(OFFSET, "offset", 0, K_INT, int, offset, 0, 1 << 28, NULL, CMD_EVAL,   \
      0, "K", "first image used (0)")                                        \
    X(CURVE_STEPS, "curve-steps", 0, K_INT, int, curve_steps, 1, 100000, NULL,     \
      CMD_EVAL, 0, "N", "deletion/insertion curve steps (20)")              \
    X(STEP_PIXELS, "step-pixels", 0, K_INT, int, step_pixels, 1, INT32_MAX,  \
      NULL, CMD_EVAL, 0, "N", "pixels per curve step instead of --curve-steps")   \
    X(SUBSTRATE, "substrate", 0, K_CHOICE, int, substrate, 0, 0,             \
      "zero|blur|mean", CMD_EVAL, 0, "S", "what deleted pixels become (zero)")\
    X(INSERTION_START, "insertion-start", 0, K_CHOICE, int, insertion_start, \
      0, 0, "blur|zero|mean", CMD_EVAL, 0, "S",                              \
      "what insertion starts from (blur)")                                   \
    X(REGIONS, "regions", 0, K_INT, int, regions, 1, 100000, NULL, CMD_EVAL, \
      0, "N", "AOPC regions (20)")                                           \
    X(REGION_SIZE, "region-size", 0, K_INT, int, region_size, 1,             \
      DMBP_IMAGE_MAX_SIDE, NULL, CMD_EVAL, 0, "N", "AOPC region side (9)")   \
    X(EVAL_SEED, "seed", 0, K_U64, uint64_t, eval_seed, 0, 0, NULL,          \
      CMD_EVAL, 0, "N", "seed of the noise and the randomisation (0)")       \
    X(RAND_IMAGES, "randomization-images", 0, K_INT, int, rand_images, 0,    \
      1 << 28, NULL, CMD_EVAL, 0, "K", "images of the randomisation check (8)")\
    X(AGAINST, "against", 0, K_NAME, const char *, against, 0, 0, NULL,      \
      CMD_EVAL, 0, "M", "paired differences against method M")              \
    X(CSV, "csv", 0, K_NAME, const char *, csv, 0, 0, NULL, CMD_EVAL, 0,     \
      "FILE", "per-image metrics as CSV")                                    \
    X(JSON_OUT, "json-out", 0, K_NAME, const char *, json_out, 0, 0, NULL,   \
      CMD_EVAL, 0, "FILE", "the full results as JSON")                       \
    X(PLOT, "plot", 0, K_NAME, const char *, plot, 0, 0, NULL, CMD_EVAL, 0,  \
      "FILE.svg", "the mean curves as SVG")                                  \
    X(MARKDOWN, "markdown", 0, K_NAME, const char *, markdown, 0, 0, NULL,   \
      CMD_EVAL, 0, "FILE", "the tables as Markdown")                         \
    X(GROUND_TRUTH, "ground-truth", 0, K_SWITCH, bool, ground_truth, 0, 0,   \
      NULL, CMD_EVAL, 0, NULL,                                               \
      "also score the maps against NAME.truth.png beside each image")      \
    X(EVAL_TARGETS, "targets", 0, K_NAME, const char *, eval_targets, 0, 0,  \
      NULL, CMD_EVAL, 0, "true",                                             \
      "explain each image's true class (--true-labels, or an idx: set's "    \
      "labels file)")                                                        \
    X(TRUE_LABELS, "true-labels", 0, K_NAME, const char *, true_labels, 0,   \
      0, NULL, CMD_EVAL, 0, "FILE",                                          \
      "each image's true class (a class or label), one line per image")

#define CLI_OPT_ID(ID, ...) CLI_O_##ID,
enum { CLI_OPTIONS(CLI_OPT_ID) CLI_O_COUNT };
#undef CLI_OPT_ID

/* Every option's value; given[CLI_O_X] says whether X was on the command
 * line (the value of an option not given is zero, not its default). */
typedef struct cli_flags {
#define CLI_OPT_FIELD(ID, NAME, SH, KIND, TYPE, FIELD, ...) TYPE FIELD;
    CLI_OPTIONS(CLI_OPT_FIELD)
#undef CLI_OPT_FIELD
    bool given[CLI_O_COUNT];
} cli_flags;

/* A parsed command line: the flags and the words that are not options. */
typedef struct cli_args {
    unsigned cmd;         /* CMD_* */
    const char *cmd_name;
    cli_flags f;
    int n_pos;
    const char **pos;     /* malloc'ed, pointing into argv */
    char *owned[4];       /* names the parser made (eval's reports) */
} cli_args;

/* Parse argv[1..argc) of subcommand cmd (argv[0] is its name). Returns
 * EXIT_OK, EXIT_USAGE (message printed), or -1 when --help was asked and
 * printed (the caller exits 0). Free a with cli_args_free either way. */
int cli_args_parse(unsigned cmd, int argc, char **argv, cli_args *a);
void cli_args_free(cli_args *a);

/* "unknown command WORD", naming the nearest command when WORD looks like
 * a typo of one: usage error (message printed). */
int cli_unknown_command(const char *word);

/* Usage of one subcommand (from the table), or of dmbp with every option
 * (cmd 0). */
void cli_usage(FILE *f, unsigned cmd);

/* The choice names of option id, "a|b|c", and the index'th of them in buf. */
const char *cli_choice(int id, int index, char *buf, size_t cap);

/* Option id's long name (without "--"), and its value in f as text (a
 * choice by name, a switch as on/off). */
const char *cli_option_name(int id);
void cli_option_text(const cli_flags *f, int id, char *buf, size_t cap);

/* Refuse options of methods not in `methods` (bits MB(...)), naming
 * `what` (e.g. "--method ig" or "--methods saliency,gxi"): usage error. */
int cli_check_methods(const cli_args *a, unsigned methods, const char *what);

/* The library's explain options for method m from the flags: defaults,
 * then the preset, then every method option given that applies to m; the
 * normalisation of pre. The one path from flags to dmbp_explain_options. */
int cli_explain_options(const cli_flags *f, dmbp_method m,
                        const dmbp_preprocess_options *pre,
                        dmbp_explain_options *o);

#endif
