/* Fuzz target: image sets' manifest lines as --resume reads them
 * (src/cli/manifest.c, cli_manifest_parse), one record per line, and the
 * fingerprint comparison of every {"set": ...} line against the first.
 * The ledger's file checks (resume.c) act on what this returns. */
#include "fuzz.h"

#include "cli/manifest.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Lines as getline gives them: a copy with a terminator after each. */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    cli_fingerprint first = {0};
    bool have_first = false;
    size_t start = 0;
    while (start < size) {
        char *nl = memchr(buf + start, '\n', size - start);
        size_t len = nl ? (size_t)(nl - (buf + start)) : size - start;
        buf[start + len] = 0;
        cli_mrecord r;
        cli_fingerprint fp;
        int kind = cli_manifest_parse(buf + start, len, &r, &fp);
        if (kind == MLINE_ITEM) {
            /* What the ledger reads of a record. */
            size_t total = strlen(r.input);
            for (int k = 0; k < r.outputs.n; k++)
                total += strlen(r.outputs.v[k]);
            (void)total;
        } else if (kind == MLINE_SET) {
            if (!have_first) {
                first = fp;
                have_first = true;
                memset(&fp, 0, sizeof fp);
            } else {
                free(cli_fingerprint_diff(&first, &fp));
            }
        }
        cli_mrecord_free(&r);
        cli_fingerprint_free(&fp);
        start += len + 1;
    }
    cli_fingerprint_free(&first);
    free(buf);
    return 0;
}
