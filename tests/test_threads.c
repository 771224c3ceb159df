/* Threads sharing the library: 4 threads share one dmbp_model, each with
 * its own plans, and run every explanation method at once on the shipped
 * models. Each result must be bitwise identical to a single-threaded run
 * of the same call (the same OpenMP thread count, so the same reduction
 * order); dmbp_last_error must be per thread; concurrent dmbp_model_load
 * calls must give the same model. Run plainly by make check, and under
 * ThreadSanitizer by make check-tsan (which is what finds the races; the
 * plain run checks the bitwise results). */
#include "testlib.h"

#include <dmbp.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "once.h"

#define N_THREADS 4
#define N_IMAGES 2
/* Every method of the header, the ones added later included. */
#define N_METHODS DMBP_NUM_METHODS
#define N_MODELS 2
/* Small settings keep the run short, under TSan too, while still going
 * through every code path of each method (several steps, samples and
 * Adam iterations). */
static const tl_quick quick = {.ig_steps = 4, .sg_samples = 3,
                               .dmbp_iters = 4, .rise_masks = 64};

static const char *model_files[N_MODELS] = {"models/fmnist_vgg.onnx",
                                            "models/fmnist_resnet.onnx"};
static const char *sample_files[N_IMAGES] = {"models/samples/ankle_boot.png",
                                             "models/samples/coat.png"};

/* Resolved once, before any thread starts: test_path's buffers are not
 * for threads. */
static char model_paths[N_MODELS][4096];
static dmbp_model *models[N_MODELS];
static float *inputs[N_MODELS]; /* N_IMAGES preprocessed images each */
static int chans[N_MODELS], height[N_MODELS], width[N_MODELS];

/* Each method's single-threaded result, the logits of a plain forward
 * pass. */
static dmbp_result *refs[N_MODELS][N_METHODS];
static float *ref_logits[N_MODELS];

/* Run one method (NULL on failure, with a line saying why). */
static dmbp_result *run_method(int mi, dmbp_method meth)
{
    dmbp_explain_options o;
    tl_quick_options(&o, meth, &quick);
    dmbp_result *r = NULL;
    if (explain_once(models[mi], inputs[mi], N_IMAGES, chans[mi],
                     height[mi], width[mi], NULL, &o, &r))
        fprintf(stderr, "%s %s: %s\n", model_files[mi],
                dmbp_method_name(meth), dmbp_last_error());
    return r;
}

/* A forward pass on the thread's own plan; logits allocated. */
static float *forward(const dmbp_model *m, const float *x)
{
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.batch = N_IMAGES;
    dmbp_plan *p = NULL;
    if (dmbp_plan_create(m, &po, &p))
        return NULL;
    dmbp_shape ls = dmbp_plan_logits_shape(p);
    float *logits = malloc(sizeof(float) * (size_t)dmbp_shape_numel(&ls));
    if (!logits || dmbp_plan_forward(p, x, logits)) {
        free(logits);
        logits = NULL;
    }
    dmbp_plan_free(p);
    return logits;
}

static size_t logits_bytes(int mi)
{
    return sizeof(float) * N_IMAGES * (size_t)dmbp_model_num_classes(models[mi]);
}

/* Each thread runs every method on both models, starting at a different
 * method so that different methods run at the same time. */
static void *worker(void *arg)
{
    int t = (int)(intptr_t)arg;
    int bad = 0;
    for (int mi = 0; mi < N_MODELS; mi++) {
        float *l = forward(models[mi], inputs[mi]);
        if (!l || memcmp(l, ref_logits[mi], logits_bytes(mi))) {
            fprintf(stderr, "FAIL thread %d %s: forward differs\n", t,
                    model_files[mi]);
            bad++;
        }
        free(l);
        for (int j = 0; j < N_METHODS; j++) {
            dmbp_method meth = (dmbp_method)((j + t * 2) % N_METHODS);
            dmbp_result *got = run_method(mi, meth);
            if (!got || !tl_same_result(got, refs[mi][meth])) {
                fprintf(stderr, "FAIL thread %d %s %s: not bitwise equal to "
                        "the single-threaded run\n", t, model_files[mi],
                        dmbp_method_name(meth));
                bad++;
            }
            dmbp_result_free(got);
        }
    }
    return (void *)(intptr_t)bad;
}

/* ---- per-thread error messages ---------------------------------------- */

static pthread_barrier_t err_barrier;

typedef struct err_case {
    int which;   /* 0: a missing model file; 1: an unknown method name */
    int ok;      /* set by the thread */
    char seen[256];
} err_case;

