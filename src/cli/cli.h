/* The dmbp program: a thin client of the public API (dmbp.h and the
 * headers it names), with the library's JSON text compiled in (json.h). */
#ifndef DMBP_CLI_H
#define DMBP_CLI_H

#include <dmbp.h>
#include <dmbp_eval.h>
#include <dmbp_plugin.h>
#include <dmbp_render.h>
#include <dmbp_setrun.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "json.h" /* the library's JSON text, compiled in (src/json.c) */
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

/* Every image's target (cli_targets_load, below). */
typedef struct cli_targets {
    int n;          /* 1 (--target or auto) or set_size (--targets) */
    int *t;         /* a class, -1 (auto) or -K (top:K): dmbp_target_parse */
} cli_targets;
/* Load every `--plugin FILE` of argv (src/cli/plugin.c) and remove those
 * flags from argv; an exit status (message printed) on failure. */
int cli_load_plugins(int *argc, char **argv);

/* Print "dmbp: <library detail>" and return the exit status for st. */
int cli_fail(dmbp_status st);
/* Print "dmbp: out of memory"; returns EXIT_INTERNAL. */
int cli_oom(void);
/* v as a JSON number (%.9g: a float exactly), null when not finite. */
#define CLI_JSON_DIGITS 9
#define cli_json_num(f, v) dmbp__json_num((f), "", (v), CLI_JSON_DIGITS)
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
/* The image load options the flags give (--exif-rotate, --max-pixels). */
void cli_load_options(const cli_flags *f, dmbp_image_load_options *o);
/* DMBP_ERR_FORMAT (message set, not printed) when path exists and is not
 * a regular file or a directory (a device, a FIFO: endless data); what
 * names its role ("images", "ground truths"). "-" is standard input. */
dmbp_status cli_image_file_ok(const char *path, const char *what);
/* The rendering options from --alpha, --colormap, --percentile,
 * --colorbar and --heatmap-only (library defaults otherwise). */
void cli_render_options(const cli_flags *f, dmbp_render_options *o);

/* The rendering options checked before any image is computed (usage
 * error, message printed). */
int cli_check_render(const cli_flags *f);
/* --colormap against the maps of method (signed or not:
 * dmbp_explain_signed), before any image is computed (usage error). */
int cli_check_colormap(const cli_flags *f, dmbp_method method,
                       bool is_signed);
/* The method options of the flags checked before any image is computed,
 * in the program's words; with the model (m not NULL) also its side of
 * them (--layer). Usage error, message printed. */
int cli_check_explain(const cli_flags *f, dmbp_method method,
                      const dmbp_model *m);
/* Parse a whole non-negative int / a finite float list "a,b,c" (1 or 3). */
bool cli_parse_int(const char *s, int lo, int hi, int *out);
bool cli_parse_floats3(const char *s, float *out);
/* SIGINT/SIGTERM (signals.c): install the handlers; bracket every output
 * write with cli_write_begin / cli_write_end(rc), which returns rc or,
 * when a signal came meanwhile, exits with 128 + its number. */
void cli_signals_install(void);
void cli_write_begin(void);
int cli_write_end(int rc);

/* --max-memory (opts.c): each plan's budget in bytes, 0 for the
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

/* A monotonic clock, seconds. */
double cli_now(void);
/* Around one item of an image set: what it prints on stderr still goes
 * there, and the last "dmbp: " line is kept, without that prefix, for the
 * manifest's error field (cli_captured: "" when none). */
void cli_capture_begin(void);
void cli_capture_end(void);
const char *cli_captured(void);


/* Preprocessed images explained together, and what came back. */
typedef struct cli_xrun {
    dmbp_model *m;
    dmbp_session *ex;    /* m's plans, kept from one image of a set to
                              the next (set_size > 0) */
    cli_names labels;      /* --labels, or none */
    cli_targets tg;        /* every image's target, checked before the
                              first image (cli_xrun_prepare) */
    dmbp_result *r;
    dmbp_image *bg;        /* per image: the picture as loaded, in [0,1] */
    dmbp_preprocess_options pre; /* what made the model's input of it */
    int n;
    /* The images explained now are images first .. first + n - 1 of a set
     * of set_size (0: of n), for --targets FILE's lines (image sets
     * explain one image at a time). */
    int first, set_size;
} cli_xrun;

/* Load the model (and check --target) once, then explain one set of
 * images after another with it, all of a set in one dmbp_explain call
 * (progress on a terminal for DMBP). On any failure the message is
 * printed and the exit status returned; free run with cli_xrun_free
 * either way. */
int cli_xrun_prepare(cli_xrun *run, const char *model, const cli_args *a);
int cli_xrun_images(cli_xrun *run, const char **images, int n,
                    const cli_args *a, dmbp_method method);
