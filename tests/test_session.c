/* A session (dmbp_session) kept across calls, for explaining and for the
 * metrics: every result bitwise equal to the same call in a new session
 * (tests/once.h), which makes and frees fresh plans, for every method,
 * with shapes that alternate (image counts on the shipped models, image
 * sizes on a model of dynamic height and width), past the cache's
 * capacity, and with plans made only on a cache miss
 * (dmbp_session_plans_created). */
#include "testlib.h"

#include <dmbp.h>
#include <dmbp_eval.h>

#include "once.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_IMAGES 3
#define N_MODELS 2
/* Small settings: every code path of each method, in little time. */
static const tl_quick quick = {.ig_steps = 4, .sg_samples = 3,
                               .dmbp_iters = 3};
/* Few masks and large patches: a few lanes' worth of passes. */
#define RISE_MASKS 20
#define OCCLUSION_WINDOW 7

static const char *model_files[N_MODELS] = {"models/fmnist_vgg.onnx",
                                            "models/fmnist_resnet.onnx"};
static const char *sample_files[N_IMAGES] = {"models/samples/ankle_boot.png",
                                             "models/samples/coat.png",
                                             "models/samples/bag.png"};

static dmbp_model *models[N_MODELS];
static float *inputs[N_MODELS]; /* N_IMAGES preprocessed images each */
static int chans[N_MODELS], height[N_MODELS], width[N_MODELS];

static void options_for(dmbp_method meth, dmbp_explain_options *o)
{
    tl_quick_options(o, meth, &quick);
    o->rise.seed = 7;
    o->rise.masks = RISE_MASKS;
    o->occlusion.window = OCCLUSION_WINDOW;
}

/* One call both ways: the kept session's result must equal a new one's. */
static void compare(dmbp_session *e, const dmbp_model *m, const float *x,
                    int n, int c, int h, int w, const dmbp_explain_options *o,
                    const char *what)
{
    dmbp_result *want = NULL, *got = NULL;
    dmbp_status st = explain_once(m, x, n, c, h, w, NULL, o, &want);
    CHECK(!st, "%s: new session: %s", what, dmbp_last_error());
    st = dmbp_explain(e, x, n, c, h, w, NULL, o, &got);
    CHECK(!st, "%s: kept session: %s", what, dmbp_last_error());
    if (want && got)
        CHECK(tl_same_result(want, got), "%s: %s, %d image(s) of %dx%dx%d: not "
              "bitwise equal to a new session's", what,
              dmbp_method_name(o->method), n, c, h, w);
    dmbp_result_free(want);
    dmbp_result_free(got);
}

/* Every method on the VGG (test_mixed_calls has the ResNet): 1 image,
 * 3 images, 1 image (another one), 3 images; the third and fourth calls
 * make no plan. */
static void test_methods(void)
{
    for (int mi = 0; mi < 1; mi++) {
        size_t per = (size_t)chans[mi] * height[mi] * width[mi];
        for (int meth = 0; meth < DMBP_NUM_METHODS; meth++) {
            dmbp_explain_options o;
            options_for((dmbp_method)meth, &o);
            dmbp_session *e = NULL;
            if (dmbp_session_create(models[mi], &e)) {
                CHECK(0, "dmbp_session_create: %s", dmbp_last_error());
                continue;
            }
            static const int counts[4] = {1, N_IMAGES, 1, N_IMAGES};
            static const int firsts[4] = {0, 0, 2, 0};
            int64_t after_two = 0;
            for (int call = 0; call < 4; call++) {
                compare(e, models[mi], inputs[mi] + per * firsts[call],
                        counts[call], chans[mi], height[mi], width[mi], &o,
                        model_files[mi]);
                if (call == 1)
                    after_two = dmbp_session_plans_created(e);
            }
            CHECK(after_two > 0, "%s %s: no plan counted", model_files[mi],
                  dmbp_method_name((dmbp_method)meth));
            CHECK(dmbp_session_plans_created(e) == after_two,
                  "%s %s: %lld plans after the repeated shapes, %lld before",
                  model_files[mi], dmbp_method_name((dmbp_method)meth),
                  (long long)dmbp_session_plans_created(e),
                  (long long)after_two);
            dmbp_session_free(e);
        }
    }
}