static void *error_worker(void *arg)
{
    err_case *c = arg;
    dmbp_status st;
    if (c->which == 0) {
        dmbp_model *m = NULL;
        st = dmbp_model_load("/nonexistent/thread-zero.onnx", &m);
    } else {
        dmbp_method meth;
        st = dmbp_method_from_name("thread-one-method", &meth);
    }
    /* Both errors are set before either thread reads its message: a
     * process-wide buffer would show the same text to both. */
    pthread_barrier_wait(&err_barrier);
    snprintf(c->seen, sizeof c->seen, "%s", dmbp_last_error());
    const char *mine = c->which == 0 ? "thread-zero" : "thread-one-method";
    const char *other = c->which == 0 ? "thread-one-method" : "thread-zero";
    c->ok = st != DMBP_OK && strstr(c->seen, mine) && !strstr(c->seen, other);
    return NULL;
}

static void test_errors_per_thread(void)
{
    err_case cases[2] = {{.which = 0}, {.which = 1}};
    pthread_t th[2];
    CHECK(!pthread_barrier_init(&err_barrier, NULL, 2), "barrier");
    for (int i = 0; i < 2; i++)
        CHECK(!pthread_create(&th[i], NULL, error_worker, &cases[i]),
              "pthread_create");
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECK(cases[i].ok, "thread %d reads its own error, got: %s", i,
              cases[i].seen);
    }
    pthread_barrier_destroy(&err_barrier);
}

/* ---- concurrent loads -------------------------------------------------- */

typedef struct load_case {
    int mi;
    int ok;
} load_case;

static void *load_worker(void *arg)
{
    load_case *c = arg;
    dmbp_model *m = NULL;
    if (dmbp_model_load(model_paths[c->mi], &m)) {
        fprintf(stderr, "thread load: %s\n", dmbp_last_error());
        return NULL;
    }
    const dmbp_model *r = models[c->mi];
    float *l = dmbp_model_num_params(m) == dmbp_model_num_params(r) &&
                       dmbp_model_num_nodes(m) == dmbp_model_num_nodes(r)
                   ? forward(m, inputs[c->mi])
                   : NULL;
    c->ok = l && !memcmp(l, ref_logits[c->mi], logits_bytes(c->mi));
    free(l);
    dmbp_model_free(m);
    return NULL;
}

static void test_concurrent_loads(void)
{
    load_case cases[N_THREADS];
    pthread_t th[N_THREADS];
    for (int t = 0; t < N_THREADS; t++) {
        cases[t] = (load_case){.mi = t % N_MODELS};
        CHECK(!pthread_create(&th[t], NULL, load_worker, &cases[t]),
              "pthread_create");
    }
    for (int t = 0; t < N_THREADS; t++) {
        pthread_join(th[t], NULL);
        CHECK(cases[t].ok, "thread %d: concurrently loaded %s differs", t,
              model_files[cases[t].mi]);
    }
}

static int setup(void)
{
    for (int mi = 0; mi < N_MODELS; mi++) {
        snprintf(model_paths[mi], sizeof model_paths[mi], "%s",
                 test_path(model_files[mi]));
        models[mi] = tl_model(model_files[mi]);
        if (!models[mi])
            return -1;
        inputs[mi] = tl_inputs(models[mi], sample_files, N_IMAGES,
                               &chans[mi], &height[mi], &width[mi]);
        if (!inputs[mi])
            return -1;
        ref_logits[mi] = forward(models[mi], inputs[mi]);
        if (!ref_logits[mi])
            return -1;
        for (int meth = 0; meth < N_METHODS; meth++)
            if (!(refs[mi][meth] = run_method(mi, (dmbp_method)meth)))
                return -1;
    }
    return 0;
}

int main(void)
{
    if (setup()) {
        fprintf(stderr, "FAIL: single-threaded reference run\n");
        return 1;
    }
    pthread_t th[N_THREADS];
    for (int t = 0; t < N_THREADS; t++)
        CHECK(!pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t),
              "pthread_create");
    for (int t = 0; t < N_THREADS; t++) {
        void *bad = NULL;
        pthread_join(th[t], &bad);
        CHECK(!bad, "thread %d: %d results differ", t, (int)(intptr_t)bad);
    }
    test_errors_per_thread();
    test_concurrent_loads();

    for (int mi = 0; mi < N_MODELS; mi++) {
        for (int k = 0; k < N_METHODS; k++)
            dmbp_result_free(refs[mi][k]);
        free(ref_logits[mi]);
        free(inputs[mi]);
        dmbp_model_free(models[mi]);
    }
    if (!failures)
        printf("test_threads: %d threads x %d methods x %d models: ok\n",
               N_THREADS, N_METHODS, N_MODELS);
    return failures != 0;
}
