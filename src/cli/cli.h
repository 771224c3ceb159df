/* The dmbp program: a thin client of the public API (dmbp.h only). */
#ifndef DMBP_CLI_H
#define DMBP_CLI_H

#include <dmbp.h>
#include <dmbp_eval.h>
#include <dmbp_plugin.h>
#include <dmbp_render.h>
#include <stdbool.h>
#include <stdio.h>

#include "opts.h"

/* Exit statuses, documented in dmbp(1). */
enum {
    EXIT_OK = 0,
    EXIT_INTERNAL = 1,    /* out of memory, oneDNN failure, a bug */
    EXIT_USAGE = 2,       /* bad command line or option value */
    EXIT_IO = 3,          /* a file could not be read or written */
    EXIT_FORMAT = 4,      /* not an ONNX model / not a PNG, corrupt */
    EXIT_UNSUPPORTED = 5, /* the model uses something we do not handle */
    EXIT_SHAPE = 6,       /* sizes do not fit (image vs model, ...) */
    EXIT_NONFINITE = 7    /* NaN or infinity in weights or input arrays
                             (on the command line it is a usage error) */
};

/* A growing list of malloc'ed strings. */
typedef struct cli_names {
    int n, cap;
    char **v;
} cli_names;
/* Load every `--plugin FILE` of argv (src/cli/plugin.c) and remove those
 * flags from argv; an exit status (message printed) on failure. */
int cli_load_plugins(int *argc, char **argv);

/* Print "dmbp: <library detail>" and return the exit status for st. */
int cli_fail(dmbp_status st);
/* Print "dmbp: <message>" for a command-line problem; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* The model's preprocessing defaults overridden by the flags. */
int cli_apply_pre(const dmbp_model *m, const cli_flags *f,
                  dmbp_preprocess_options *o);

/* Every image the CLI reads goes through here: a PNG or JPEG file, or
 * standard input for "-", with --exif-rotate and --max-pixels. The
 * library's status (message set, not printed). */
dmbp_status cli_load_image(const char *path, const cli_flags *f,
                           dmbp_image *out);
/* The rendering options from --alpha, --colormap, --percentile,
 * --colorbar and --heatmap-only (library defaults otherwise). */
void cli_render_options(const cli_flags *f, dmbp_render_options *o);

/* Parse a whole non-negative int / a finite float list "a,b,c" (1 or 3). */
bool cli_parse_int(const char *s, int lo, int hi, int *out);
bool cli_parse_floats3(const char *s, float *out);
/* SIGINT/SIGTERM (signals.c): install the handlers; bracket every output
 * write with cli_write_begin / cli_write_end(rc), which returns rc or,
 * when a signal came meanwhile, exits with 128 + its number. */
void cli_signals_install(void);
void cli_write_begin(void);
int cli_write_end(int rc);

/* --max-memory (main.c): each plan's budget in bytes, 0 for the
 * library's default. */
extern size_t cli_max_memory;
/* "SIZE" with an optional K, M, G or T (powers of 1024) suffix. */
bool cli_parse_size(const char *s, size_t *out);

/* A whole unsigned 64-bit decimal number (no sign). */
bool cli_parse_u64(const char *s, uint64_t *out);

/* Write path through write(f, ctx) atomically: to a temporary file beside
 * it, renamed over it once complete (error printed, exit status returned). */
int cli_write_atomic(const char *path, void (*write)(FILE *, const void *),
                     const void *ctx);

/* A progress line on standard error, redrawn in place; only on a terminal
 * and without --quiet. */
typedef struct cli_progress {
    bool on;
    double t0, last;    /* start and last redraw, seconds */
    int width;          /* length of the line on screen; 0: none */
    int total;          /* images in the whole run, for the caller */
} cli_progress;