/* One session, methods and options changing between calls: a plan is
 * reused only when it fits (reverse or not, kept gradients, lanes). */
static void test_mixed_calls(void)
{
    dmbp_session *e = NULL;
    CHECK(!dmbp_session_create(models[1], &e), "create: %s",
          dmbp_last_error());
    if (!e)
        return;
    static const dmbp_method seq[] = {
        DMBP_METHOD_GXI, DMBP_METHOD_IG, DMBP_METHOD_GRADCAM,
        DMBP_METHOD_GXI, DMBP_METHOD_DMBP, DMBP_METHOD_IG,
        DMBP_METHOD_GRADCAM, DMBP_METHOD_DMBP, DMBP_METHOD_SCORECAM,
        DMBP_METHOD_OCCLUSION, DMBP_METHOD_GXI, DMBP_METHOD_RISE,
        DMBP_METHOD_SCORECAM};
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        dmbp_explain_options o;
        options_for(seq[i], &o);
        o.smoothgrad.seed = o.dmbp.seed = TL_SEED + i; /* options may change */
        compare(e, models[1], inputs[1], 2, chans[1], height[1], width[1],
                &o, "mixed calls");
    }
    dmbp_session_free(e);
}

/* Past the cache's capacity: image counts 1..N give 2 N plans (the first
 * pass and the gradient's); going back to the first count still gives
 * the right numbers, from a plan made again. */
static void test_eviction(void)
{
    dmbp_session *e = NULL;
    CHECK(!dmbp_session_create(models[0], &e), "create: %s",
          dmbp_last_error());
    if (!e)
        return;
    dmbp_explain_options o;
    options_for(DMBP_METHOD_GXI, &o);
    int kinds = DMBP_SESSION_MAX_PLANS / 2 + 2; /* 2 plans per count */
    float *x = malloc(sizeof(float) * (size_t)kinds * chans[0] * height[0] *
                      width[0]);
    size_t per = (size_t)chans[0] * height[0] * width[0];
    for (int i = 0; x && i < kinds; i++)
        memcpy(x + per * i, inputs[0] + per * (i % N_IMAGES),
               sizeof(float) * per);
    for (int n = 1; x && n <= kinds; n++)
        compare(e, models[0], x, n, chans[0], height[0], width[0], &o,
                "eviction");
    CHECK(dmbp_session_plans_created(e) == 2 * kinds, "%lld plans for %d "
          "image counts", (long long)dmbp_session_plans_created(e), kinds);
    if (x)
        compare(e, models[0], x, 1, chans[0], height[0], width[0], &o,
                "after eviction");
    CHECK(dmbp_session_plans_created(e) == 2 * kinds + 2, "the evicted "
          "plans were not made again (%lld)",
          (long long)dmbp_session_plans_created(e));
    free(x);
    dmbp_session_free(e);
}

/* Image sizes alternating on a model of dynamic height and width. */
static void test_sizes(void)
{
    dmbp_model *m = tl_model("tests/ref/data/pre/dynamic_hw.onnx");
    if (!m)
        return;
    dmbp_session *e = NULL;
    CHECK(!dmbp_session_create(m, &e), "create: %s", dmbp_last_error());
    static const int hs[2] = {8, 12}, ws[2] = {8, 10};
    float x[12 * 10];
    for (int i = 0; i < 12 * 10; i++)
        x[i] = (float)((i * 37) % 17) / 8.f - 1.f;
    static const dmbp_method meths[3] = {DMBP_METHOD_SALIENCY,
                                         DMBP_METHOD_GXI, DMBP_METHOD_IG};
    int64_t after_first_round = 0;
    for (int round = 0; e && round < 2; round++) {
        for (int k = 0; k < 3; k++)
            for (int s = 0; s < 2; s++) {
                dmbp_explain_options o;
                options_for(meths[k], &o);
                compare(e, m, x, 1, 1, hs[s], ws[s], &o, "dynamic_hw");
            }
        if (round == 0)
            after_first_round = dmbp_session_plans_created(e);
    }
    CHECK(dmbp_session_plans_created(e) == after_first_round,
          "sizes seen before made plans again (%lld, then %lld)",
          (long long)after_first_round,
          (long long)dmbp_session_plans_created(e));
    dmbp_session_free(e);
    dmbp_model_free(m);
}

