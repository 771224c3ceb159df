/* Fuzz target: dmbp predict's --labels file reader (src/cli/predict.c,
 * compiled in here for its static labels_read). */
#include "fuzz.h"

#include "cli/predict.c"

size_t cli_max_memory;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[256];
    if (fuzz_file(data, size, ".txt", path, sizeof path))
        return 0;
    labels l = {0, NULL};
    /* Messages go to stderr: keep the fuzzer's output readable. */
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    if (!labels_read(path, &l))
        for (int i = 0; i < l.n; i++)
            (void)strlen(l.text[i]);
    if (stderr)
        fclose(stderr);
    stderr = saved;
    labels_free(&l);
    unlink(path);
    return 0;
}