double cli_now(void);
void cli_progress_start(cli_progress *p, bool quiet);
/* Redraw (at most every 0.1 s unless forced). */
void cli_progress_draw(cli_progress *p, bool force, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void cli_progress_clear(cli_progress *p);

/* JSON string literal of s on f. */
void cli_json_str(FILE *f, const char *s);

/* Preprocessed images explained together, and what came back. */
typedef struct cli_xrun {
    dmbp_model *m;
    dmbp_session *ex;    /* m's plans, kept from one image of a set to
                              the next (set_size > 0) */
    cli_names labels;      /* --labels, or none */
    dmbp_result *r;
    dmbp_image *bg;        /* per image: the picture as loaded, in [0,1] */
    dmbp_preprocess_options pre; /* what made the model's input of it */
    int n, c, h, w;
    /* The images explained now are images first .. first + n - 1 of a set
     * of set_size (0: of n), for --targets FILE's lines (image sets
     * explain one image at a time). */
    int first, set_size;
} cli_xrun;

/* Load the model, check the target, preprocess the images and explain them
 * all in one dmbp_explain call (progress on a terminal for DMBP). On any
 * failure the message is printed and the exit status returned; free run
 * with cli_xrun_free either way. */
int cli_xrun_explain(cli_xrun *run, const char *model, const char **images,
                     int n, const cli_args *a, dmbp_method method);
/* The same in two steps: load the model (and check --target) once, then
 * explain one set of images after another with it. */
int cli_xrun_prepare(cli_xrun *run, const char *model, const cli_args *a);
int cli_xrun_images(cli_xrun *run, const char **images, int n,
                    const cli_args *a, dmbp_method method);
/* --target for the loaded model: -1 (auto) or the class (usage error). */
void cli_xrun_free(cli_xrun *run);
/* Label of the class, or NULL. */
const char *cli_xrun_label(const cli_xrun *run, int cls);
/* Fail with EXIT_IO unless the directory part of path exists and is
 * writable: checked before a long computation whose result would be lost. */
int cli_check_writable_dir(const char *path);
/* ---- inputs and outputs (src/cli/inputs.c) ---- */


void cli_names_free(cli_names *l);
int cli_names_add(cli_names *l, const char *s);
/* dir's PNG and JPEG files (by extension, *.truth.png and hidden files
 * excepted), sorted by name, appended to out; EXIT_IO if there are none. */
int cli_list_dir(const char *dir, cli_names *out);
/* IMAGE arguments: a directory becomes its images, "-" stays (standard
 * input, at most once), anything else is a file. Message printed and exit
 * status returned on failure; free out with cli_names_free either way. */
int cli_expand_images(const char *const *args, int n, cli_names *out);
/* Basename of path without a final .png/.jpg/.jpeg (any case), "stdin"
 * for "-"; malloc'ed. */
char *cli_stem(const char *path);
/* ---- labels and targets (src/cli/targets.c) ---- */

/* --labels FILE: one per line; fewer than classes is EXIT_FORMAT. */
int cli_labels_read(const char *path, int classes, cli_names *l);
/* Class c's label: from l if it has any, else the model's; or NULL. */
const char *cli_label(const dmbp_model *m, const cli_names *l, int c);
/* targets[i] for image i of n from --target or --targets FILE: a class,
 * or -1 (auto: the top class). "top:K" runs the model on the images xs
 * (n x c x h x w) once; with xs NULL it is refused. Labels match exactly,
 * else ignoring case. */
/* --targets FILE has one line per image of a set of n (image sets check
 * this before any image is computed). */
int cli_targets_check_count(const cli_flags *f, int n);
int cli_targets_resolve(const cli_flags *f, const dmbp_model *m,
                        const cli_names *labels, const float *xs, int n,
                        int c, int h, int w, int first, int set_size,
                        int *targets);

/* May the run write path? Not if it is one of the inputs (status 2) or a
 * directory (3); an existing file only with force (else 2). */
int cli_check_output(const char *path, const char *const *inputs,
                     int n_inputs, bool force);

/* DMBP masks of image i as JSON at path, atomically (src/cli/masks.c). */
int cli_masks_write(const char *path, const cli_xrun *run, int image,
                    const char *image_name);

int cmd_info(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_masks(int argc, char **argv);
int cmd_eval(int argc, char **argv);

#endif
