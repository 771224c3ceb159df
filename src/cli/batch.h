/* Image sets with an output directory: a list of work items, a per-item
 * callback, DIR/manifest.jsonl, --resume, failures, progress; run in this
 * process, or across MPI ranks when an MPI launcher started the program
 * (src/cli/batch.c, src/cli/mpi_run.c). Nothing here knows what an item
 * computes. */
#ifndef DMBP_CLI_BATCH_H
#define DMBP_CLI_BATCH_H

#include <stdbool.h>
#include <stdio.h>

struct cli_names;
struct cli_args;

/* What the callback reports for one item. */
typedef struct cli_item_result {
    int status;        /* EXIT_OK, or the exit status this image failed with */
    char *fragment;    /* on success, malloc'ed JSON object members for the
                          manifest: "outputs": {"kind": "path", ...},
                          "target": T, "scalars": {...} (and anything else) */
    char *text;        /* on success, malloc'ed line for stdout (no '\n') */
    char error[512];   /* on failure: the one-line reason */
} cli_item_result;

/* Compute item index (outputs written, atomically, before it returns).
 * Returns EXIT_OK when the item was handled, failed or not (see
 * res->status); any other value stops the whole run with that status (out
 * of memory, the model cannot be loaded). */
typedef int (*cli_item_fn)(void *ctx, int index, cli_item_result *res);

/* Record in res that the item failed with exit status rc: the message
 * printed for it (cli_captured), else the library's last error. Returns
 * what the callback returns for it: EXIT_OK (the run goes on), or rc
 * itself for EXIT_INTERNAL and EXIT_USAGE (a problem of the command line
 * that only an image revealed is every image's: the run stops). */
int cli_item_failed(cli_item_result *res, int rc);

typedef struct cli_batch {
    const char *const *inputs;  /* item names, as recorded in the manifest */
    int n;
    const char *dir;            /* the output directory (holds the manifest) */
    bool resume;                /* skip items the manifest records as done */
    bool quiet;                 /* no progress */
    bool json;                  /* stdout: the manifest lines, not text */
    int max_failures;           /* stop after this many (0: no limit) */
    int chunk;                  /* items handed to a rank at a time */
    cli_item_fn fn;
    void *ctx;
    /* Item index's output paths, appended to *out (a cli_names): what
     * --resume requires a record to list, and what is checked before any
     * work (never an input; an existing file the set did not list only
     * with force). */
    int (*outputs)(void *ctx, int index, struct cli_names *out);
    /* The command line and the model: --force, the run's other inputs
     * (the model, --labels, --targets, an --images list: never
     * overwritten, not even by the manifest), and the set's fingerprint
     * (manifest.h), with fp_extra's (key, value) pairs: --resume refuses
     * a manifest of another set. */
    const struct cli_args *args;
    const char *model;
    const char *const *fp_extra;
    int n_fp_extra;
} cli_batch;

/* Images handed to a rank at a time (--chunk): small, so that slow images
 * do not leave ranks idle; the scheduling cost per image is small next to
 * any explanation (docs/cluster.md). */
#define CLI_DEFAULT_CHUNK 2

/* Exit status of a run that completed but lost or failed some images. */
#define EXIT_INCOMPLETE 8

/* Run every item (see dmbp(1), "Image sets"). Chooses by itself: a worker
 * process of an MPI rank (DMBP_MPI_WORKER set), an MPI run (launched by
 * mpirun/srun and built with MPI), or this process alone. */
int cli_batch_run(const cli_batch *b);

/* One output file per image, for the subcommands whose set mode writes a
 * single file per image (predict, masks): *out gets n malloc'ed paths
 * DIR/<stem of image i><suffix>. Before any work: two images of one stem
 * are a usage error naming both; DIR is created (the ledger checks the
 * files themselves, cli_manifest_open). Message printed and status
 * returned on failure; free with cli_set_paths_free either way. */
int cli_set_paths(const char *dir, const char *const *images, int n,
                  const char *suffix, char ***out);
/* The outputs callback of such a set: ctx's first member is the paths. */
int cli_set_paths_outputs(void *ctx, int index, struct cli_names *out);
void cli_set_paths_free(char **paths, int n);
/* True in an MPI rank's worker process (DMBP_MPI_WORKER set). */
bool cli_batch_is_worker(void);

/* ---- shared by batch.c and mpi_run.c ---------------------------------- */

/* Rank 0's bookkeeping: which items remain, the manifest, progress. */
typedef struct cli_ledger cli_ledger;

int cli_ledger_open(const cli_batch *b, int ranks, cli_ledger **out);
/* Items still to compute, in order (valid until the ledger is freed). */
const int *cli_ledger_todo(const cli_ledger *l, int *count);
/* Record a finished item from a worker's result line (see
 * cli_result_format); prints its stdout line and appends the manifest
 * line. Returns EXIT_OK or an I/O error status (the manifest). */
int cli_ledger_record(cli_ledger *l, const char *line, int rank);
/* An item lost with its rank. */
void cli_ledger_lost(cli_ledger *l, int index, const char *why);
/* True once failures + lost reached --max-failures. */
bool cli_ledger_stop(const cli_ledger *l);
/* Final summary on stderr; returns the run's exit status; frees l. */
int cli_ledger_close(cli_ledger *l);

/* One item computed through the callback, as a result line:
 * "<index> ok <seconds> <json-string text> <fragment>" or
 * "<index> fail <status> <seconds> <json-string error>" (malloc'ed, no
 * '\n'), or NULL with *rc set when the run must stop. */
char *cli_result_format(const cli_batch *b, int index, int *rc);

/* The worker side of an MPI rank: item indices arrive one per line on
 * fd_in, result lines leave on fd_out (src/cli/batch.c). */
int cli_batch_worker(const cli_batch *b, int fd_in, int fd_out, int rank);

/* Launcher detection and the MPI scheduler (src/cli/mpi_run.c). Returns
 * -1 when this is not an MPI run (not built with MPI, or no launcher). */
int cli_mpi_run(const cli_batch *b);
/* The name of the launcher variable that made this an MPI run, or NULL. */
const char *cli_mpi_launcher(void);
/* Ranks of the job the launcher started (1 without a launcher, or when
 * the launcher does not say). */
int cli_launcher_ranks(void);
/* The subcommands without an image-set mode in use (no -O) would do the
 * same work on every rank: under a launcher with several ranks, rank 0
 * says so and every rank returns EXIT_USAGE; else EXIT_OK. */
int cli_refuse_replicated(const char *cmd);

/* SPMD runs (dmbp eval): every rank runs the same command on its share.
 * begin initialises MPI when an MPI launcher started the program (and the
 * program has MPI), else rank 0 of 1; end finalises it. */
int cli_spmd_begin(int *rank, int *size);
void cli_spmd_end(void);
/* Collective: the largest rc over the ranks (so that all stop together). */
int cli_spmd_agree(int rc);
/* Collective: items 0..n-1 of item_bytes each in buf; rank owner(i) has
 * item i; afterwards every rank has all of them. */
int cli_spmd_share(void *buf, size_t item_bytes, int n, int every,
                   int (*owner)(int i, int every, int size));
/* Collective: the sum over the ranks. */
double cli_spmd_sum(double v);

/* main()'s argv, for re-executing the program as a worker. */
extern char **cli_argv;

#endif
