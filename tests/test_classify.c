/* dmbp_classifier (dmbp_render.h): images classified in batches, as dmbp
 * predict runs them. On the shipped evidence CNN (64 x 64 input) we
 * check
 *  - every image's logits against a plan of batch 1 run on that image
 *    alone (tests/test_forward.c checks plans against PyTorch);
 *  - that each image is loaded exactly once, and only when its batch is
 *    made: a batch ends at an image of another size or one that fails to
 *    load, which is kept for its own call (standard input is read once);
 *  - that a failed load is that image's error, with its message, and the
 *    images after it are classified; an image of another size gets a
 *    plan of its own (which this model refuses, naming its input);
 *  - DMBP_ERR_SHAPE for an image of the wrong channel count, and
 *    DMBP_ERR_ARG for missing or bad options. */
#include "testlib.h"

#include <dmbp.h>
#include <dmbp_render.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One image alone vs in a batch: oneDNN may pick other kernels. */
#define BATCH_RTOL 1e-5
#define N_IMAGES 7
/* Image FAILS fails to load; image SMALL and the next are cropped to
 * SMALL_SIDE (another size than the model's 64, which it refuses); image
 * GRAY has one channel (only in the channel check). */
#define FAILS 2
#define SMALL 4
#define SMALL_SIDE 48
#define GRAY 1

typedef struct loader {
    const dmbp_model *m;
    int loads[N_IMAGES];
    int gray; /* make image GRAY gray */
} loader;

static const char *image_rel(int i)
{
    static char rel[64];
    snprintf(rel, sizeof rel, "models/evidence/test_%05d.png", i);
    return rel;
}

/* Image i as the classifier's load makes it, and as the reference. */
static dmbp_status make(const loader *l, int i, dmbp_image *x)
{
    dmbp_preprocess_options pre;
    dmbp_image img;
    dmbp_status st = dmbp_model_preprocess_defaults(l->m, &pre);
    if (i >= SMALL)
        pre.crop = SMALL_SIDE;
    if (l->gray && i == GRAY)
        pre.channels = 1;
    if (!st)
        st = dmbp_image_load(test_path(image_rel(i)), NULL, &img);
    if (!st) {
        st = dmbp_image_preprocess(&img, &pre, x);
        dmbp_image_free(&img);
    }
    return st;
}

static dmbp_status load(void *user, int i, dmbp_image *x)
{
    loader *l = user;
    l->loads[i]++;
    if (i == FAILS)
        return dmbp_set_error(DMBP_ERR_FORMAT, "image %d: broken", i);
    return make(l, i, x);
}

/* Image i's logits from a plan of batch 1; NULL after a FAIL line. */
static float *reference(const loader *l, int i, int k)
{
    dmbp_image x;
    dmbp_plan *p = NULL;
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    float *out = malloc((size_t)k * sizeof *out);
    dmbp_status st = make(l, i, &x);
    if (!st) {
        po.height = x.height;
        po.width = x.width;
        st = dmbp_plan_create(l->m, &po, &p);
        if (!st && out)
            st = dmbp_plan_forward(p, x.data, out);
        dmbp_plan_free(p);
        dmbp_image_free(&x);
    }
    if (st || !out) {
        FAIL("image %d: reference: %s", i, dmbp_last_error());
        free(out);
        return NULL;
    }
    return out;
}

