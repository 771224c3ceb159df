/* Fuzz target: a PNG file through dmbp_image_load and the
 * preprocessing a model applies (resize, crop, normalise). */
#include "fuzz.h"

#include <dmbp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[256];
    if (fuzz_file(data, size, ".png", path, sizeof path))
        return 0;
    dmbp_image img;
    if (!dmbp_image_load(path, NULL, &img)) {
        dmbp_preprocess_options pre;
        dmbp_preprocess_options_init(&pre);
        pre.resize = 12;
        pre.crop = 8;
        dmbp_image x;
        if (!dmbp_image_preprocess(&img, &pre, &x))
            dmbp_image_free(&x);
        dmbp_image_free(&img);
    }
    unlink(path);
    return 0;
}
