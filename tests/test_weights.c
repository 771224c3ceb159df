/* Weight storage (src/weights.c, DEVELOPERS.md "Weight storage"): a model
 * loaded from a file lets go of the weights a built plan holds, later
 * plans read them again and compute exactly what a model that kept them
 * computes, and a file changed since loading is refused, never used.
 * The reference is the same model loaded from memory (never released). */
#include "testlib.h"
#include "model/model.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MODEL "models/fmnist_vgg.onnx"

/* Logits (forward plan) and the input gradient of class 0 (reverse plan). */
static dmbp_status run(const dmbp_model *m, const float *x, float *logits,
                       float *grad)
{
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.reverse = grad != NULL;
    dmbp_plan *p;
    TRY(dmbp_plan_create(m, &po, &p));
    dmbp_status st = dmbp_plan_forward(p, x, logits);
    float seed[10] = {1};
    if (!st && grad)
        st = dmbp_plan_backward(p, seed, NULL, 0, grad);
    dmbp_plan_free(p);
    return st;
}

static int count_released(const dmbp_model *m, int *releasable)
{
    int n = 0;
    *releasable = 0;
    for (int i = 0; i < m->n_values; i++) {
        *releasable += m->values[i].releasable;
        n += m->values[i].releasable && !m->values[i].f;
    }
    return n;
}

int main(void)
{
    size_t size;
    uint8_t *bytes = tl_read_file(test_path(MODEL), &size);
    CHECK(bytes, "cannot read %s", MODEL);
    if (!bytes)
        return 1;
    char tmp[] = "/tmp/dmbp-test-weights-XXXXXX";
    int fd = mkstemp(tmp);
    CHECK(fd >= 0 && write(fd, bytes, size) == (ssize_t)size,
          "cannot write %s", tmp);
    close(fd);

    dmbp_model *ref = NULL, *m = NULL;
    CHECK(!dmbp_model_load_memory(bytes, size, MODEL, NULL, &ref),
          "load from memory: %s", dmbp_last_error());
    CHECK(!dmbp_model_load(tmp, &m), "load: %s", dmbp_last_error());
    if (!ref || !m)
        return 1;
    int rel;
    CHECK(count_released(m, &rel) == 0 && rel >= 2, "after loading: "
          "%d releasable weights (expected the large ones), none released",
          rel);

    dmbp_shape s = dmbp_model_input_shape(m);
    int64_t per = s.dims[1] * s.dims[2] * s.dims[3];
    float *x = malloc((size_t)per * sizeof(float));
    for (int64_t i = 0; i < per; i++)
        x[i] = (float)((i * 37) % 101) / 50.f - 1.f;
    float l_ref[10], l[10];
    float *g_ref = malloc((size_t)per * sizeof(float));
    float *g = malloc((size_t)per * sizeof(float));
    CHECK(!run(ref, x, l_ref, g_ref), "reference: %s", dmbp_last_error());

    /* First plan: built from the loaded arrays; then the model lets go. */
    CHECK(!run(m, x, l, NULL), "forward: %s", dmbp_last_error());
    CHECK(!memcmp(l, l_ref, sizeof l), "forward logits differ from the "
          "model loaded from memory");
    int released = count_released(m, &rel);
    CHECK(released == rel, "after a plan was built and freed: %d of %d "
          "releasable weights released", released, rel);

    /* A reverse plan now reads them again from the file. */
    CHECK(!run(m, x, l, g), "reverse: %s", dmbp_last_error());
    CHECK(!memcmp(l, l_ref, sizeof l) &&
          !memcmp(g, g_ref, (size_t)per * sizeof(float)),
          "logits or gradient after reading the weights again differ");

    /* A plan alive keeps what it uses in place (the fully connected
     * weights): a second plan meanwhile computes the same. */
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    dmbp_plan *keep = NULL;
    CHECK(!dmbp_plan_create(m, &po, &keep), "plan: %s", dmbp_last_error());
    CHECK(count_released(m, &rel) < rel, "a live plan's in-place weights "
          "were released");
    CHECK(!run(m, x, l, g), "second plan: %s", dmbp_last_error());
    CHECK(!memcmp(g, g_ref, (size_t)per * sizeof(float)), "second plan "
          "beside a live one differs");
    dmbp_plan_free(keep);

    /* The file changes: first only its time, then one byte of a released
     * weight with the time put back. Both are refused. */
    int v = -1;
    for (int i = 0; i < m->n_values && v < 0; i++)
        if (m->values[i].releasable && !m->values[i].f)
            v = i;
    CHECK(v >= 0, "no released weight");
    struct stat st0;
    stat(tmp, &st0);
    struct timespec t[2] = {st0.st_atim, st0.st_mtim};
    t[1].tv_sec -= 100;
    utimensat(AT_FDCWD, tmp, t, 0);
    dmbp_plan *p = NULL;
    dmbp_status rc = dmbp_plan_create(m, &po, &p);
    CHECK(rc == DMBP_ERR_IO && strstr(dmbp_last_error(), "changed"),
          "a file with another time: status %d (%s), expected "
          "DMBP_ERR_IO", rc, dmbp_last_error());
    dmbp_plan_free(p);
    p = NULL;
    if (v >= 0) {
        fd = open(tmp, O_WRONLY);
        uint8_t b = bytes[m->values[v].src_off + 5] ^ 0x40;
        CHECK(fd >= 0 && pwrite(fd, &b, 1,
                                (off_t)m->values[v].src_off + 5) == 1,
              "cannot change %s", tmp);
        close(fd);
        t[1] = st0.st_mtim;
        utimensat(AT_FDCWD, tmp, t, 0);
        rc = dmbp_plan_create(m, &po, &p);
        CHECK(rc == DMBP_ERR_IO && strstr(dmbp_last_error(), "differs"),
              "a changed weight: status %d (%s), expected DMBP_ERR_IO",
              rc, dmbp_last_error());
        dmbp_plan_free(p);
    }
    /* Removing the file does not matter while it is unchanged: the model
     * keeps it open. */
    fd = open(tmp, O_WRONLY);
    if (v >= 0 && fd >= 0) {
        CHECK(pwrite(fd, bytes + m->values[v].src_off + 5, 1,
                     (off_t)m->values[v].src_off + 5) == 1, "restore");
        close(fd);
        utimensat(AT_FDCWD, tmp, t, 0);
    }
    unlink(tmp);
    CHECK(!run(m, x, l, g) && !memcmp(g, g_ref, (size_t)per * sizeof(float)),
          "after the file was removed: %s", dmbp_last_error());

    dmbp_model_free(m);
    dmbp_model_free(ref);
    free(bytes);
    free(x);
    free(g);
    free(g_ref);
    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    return failures != 0;
}