static void check_batches(const dmbp_model *m, int batch)
{
    loader l = {.m = m};
    dmbp_classifier_options o;
    dmbp_classifier_options_init(&o);
    o.batch = batch;
    o.load = load;
    o.user = &l;
    dmbp_classifier *c = NULL;
    dmbp_status st = dmbp_classifier_create(m, N_IMAGES, &o, &c);
    CHECK(!st, "batch %d: create: %s", batch, dmbp_last_error());
    if (st)
        return;
    int k = dmbp_model_num_classes(m);
    for (int i = 0; i < N_IMAGES; i++) {
        const float *got = NULL;
        st = dmbp_classifier_logits(c, i, &got);
        if (i == FAILS || i >= SMALL) {
            const char *why = i == FAILS ? "image 2: broken" : "does not "
                              "match the model's declared input";
            CHECK(st == (i == FAILS ? DMBP_ERR_FORMAT : DMBP_ERR_SHAPE) &&
                      strstr(dmbp_last_error(), why),
                  "batch %d: image %d: status %d '%s', not '%s'", batch, i,
                  st, dmbp_last_error(), why);
            /* A batch from SMALL stops at its first image's plan. */
            for (int j = i + 1; i >= SMALL && j < N_IMAGES; j++)
                CHECK(!l.loads[j], "batch %d: image %d loaded before its "
                      "batch (asked for %d)", batch, j, i);
            continue;
        }
        CHECK(!st, "batch %d: image %d: %s", batch, i, dmbp_last_error());
        if (st)
            continue;
        /* Batches run from 0 and FAILS + 1, batch images at most each:
         * nothing past the one that ends i's was loaded yet. */
        int s = i < FAILS ? 0 : FAILS + 1;
        int seg_end = i < FAILS ? FAILS : SMALL;
        int start = s + (i - s) / batch * batch;
        int end = start + batch < seg_end ? start + batch : seg_end;
        for (int j = end + 1; j < N_IMAGES; j++)
            CHECK(!l.loads[j], "batch %d: image %d loaded before its batch "
                  "(asked for %d)", batch, j, i);
        float *want = reference(&l, i, k);
        double scale = 0, d = 0;
        for (int j = 0; want && j < k; j++) {
            scale = fmax(scale, fabs(want[j]));
            d = fmax(d, fabs((double)got[j] - want[j]));
        }
        CHECK(want && d <= BATCH_RTOL * scale, "batch %d: image %d's logits "
              "differ from its own forward pass by %g", batch, i, d);
        free(want);
    }
    for (int i = 0; i < N_IMAGES; i++)
        CHECK(l.loads[i] == 1, "batch %d: image %d loaded %d times", batch, i,
              l.loads[i]);
    /* Back to an image of an earlier batch: its batch is made again. */
    const float *again = NULL;
    st = dmbp_classifier_logits(c, 0, &again);
    CHECK(!st && l.loads[0] == 2, "batch %d: image 0 again: %s, %d loads",
          batch, dmbp_last_error(), l.loads[0]);
    dmbp_classifier_free(c);
}

static void check_errors(const dmbp_model *m)
{
    loader l = {.m = m, .gray = 1};
    dmbp_classifier_options o;
    dmbp_classifier_options_init(&o);
    o.load = load;
    o.user = &l;
    dmbp_classifier *c = NULL;
    const float *got;
    dmbp_status st = dmbp_classifier_create(m, N_IMAGES, &o, &c);
    CHECK(!st, "create: %s", dmbp_last_error());
    st = st ? st : dmbp_classifier_logits(c, GRAY, &got);
    CHECK(st == DMBP_ERR_SHAPE && strstr(dmbp_last_error(), "channels"),
          "a gray image for a colour model: status %d '%s'", st,
          dmbp_last_error());
    CHECK(dmbp_classifier_logits(c, N_IMAGES, &got) == DMBP_ERR_ARG,
          "image %d of %d accepted", N_IMAGES, N_IMAGES);
    dmbp_classifier_free(c);
    c = NULL;
    CHECK(dmbp_classifier_create(m, 0, &o, &c) == DMBP_ERR_ARG && !c,
          "no image accepted");
    o.batch = 0;
    CHECK(dmbp_classifier_create(m, 1, &o, &c) == DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "batch 0"),
          "batch 0 accepted ('%s')", dmbp_last_error());
    o.batch = 1;
    o.load = NULL;
    CHECK(dmbp_classifier_create(m, 1, &o, &c) == DMBP_ERR_ARG,
          "no load callback accepted");
    o.struct_size = 0; /* not made by the _init macro */
    o.load = load;
    CHECK(dmbp_classifier_create(m, 1, &o, &c) == DMBP_ERR_ARG,
          "struct_size 0 accepted");
}

int main(void)
{
    dmbp_model *m = tl_model("models/evidence_cnn.onnx");
    if (!m)
        return 1;
    /* One image a call, batches cut short by FAILS and SMALL, one batch
     * larger than the list. */
    static const int batches[] = {1, 3, 8};
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++)
        check_batches(m, batches[b]);
    check_errors(m);
    dmbp_model_free(m);
    printf("classifier: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