/* The four metrics in a kept session and in new ones, on two images: the
 * same numbers, and the second image makes no plan; then the same in a
 * session that keeps no plans (dmbp_session_keep_plans 0). */
static void test_metrics(void)
{
    int mi = 1, c = chans[mi], h = height[mi], w = width[mi];
    size_t per = (size_t)c * h * w, hw = (size_t)h * w;
    dmbp_session *e = NULL;
    CHECK(!dmbp_session_create(models[mi], &e), "create: %s",
          dmbp_last_error());
    if (!e)
        return;
    dmbp_eval_options plain;
    dmbp_eval_options_init(&plain);
    int points = dmbp_eval_curve_points(&plain, h, w);
    /* AOPC writes min(regions, tiles) + 1 values. */
    int rs = plain.region_size;
    int tiles = ((h + rs - 1) / rs) * ((w + rs - 1) / rs);
    int aopc_points = (plain.regions < tiles ? plain.regions : tiles) + 1;
    float *scores = malloc(sizeof(float) * hw);
    float *cv[2] = {malloc(sizeof(float) * (size_t)points * 3),
                    malloc(sizeof(float) * (size_t)points * 3)};
    float *ac[2] = {malloc(sizeof(float) * (size_t)(plain.regions + 1)),
                    malloc(sizeof(float) * (size_t)(plain.regions + 1))};
    if (!scores || !cv[0] || !cv[1] || !ac[0] || !ac[1]) {
        CHECK(0, "out of memory");
        goto done;
    }
    static const double fr[3] = {0.05, 0.1, 0.2};
    int64_t after_first = 0;
    for (int img = 0; img < 2; img++) {
        const float *x = inputs[mi] + per * img;
        for (size_t i = 0; i < hw; i++)
            scores[i] = x[i] * (float)((i % 7) - 3);
        double auc[2][3], rise[2][3], aopc[2];
        const dmbp_eval_options *o = &plain;
        const dmbp_model *m = models[mi];
        CHECK(!deletion_once(m, x, c, h, w, 3, scores, o, cv[0],
                             &auc[0][0]) &&
                  !insertion_once(m, x, c, h, w, 3, scores, o,
                                  cv[0] + points, &auc[0][1]) &&
                  !negative_once(m, x, c, h, w, 3, scores, fr, 3, o,
                                 rise[0]) &&
                  !aopc_once(m, x, c, h, w, 3, scores, o, ac[0], &aopc[0]),
              "metrics, new sessions: %s", dmbp_last_error());
        CHECK(!dmbp_eval_deletion(e, x, c, h, w, 3, scores, o, cv[1],
                                  &auc[1][0]) &&
                  !dmbp_eval_insertion(e, x, c, h, w, 3, scores, o,
                                       cv[1] + points, &auc[1][1]) &&
                  !dmbp_eval_negative(e, x, c, h, w, 3, scores, fr, 3, o,
                                      rise[1]) &&
                  !dmbp_eval_aopc(e, x, c, h, w, 3, scores, o, ac[1],
                                  &aopc[1]),
              "metrics, kept session: %s", dmbp_last_error());
        auc[0][2] = auc[1][2] = 0;
        CHECK(!memcmp(cv[0], cv[1], sizeof(float) * (size_t)points * 2) &&
                  !memcmp(auc[0], auc[1], sizeof auc[0]) &&
                  !memcmp(rise[0], rise[1], sizeof rise[0]) &&
                  !memcmp(ac[0], ac[1], sizeof(float) * (size_t)aopc_points) &&
                  !memcmp(&aopc[0], &aopc[1], sizeof aopc[0]),
              "image %d: metrics with plans differ from without", img);
        if (img == 0)
            after_first = dmbp_session_plans_created(e);
    }
    /* A plan per lane count: deletion and insertion share theirs (21
     * points), negative evidence has 4 points, AOPC 17 (16 tiles of 9 x 9
     * on 28 x 28). */
    CHECK(points == 21 && aopc_points == 17, "points %d, AOPC %d", points,
          aopc_points);
    CHECK(after_first == 3, "%lld plans for the first image, want 3",
          (long long)after_first);
    CHECK(dmbp_session_plans_created(e) == after_first, "the second image "
          "made plans (%lld)", (long long)dmbp_session_plans_created(e));
    /* A session that keeps no plans: the same numbers, no plan kept. */
    dmbp_session_keep_plans(e, 0);
    int64_t before = dmbp_session_plans_created(e);
    double a;
    float *cv2 = malloc(sizeof(float) * (size_t)points);
    CHECK(cv2 && !dmbp_eval_deletion(e, inputs[mi] + per, c, h, w, 3, scores,
                                     &plain, cv2, &a),
          "one-shot session: %s", dmbp_last_error());
    CHECK(cv2 && !memcmp(cv2, cv[1], sizeof(float) * (size_t)points),
          "one-shot session: another curve");
    CHECK(dmbp_session_plans_created(e) == before, "one-shot session kept "
          "plans (%lld, %lld before)",
          (long long)dmbp_session_plans_created(e), (long long)before);
    free(cv2);
done:
    free(scores);
    free(cv[0]);
    free(cv[1]);
    free(ac[0]);
    free(ac[1]);
    dmbp_session_free(e);
}

