/*
 * dmbp_setrun.h - libdmbp: running an image set item by item, with its
 * manifest (DIR/manifest.jsonl: one JSON line per item, dmbp(1) FILES),
 * resume after an interrupted run, failures recorded and the rest going
 * on, progress and a summary. What an item computes is the caller's (a
 * callback); so is the transport between processes: one process runs the
 * set with dmbp_setrun_run, and a run over several processes (the dmbp
 * program's MPI ranks) is the same ledger fed with result lines that
 * workers made with dmbp_setrun_compute. Includes dmbp.h.
 */
#ifndef DMBP_SETRUN_H
#define DMBP_SETRUN_H

#include <dmbp.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One item as the item callback sees it. */
typedef struct dmbp_setrun_item {
    int index;        /* in the set's inputs                              */
    FILE *fragment;   /* on success: JSON object members for its manifest
                         line ("outputs": {"kind": "path", ...}, ...)     */
    FILE *text;       /* on success: its line for the run's out (none if
                         empty)                                           */
    int status;       /* 0, or the caller's non-zero code the item failed
                         with (recorded as "exit_status")                 */
    char error[512];  /* on failure: the one-line reason                  */
} dmbp_setrun_item;

/* The output paths of an item, as the outputs callback lists them. */
typedef struct dmbp_setrun_paths dmbp_setrun_paths;
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_setrun_paths_add(dmbp_setrun_paths *p, const char *path);

typedef struct dmbp_setrun_options {
    size_t struct_size; /* sizeof, set by the _init macro: leave it       */
    const char *dir;    /* the output directory holding manifest.jsonl;
                           NULL: no manifest (nothing to resume)          */
    int resume;         /* skip the items the manifest proves done        */
    int force;          /* outputs may replace existing files, and resume
                           may start over a manifest of another set       */
    int json;           /* out gets each item's manifest line, not text   */
    int max_failures;   /* stop once this many failed or were lost (0: no
                           limit)                                         */
    int quiet;          /* no progress and no notes on log (a summary of
                           what went wrong still goes there)              */
    int ranks;          /* 0: one process; N > 0: the ledger of a run over
                           N processes (its messages count lost items)    */
    FILE *log;          /* progress and the summary; NULL: none            */
    FILE *out;          /* each finished item's line; NULL: none           */
    /* What made the set's results, as n_fingerprint (key, value) pairs
     * (2 n_fingerprint strings): the manifest's first line. Resume
     * refuses a manifest whose fingerprint differs, naming the keys. */
    const char *const *fingerprint;
    int n_fingerprint;
    /* Files the run reads besides the items (a model, a labels file):
     * never overwritten, like the items' own inputs. */
    const char *const *protect;
    int n_protect;
    /* Compute item it->index (its outputs written before it returns) and
     * describe it: 0 when the item was handled, failed or not
     * (it->status); any other value stops the whole run. */
    int (*item)(void *user, dmbp_setrun_item *it);
    /* Item index's output paths: what resume requires its record to
     * list, and what is checked before any work (never an input, an
     * existing file only with force or when the set itself listed it).
     * NULL: items write no file of their own. */
    dmbp_status (*outputs)(void *user, int index, dmbp_setrun_paths *out);
    /* For every item done, in the ledger's process: its whole manifest
     * line (a fresh item's, or the record that proved it done). Non-zero:
     * its results do not read back (resume computes it again; for a fresh
     * item DMBP_ERR_INTERNAL). NULL: not needed. */
    int (*record)(void *user, int index, const char *line);
    void *user;
} dmbp_setrun_options;

DMBP_API void dmbp_setrun_options_init_sized(dmbp_setrun_options *o,
                                             size_t struct_size);
#define dmbp_setrun_options_init(o)                                         \
    dmbp_setrun_options_init_sized((o), sizeof *(o))

/* How a run ended. */
typedef struct dmbp_setrun_summary {
    int done, failed, lost, not_started, skipped; /* skipped: resumed     */
    int first_status;   /* the first failed item's status, or 0           */
    int stop;           /* the callback's value that stopped the run, or 0 */
    int max_failures;   /* the run stopped at max_failures                */
} dmbp_setrun_summary;

/* The ledger of a set: the process that keeps the manifest. */
typedef struct dmbp_setrun dmbp_setrun;

