/* Fuzz target: a JPEG (or any image bytes) through dmbp_image_load_memory,
 * which detects the format from the content, with and without EXIF
 * rotation, then the preprocessing a model applies (resize, crop,
 * normalise). The first byte chooses the EXIF setting, so the fuzzer can
 * reach both paths; the rest is the file. */
#include "fuzz.h"

#include <dmbp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    dmbp_image_load_options lo;
    dmbp_image_load_options_init(&lo);
    lo.exif_rotate = data[0] & 1;
    /* A pixel budget far below the default keeps one input's decode within
     * the fuzzer's memory limit; the header check that enforces it is
     * part of what is fuzzed. */
    lo.max_pixels = (int64_t)1 << 22;
    dmbp_image img;
    if (!dmbp_image_load_memory(data + 1, size - 1, "fuzz.jpg", &lo, &img)) {
        dmbp_preprocess_options pre;
        dmbp_preprocess_options_init(&pre);
        pre.resize = 12;
        pre.crop = 8;
        dmbp_image x;
        if (!dmbp_image_preprocess(&img, &pre, &x))
            dmbp_image_free(&x);
        dmbp_image_free(&img);
    }
    return 0;
}
