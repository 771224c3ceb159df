/* DMBP's masks of a result written as JSON and ranked
 * (dmbp_result_write_masks_json, _file, dmbp_result_top_masks in
 * dmbp_render.h): every value of the JSON read back equals the result's
 * mask, the file holds the same line, and the top
 * masks equal a ranking done here by sorting (ties to the lower channel);
 * other methods' results and bad arguments are refused. */
#include "testlib.h"

#include <dmbp.h>
#include <dmbp_render.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOP 5

/* Channel order by value, largest first, ties to the lower channel. */
static const float *sort_vals;
static int by_value(const void *a, const void *b)
{
    int i = *(const int *)a, j = *(const int *)b;
    if (sort_vals[i] != sort_vals[j])
        return sort_vals[i] > sort_vals[j] ? -1 : 1;
    return i - j;
}

static dmbp_result *explain(dmbp_model *m, const float *x, int c, int h,
                            int w, dmbp_method method)
{
    tl_quick q = {.ig_steps = 2, .sg_samples = 2, .dmbp_iters = 3};
    return tl_explain_one(m, x, c, h, w, method, &q);
}

int main(void)
{
    dmbp_model *m = tl_model("models/fmnist_vgg.onnx");
    dmbp_image x = {0};
    if (!m || tl_input(m, "models/samples/coat.png", &x))
        return 1;
    dmbp_result *r = explain(m, x.data, x.channels, x.height, x.width,
                             DMBP_METHOD_DMBP);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK(r && dmbp_result_write_masks_json(r, 0, "coat \"1\"", f) ==
                   DMBP_OK,
          "write: %s", dmbp_last_error());
    fclose(f);
    CHECK(buf && !strncmp(buf, "{\"image\": \"coat \\\"1\\\"\", \"target\": ",
                          34),
          "head: %.60s", buf ? buf : "");
    const char *p = buf;
    for (int l = 0; r && l < dmbp_result_num_mask_layers(r); l++) {
        const char *name;
        int ch;
        int64_t off;
        CHECK(dmbp_result_mask_layer(r, l, &name, &ch, &off) == DMBP_OK,
              "layer %d", l);
        for (int s = 0; s < 2; s++) {
            const char *key = s ? "\"m_neg\": [" : "\"m_pos\": [";
            p = p ? strstr(p, key) : NULL;
            CHECK(p, "layer %s: no %s", name, key);
            if (!p)
                break;
            p += strlen(key);
            const float *want = dmbp_result_masks(r, 0, s) + off;
            for (int k = 0; k < ch; k++) {
                char *end;
                float v = strtof(p, &end);
                CHECK(end != p && v == want[k], "layer %s set %d channel "
                      "%d: %.9g, want %.9g", name, s, k, (double)v,
                      (double)want[k]);
                p = end + (*end == ',' ? 2 : 0);
            }
            /* The ranking, against a sort. */
            int *order = malloc((size_t)ch * sizeof *order);
            int idx[TOP];
            for (int k = 0; k < ch; k++)
                order[k] = k;
            sort_vals = want;
            qsort(order, (size_t)ch, sizeof *order, by_value);
            int got = dmbp_result_top_masks(r, 0, l, s, TOP, idx);
            CHECK(got == (ch < TOP ? ch : TOP), "top: %d", got);
            for (int j = 0; j < got; j++)
                CHECK(idx[j] == order[j], "layer %s set %d rank %d: "
                      "channel %d, want %d", name, s, j, idx[j], order[j]);
            free(order);
        }
    }
    /* The file: the same line, whole; an unwritable path names itself. */
    char dir[] = "/tmp/dmbp-test-masksXXXXXX", path[600], gone[640];
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof path, "%s/m.json", dir);
    snprintf(gone, sizeof gone, "%s/no/m.json", dir);
    size_t flen = 0;
    unsigned char *file = NULL;
    CHECK(r && dmbp_result_write_masks_file(r, 0, "coat \"1\"", path) ==
                   DMBP_OK && (file = tl_read_file(path, &flen)) != NULL,
          "write file: %s", dmbp_last_error());
    CHECK(file && buf && flen == strlen(buf) && !memcmp(file, buf, flen),
          "the masks file differs from dmbp_result_write_masks_json's line");
    CHECK(r && dmbp_result_write_masks_file(r, 0, "x", gone) == DMBP_ERR_IO &&
              strstr(dmbp_last_error(), gone),
          "an unwritable masks path: '%s'", dmbp_last_error());
    free(file);
    unlink(path);
    rmdir(dir);
    free(buf);
    int idx[TOP];
    CHECK(dmbp_result_top_masks(r, 0, -1, 0, TOP, idx) == -1 &&
              dmbp_result_top_masks(r, 0, 0, 2, TOP, idx) == -1 &&
              dmbp_result_top_masks(r, 1, 0, 0, TOP, idx) == -1,
          "top: bad layer, set or image");
    dmbp_result_free(r);
    r = explain(m, x.data, x.channels, x.height, x.width, DMBP_METHOD_GXI);
    CHECK(r && dmbp_result_write_masks_json(r, 0, "x", stdout) ==
                   DMBP_ERR_ARG &&
              dmbp_result_write_masks_file(r, 0, "x",
                                           "/nonexistent/x.json") ==
                  DMBP_ERR_ARG,
          "gxi has no masks");
    dmbp_result_free(r);
    dmbp_image_free(&x);
    dmbp_model_free(m);
    printf("test_masks: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
