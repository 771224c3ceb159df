/* Fuzz target: dmbp eval's image sources (dmbp_image_set_open and
 * dmbp_eval_images_load): the first byte picks the IDX reader (idx:FILE)
 * or the image-list reader (a file listing PNG paths); the rest is the
 * file. */
#include "fuzz.h"

#include <dmbp_eval.h>
#include <stdbool.h>

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
    dmbp_image_set *s = NULL;
    dmbp_eval_images *im = NULL;
    /* At most a few images: the reader's framing is what is tested. */
    if (!dmbp_image_set_open(spec, &s) && dmbp_image_set_count(s) > 0 &&
        dmbp_eval_images_load(s, 0, 4, 10, NULL, &pre, 0, &im))
        im = NULL; /* refused: nothing to free */
    dmbp_eval_images_free(im);
    dmbp_image_set_free(s);
    unlink(path);
    return 0;
}
