/* The dmbp program: a thin client of the public API (dmbp.h only). */
#ifndef DMBP_CLI_H
#define DMBP_CLI_H

#include <dmbp.h>
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

/* Print "dmbp: <library detail>" and return the exit status for st. */
int cli_fail(dmbp_status st);
/* Print "dmbp: <message>" for a command-line problem; returns EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* The model's preprocessing defaults overridden by the flags. */
int cli_apply_pre(const dmbp_model *m, const cli_flags *f,
                  dmbp_preprocess_options *o);

/* Parse a whole non-negative int / a finite float list "a,b,c" (1 or 3). */
bool cli_parse_int(const char *s, int lo, int hi, int *out);
bool cli_parse_floats3(const char *s, float *out);
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
    dmbp_result *r;
    dmbp_image *bg;        /* per image: the input in [0,1], not normalised */
    int n, c, h, w;
} cli_xrun;

/* Load the model, check the target, preprocess the images and explain them
 * all in one dmbp_explain call (progress on a terminal for DMBP). On any
 * failure the message is printed and the exit status returned; free run
 * with cli_xrun_free either way. */
int cli_xrun_explain(cli_xrun *run, const char *model, const char **images,
                     int n, const cli_args *a, dmbp_method method);
void cli_xrun_free(cli_xrun *run);
/* Label of the class, or NULL. */
const char *cli_xrun_label(const cli_xrun *run, int cls);
/* Fail with EXIT_IO unless the directory part of path exists and is
 * writable: checked before a long computation whose result would be lost. */
int cli_check_writable_dir(const char *path);
/* Basename of path without a final ".png" (any case), malloc'ed. */
char *cli_stem(const char *path);

/* DMBP masks of image i as JSON at path, atomically (src/cli/masks.c). */
int cli_masks_write(const char *path, const cli_xrun *run, int image,
                    const char *image_name);

int cmd_info(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_masks(int argc, char **argv);
int cmd_eval(int argc, char **argv);

#endif
