/* DIR/manifest.jsonl of an image set: its records as read back by
 * --resume (src/cli/manifest.c), and the set's fingerprint. Nothing here
 * trusts a line: a record is only what it parses to, and the ledger
 * (batch.c) checks what it says against the files. */
#ifndef DMBP_CLI_MANIFEST_H
#define DMBP_CLI_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cli.h"

typedef enum cli_mstatus {
    MREC_OK = DMBP_MANIFEST_OK,         /* the item finished, its outputs
                                           listed */
    MREC_FAILED = DMBP_MANIFEST_FAILED, /* the item failed (it is
                                           computed again) */
    MREC_CLAIMED = DMBP_MANIFEST_CLAIMED /* the set is about to write the
                                            listed outputs */
} cli_mstatus;

/* One item's record. */
typedef struct cli_mrecord {
    char *input;
    cli_mstatus status;
    cli_names outputs;           /* the paths of "outputs" */
    bool has_stat;               /* input_size and input_mtime_ns given */
    long long size, mtime_ns;    /* the input when it was computed */
    char *line;                  /* the whole line, kept by the ledger for
                                    the runner's record callback */
} cli_mrecord;

/* The set's fingerprint: what made its results, as key/value strings
 * (the first record of a manifest, {"set": {...}}). */
typedef struct cli_fingerprint {
    cli_names keys, values;
} cli_fingerprint;


enum { MLINE_BAD, MLINE_ITEM, MLINE_SET };

/* Parse one line (len bytes, without its '\n'; dmbp_manifest_parse):
 * MLINE_ITEM fills *r, MLINE_SET fills *fp, MLINE_BAD (what the library
 * calls DMBP_MANIFEST_BAD, or out of memory) leaves both empty. Free
 * with cli_mrecord_free / cli_fingerprint_free either way. */
int cli_manifest_parse(const char *line, size_t len, cli_mrecord *r,
                       cli_fingerprint *fp);
void cli_mrecord_free(cli_mrecord *r);

void cli_fingerprint_free(cli_fingerprint *fp);
int cli_fingerprint_add(cli_fingerprint *fp, const char *key,
                        const char *value);
/* {"set": {...}} and its '\n'. */
void cli_fingerprint_write(FILE *f, const cli_fingerprint *fp);
/* NULL when equal, else a malloc'ed "KEY was A, now B; ..." ("none"
 * where one side lacks the key). */
char *cli_fingerprint_diff(const cli_fingerprint *then,
                           const cli_fingerprint *now);

/* The fingerprint of a set computed by subcommand a->cmd_name from model:
 * the library's version, the model file's hash, every option given that
 * can change a result (files such as --labels and --targets by their
 * contents' hash), the target rule, and extra (key, value) pairs (explain:
 * the method). Message printed and status returned on failure. */
int cli_set_fingerprint(const cli_args *a, const char *model,
                        const char *const *extra, int n_extra,
                        cli_fingerprint *fp);

/* FNV-1a 64 of a file's bytes as "fnv1a64:HEX size N" into buf; an exit
 * status (message printed) on failure. Tells files apart; not a digest
 * against an adversary. */
int cli_file_hash(const char *path, char *buf, size_t cap);

/* stat() of an item's input: a file, or eval's "PATH#INDEX" (the IDX
 * file PATH); -1 for "-" (standard input) and a missing file. */
struct stat;
int cli_input_stat(const char *name, struct stat *sb);

/* ---- the ledger's side (src/cli/resume.c) ---- */
struct cli_runner;
/* Open DIR/manifest.jsonl at path for set b (rank 0, before any work):
 * the checks of dmbp(1) FILES, done[i] for each item the manifest proves
 * done (--resume), every other item's outputs checked as a fresh run's,
 * then a fresh manifest's fingerprint and a "claimed" line per item to
 * compute appended. *fd_out: the manifest, O_APPEND; *skipped: items
 * done; *changed: items whose input changed since their record. Message
 * printed and status returned on failure. */
int cli_manifest_open(const struct cli_runner *b, const char *path,
                      bool *done, int *fd_out, int *skipped, int *changed);
/* The whole line(s) in one write() and on disk before we go on: a reader
 * never sees half a line unless the writer died inside write(), and then
 * only as the last line, which --resume cuts off. */
int cli_manifest_append(const char *path, int fd, const char *s,
                        size_t len);

#endif
