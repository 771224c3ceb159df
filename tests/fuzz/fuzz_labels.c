/* Fuzz target: the --labels file reader (src/cli/targets.c,
 * cli_labels_read), with the class count taken from the first byte. */
#include "fuzz.h"

#include "cli/cli.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int classes = 1 + data[0] % 16;
    char path[256];
    if (fuzz_file(data + 1, size - 1, ".txt", path, sizeof path))
        return 0;
    cli_names l = {0};
    /* Messages go to stderr: keep the fuzzer's output readable. */
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    if (!cli_labels_read(path, classes, &l))
        for (int i = 0; i < l.n; i++)
            (void)strlen(l.v[i]);
    if (stderr)
        fclose(stderr);
    stderr = saved;
    cli_names_free(&l);
    unlink(path);
    return 0;
}
