/* Fuzz target: image sets' manifest lines as --resume reads them
 * (dmbp_manifest_parse, src/io/manifest.c), one record per line, what the
 * ledger reads of each record, and the fingerprint comparison of every
 * {"set": ...} line against the first (dmbp__setrun_fp_diff,
 * src/io/setrun_open.c). The ledger's file checks act on what these
 * return. */
#include "fuzz.h"

#include "io/io.h"

/* A set line's (key, value) pairs, borrowed from l (malloc'ed array). */
static const char **pairs(const dmbp_manifest_line *l, int *n)
{
    *n = dmbp_manifest_num_keys(l);
    const char **kv = malloc(2 * (size_t)*n * sizeof *kv + 1);
    for (int k = 0; kv && k < *n; k++) {
        kv[2 * k] = dmbp_manifest_key(l, k);
        kv[2 * k + 1] = dmbp_manifest_value(l, k);
    }
    return kv;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Lines as getline gives them: a copy with a terminator after each. */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    dmbp_manifest_line *first = NULL;
    size_t start = 0;
    while (start < size) {
        char *nl = memchr(buf + start, '\n', size - start);
        size_t len = nl ? (size_t)(nl - (buf + start)) : size - start;
        buf[start + len] = 0;
        dmbp_manifest_line *l;
        int kind = dmbp_manifest_parse(buf + start, len, &l);
        if (kind == DMBP_MANIFEST_ITEM) {
            /* What the ledger reads of a record. */
            size_t total = strlen(dmbp_manifest_input(l));
            for (int k = 0; k < dmbp_manifest_num_outputs(l); k++)
                total += strlen(dmbp_manifest_output(l, k));
            long long sz, mt;
            total += (size_t)dmbp_manifest_input_stat(l, &sz, &mt);
            total += (size_t)dmbp_manifest_item_status(l);
            (void)total;
        } else if (kind == DMBP_MANIFEST_SET && !first) {
            first = l;
            l = NULL;
        } else if (kind == DMBP_MANIFEST_SET) {
            int n0, n1;
            const char **a = pairs(first, &n0), **b = pairs(l, &n1);
            if (a && b)
                free(dmbp__setrun_fp_diff(a, n0, b, n1));
            free(a);
            free(b);
        }
        dmbp_manifest_line_free(l);
        start += len + 1;
    }
    dmbp_manifest_line_free(first);
    free(buf);
    return 0;
}
