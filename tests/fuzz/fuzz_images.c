/* Fuzz target: dmbp eval's image sources (src/cli/eval_images.c): the
 * first byte picks the IDX reader (idx:FILE) or the image-list reader (a
 * file listing PNG paths); the rest is the file. */
#include "fuzz.h"

#include "cli/eval.h"

size_t cli_max_memory;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    bool idx = data[0] & 1;
    char path[256], spec[300];
    if (fuzz_file(data + 1, size - 1, idx ? ".idx" : ".txt", path,
                  sizeof path))
        return 0;
    snprintf(spec, sizeof spec, "%s%s", idx ? "idx:" : "", path);
    dmbp_preprocess_options pre;
    dmbp_preprocess_options_init(&pre);
    pre.resize = 0;
    pre.crop = 0;
    ev_images im;
    memset(&im, 0, sizeof im);
    cli_flags flags; /* the defaults: no option given */
    memset(&flags, 0, sizeof flags);
    FILE *saved = stderr;
    stderr = fopen("/dev/null", "w");
    /* At most a few images: the reader's framing is what is tested. */
    (void)ev_images_load(spec, 0, 4, 10, &pre, &flags, &im);
    if (stderr)
        fclose(stderr);
    stderr = saved;
    ev_images_free(&im);
    unlink(path);
    return 0;
}