/* --target for the loaded model: -1 (auto) or the class (usage error). */
void cli_xrun_free(cli_xrun *run);
/* Label of the class, or NULL. */
const char *cli_xrun_label(const cli_xrun *run, int cls);
/* Fail with EXIT_IO unless the directory part of path exists and is
 * writable (dmbp_check_writable_dir, message printed): checked before a
 * long computation whose result would be lost. */
int cli_check_writable_dir(const char *path);
/* ---- inputs and outputs (src/cli/inputs.c) ---- */


void cli_names_free(cli_names *l);
int cli_names_add(cli_names *l, const char *s);
/* dir's PNG and JPEG files (dmbp_image_set_add_dir: by extension,
 * *.truth.png and hidden files excepted, sorted by name) appended to out;
 * EXIT_IO if there are none. */
int cli_list_dir(const char *dir, cli_names *out);
/* IMAGE arguments: a directory becomes its images, "-" stays (standard
 * input, at most once), anything else is a file. Message printed and exit
 * status returned on failure; free out with cli_names_free either way. */
int cli_expand_images(const char *const *args, int n, cli_names *out);
/* --images SPEC, the same forms in every subcommand: a file listing image
 * paths (one per line; blank lines and lines starting with '#' skipped,
 * CR LF taken as LF), a directory or idx:FILE (dmbp_image_set_open). A
 * PNG given instead is a usage error saying what --images takes, an empty
 * set a usage error; other problems as the library says them. The set is
 * kept until exit (*out borrows it); cli_read_list appends its names to
 * out. Message printed and status returned on failure. */
#define CLI_IMAGES_TAKES "a file listing image paths, a directory or idx:FILE"
int cli_images_open(const char *spec, const char *takes,
                    const dmbp_image_set **out);
int cli_read_list(const char *spec, const char *takes, cli_names *out);
/* Image name of a kept idx: set ("FILE#K"): loaded with o, *found set;
 * otherwise *found false and nothing done. */
dmbp_status cli_set_image(const char *name, const dmbp_image_load_options *o,
                          dmbp_image *out, bool *found);
/* ---- labels and targets (src/cli/targets.c) ---- */

/* --labels FILE: one per line; fewer than classes is EXIT_FORMAT. */
int cli_labels_read(const char *path, int classes, cli_names *l);
/* Class c's label: from l if it has any, else the model's; or NULL. */
const char *cli_label(const dmbp_model *m, const cli_names *l, int c);
/* The target of every image, read and checked once before any image is
 * computed: --target (one for all) or --targets FILE (one line per image
 * of a set of set_size). A class, -1 (auto: the top class), or rank K >= 2
 * for top:K (resolved per image by one forward pass; refused unless
 * top_ok). "label:NAME" selects a label that reads as a number, auto or
 * top:K; a label two classes share is refused (give the index). Labels
 * match exactly, else ignoring case. --target problems are usage errors,
 * a bad line of FILE is EXIT_FORMAT naming the file and the line. */
/* (cli_targets: above, with cli_names) */
int cli_targets_load(const cli_flags *f, const dmbp_model *m,
                     const cli_names *labels, int set_size, bool top_ok,
                     cli_targets *t);
void cli_targets_free(cli_targets *t);
/* --true-labels FILE: line index[i] + 1 of file (a class or a label, as
 * --target takes them) into cls[i] for each of the n images; a missing or
 * bad line is EXIT_FORMAT naming the file and the line. */
int cli_class_lines(const char *file, const dmbp_model *m,
                    const cli_names *labels, int n, const int *index,
                    int *cls);
/* targets[i] of images first .. first + n - 1, as dmbp_explain_images
 * takes them (-K for top:K). */
int cli_targets_for(const cli_targets *t, int first, int n, int *targets);

/* May the run write each of outs? Not over one of the inputs (status 2)
 * or a directory (3); an existing file only with force (else 2):
 * dmbp_check_outputs, its message printed. */
int cli_check_outputs(const char *const *outs, int n_outs,
                      const char *const *inputs, int n_inputs, bool force);

/* Before any work: images[a] and images[b] whose outputs outs[] are one
 * name are a usage error ("... would both write OUT<tail>"). */
int cli_unique_outputs(char *const *outs, const char *const *images, int n,
                       const char *tail);

int cmd_info(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_masks(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_render(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* DIR/index.html from the image sets in dir and its subdirectories and
 * eval's reports there (src/cli/report.c): exit status, message printed;
 * "dmbp: DIR/index.html: N pictures" on stderr unless quiet. */
int cli_report_dir(const char *dir, bool quiet);

#endif
