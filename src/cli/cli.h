/* The dmbp program: a thin client of the public API (dmbp.h only). */
#ifndef DMBP_CLI_H
#define DMBP_CLI_H

#include <dmbp.h>
#include <stdbool.h>
#include <stdio.h>

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

/* Preprocessing flags shared by the subcommands that read images. */
typedef struct cli_pre {
    bool resize_set, crop_set, mean_set, std_set, no_resize;
    int resize, crop;
    float mean[3], std[3];
} cli_pre;

/* If argv[*i] is a preprocessing flag, consume it (and its value) and
 * return 1; 0 if not one; -1 (message printed) on a bad value. */
int cli_parse_pre(int argc, char **argv, int *i, cli_pre *p);
/* Model defaults overridden by the flags. */
int cli_apply_pre(const dmbp_model *m, const cli_pre *p,
                  dmbp_preprocess_options *o);

/* Parse a whole non-negative int / a finite float list "a,b,c" (1 or 3). */
bool cli_parse_int(const char *s, int lo, int hi, int *out);
bool cli_parse_floats3(const char *s, float *out);

/* JSON string literal of s on f. */
void cli_json_str(FILE *f, const char *s);

int cmd_info(int argc, char **argv);
int cmd_predict(int argc, char **argv);

#endif