/* Open the set of n inputs (item names as the manifest records them;
 * borrowed until dmbp_setrun_close): with o->dir, the manifest's checks
 * (not a symbolic link, a regular file, not an input), with o->resume the
 * items it proves done (last record "ok", the input's size and time
 * unchanged, every output listed and a regular file inside dir), every
 * other item's outputs checked as a fresh run's, then the fingerprint (a
 * fresh manifest) and a "claimed" line per item to compute appended, on
 * disk before any output is. DMBP_ERR_ARG for another set's manifest
 * without force or an output that would replace an input or an existing
 * file; DMBP_ERR_IO for file problems. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_setrun_open(const char *const *inputs, int n,
                 const dmbp_setrun_options *o, dmbp_setrun **out);
/* Items still to compute, in order (valid until the ledger is closed). */
DMBP_API const int *dmbp_setrun_todo(const dmbp_setrun *s, int *count);
/* Record a finished item from its result line (dmbp_setrun_compute),
 * computed by process rank: appends its manifest line, prints its line
 * on out, passes it to the record callback. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_setrun_record(dmbp_setrun *s,
                                                       const char *line,
                                                       int rank);
/* An item lost with the process computing it (why: what happened). */
DMBP_API void dmbp_setrun_lost(dmbp_setrun *s, int index, const char *why);
/* Non-zero once failures and lost items reached max_failures. */
DMBP_API int dmbp_setrun_stopped(const dmbp_setrun *s);
/* The summary on log, *sum filled (may be NULL), the manifest closed and
 * s freed (NULL is fine). DMBP_ERR_IO if the manifest did not close. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_setrun_close(dmbp_setrun *s, dmbp_setrun_summary *sum);

/* Compute item index of inputs through o->item (anywhere: no ledger
 * needed) into its result line, malloc'ed into *line (free() it). When
 * the callback stops the run: *line NULL and *stop its value. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_setrun_compute(const char *const *inputs, int n, int index,
                    const dmbp_setrun_options *o, char **line, int *stop);
/* A worker: item indices arrive one per line on fd_in, result lines leave
 * on fd_out, until fd_in ends or the callback stops (*stop). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_setrun_serve(const char *const *inputs, int n,
                  const dmbp_setrun_options *o, int fd_in, int fd_out,
                  int *stop);
/* The whole set in this process: open, compute and record every item to
 * do (until max_failures or a stop), close. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_setrun_run(const char *const *inputs, int n,
                const dmbp_setrun_options *o, dmbp_setrun_summary *sum);

/* ---- several processes ------------------------------------------------ */

/* How the ranks of a run reach each other (the dmbp program's MPI): text
 * messages, each NUL-terminated, handed over whole. */
typedef struct dmbp_setrun_transport {
    int rank, ranks;    /* this process, and how many take part            */
    /* Send len bytes of buf (malloc'ed: the transport's from here on, to
     * free once sent, also on failure) to rank dest; non-zero: failed. */
    int (*send)(void *user, int dest, void *buf, size_t len);
    /* A message for this rank if one came: 1 with *buf (malloc'ed: the
     * library frees it), *len and the sender *src; 0 when none; < 0 on
     * failure. Never waits. */
    int (*receive)(void *user, void **buf, size_t *len, int *src);
    /* Move sends along: how many are still on their way; < 0 on failure. */
    int (*flush)(void *user);
    void *user;
} dmbp_setrun_transport;

/* A worker process: the caller's program started again (path, argv, the
 * environment with env set to "IN:OUT:RANK", the descriptors of its two
 * pipes and rank), which should call dmbp_setrun_serve(IN, OUT). Start it
 * before the transport exists (nothing of it is forked). */
typedef struct dmbp_setrun_worker dmbp_setrun_worker;
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_setrun_worker_start(const char *path, char *const *argv,
                         const char *env, int rank,
                         dmbp_setrun_worker **out);
/* Ends the worker (its pipes closed, waited for). NULL is fine. */
DMBP_API void dmbp_setrun_worker_free(dmbp_setrun_worker *w);

/* This process's part of a run over t->ranks processes: its agent feeds
 * worker w the items it gets, a chunk at a time, and passes the results
 * on; rank 0 also keeps the ledger (dmbp_setrun_open with o: set
 * o->ranks), hands out the items and records them (*sum, rank 0 only). A
 * worker that dies costs its one in-flight item, counted lost; the rest
 * of its chunk goes to the others. */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_setrun_rank(const char *const *inputs, int n,
                 const dmbp_setrun_options *o,
                 const dmbp_setrun_transport *t, int chunk,
                 dmbp_setrun_worker *w, dmbp_setrun_summary *sum);

/* May the run write each of outputs? Not over one of inputs (missing
 * files and "-" are skipped; by device and inode, also through a symbolic
 * link at the output's path: DMBP_ERR_ARG), not over a directory
 * (DMBP_ERR_IO), an existing file only with force (else DMBP_ERR_ARG). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_check_outputs(const char *const *outputs, int n_outputs,
                   const char *const *inputs, int n_inputs, int force);

/* A file's bytes as "fnv1a64:HEX size N" (FNV-1a 64) into buf (cap
 * bytes; 64 hold it), for a set's fingerprint: it tells files apart, it
 * is not a digest against an adversary. DMBP_ERR_IO "PATH: cannot open:
 * WHY" or "PATH: read error: WHY". */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_file_hash(const char *path,
                                                   char *buf, size_t cap);

/* The directory part of path (".": none, "/" for "/NAME") exists, is a
 * directory and writable: else DMBP_ERR_IO "PATH: cannot write into DIR:
 * WHY", checked before a long computation whose result would be lost. */
DMBP_API DMBP_NODISCARD dmbp_status dmbp_check_writable_dir(const char *path);

/* Two of the n outputs that are one name: DMBP_ERR_ARG "A and B would
 * both write OUT", A and B from names (the items' names). */
DMBP_API DMBP_NODISCARD dmbp_status
dmbp_check_unique_outputs(const char *const *outputs,
                          const char *const *names, int n);

#ifdef __cplusplus
}
#endif

#endif /* DMBP_SETRUN_H */