static void test_arguments(void)
{
    dmbp_session *e = (dmbp_session *)&e;
    CHECK(dmbp_session_create(NULL, &e) == DMBP_ERR_ARG && e == NULL,
          "NULL model");
    CHECK(dmbp_session_create(models[0], NULL) == DMBP_ERR_ARG,
          "NULL out");
    dmbp_result *r = (dmbp_result *)&r;
    CHECK(dmbp_explain(NULL, inputs[0], 1, chans[0], height[0],
                             width[0], NULL, NULL, &r) == DMBP_ERR_ARG &&
              r == NULL,
          "NULL session");
    /* A model where a session belongs (a program written for 0.1) is
     * refused, not read. */
    CHECK(dmbp_explain((dmbp_session *)(void *)models[0], inputs[0], 1,
                       chans[0], height[0], width[0], NULL, NULL, &r) ==
                  DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "not a dmbp_session") && r == NULL,
          "a model as a session: %s", dmbp_last_error());
    CHECK(dmbp_session_plans_created(NULL) == 0, "NULL counts 0");
    dmbp_session_free(NULL);
    /* A failing call (wrong image size) leaves the session usable. */
    CHECK(!dmbp_session_create(models[0], &e), "create");
    dmbp_explain_options o;
    options_for(DMBP_METHOD_GXI, &o);
    CHECK(dmbp_explain(e, inputs[0], 1, 1, 20, 20, NULL, &o, &r) ==
              DMBP_ERR_SHAPE && r == NULL,
          "20x20 on a 28x28 model: %s", dmbp_last_error());
    compare(e, models[0], inputs[0], 1, chans[0], height[0], width[0], &o,
            "after an error");
    dmbp_session_free(e);
}

static int setup(void)
{
    for (int mi = 0; mi < N_MODELS; mi++) {
        models[mi] = tl_model(model_files[mi]);
        if (!models[mi])
            return -1;
        inputs[mi] = tl_inputs(models[mi], sample_files, N_IMAGES,
                               &chans[mi], &height[mi], &width[mi]);
        if (!inputs[mi])
            return -1;
    }
    return 0;
}

int main(void)
{
    if (setup()) {
        fprintf(stderr, "FAIL: setup\n");
        return 1;
    }
    test_methods();
    test_mixed_calls();
    test_eviction();
    test_sizes();
    test_metrics();
    test_arguments();
    for (int mi = 0; mi < N_MODELS; mi++) {
        free(inputs[mi]);
        dmbp_model_free(models[mi]);
    }
    if (!failures)
        printf("test_explainer: ok\n");
    return failures != 0;
}
