/* Not a test: the LRP slow tier's helper (tests/ref/torchvision_lrp.py).
 * For one preprocessed input (.npy, 1 x C x H x W float32) it writes
 * dmbp's LRP map under a composite (OUTDIR/map.npy) and every activation
 * of the forward pass that LRP walks (OUTDIR/<n>.npy, listed with the
 * value's name in OUTDIR/values.txt), from a plan made as the method makes
 * its own (one lane, reverse passes, one thread), so that the reference
 * can apply the rules in float64 to dmbp's own float32 activations and
 * max-pooling winners (tests/ref/README.md, "LRP").
 *
 *   lrp_trace MODEL INPUT.npy TARGET COMPOSITE OUTDIR */
#include "testlib.h"

#include <dmbp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "plan/plan.h"

static int fail(const char *what)
{
    fprintf(stderr, "lrp_trace: %s: %s\n", what, dmbp_last_error());
    return 1;
}

static int write_map(const dmbp_model *m, const float *x, const int64_t *d,
                     int target, const char *comp, const char *dir)
{
    dmbp_explain_options o;
    dmbp_explain_options_init(&o);
    o.method = DMBP_METHOD_LRP;
    dmbp_preprocess_options pre;
    if (dmbp_lrp_composite_from_name(comp, &o.lrp.composite) ||
        dmbp_model_preprocess_defaults(m, &pre))
        return fail(comp);
    o.preprocess = &pre; /* zbox's bounds */
    dmbp_session *s;
    dmbp_result *r = NULL;
    if (dmbp_session_create(m, &s))
        return fail("session");
    dmbp_status st = dmbp_explain(s, x, 1, (int)d[1], (int)d[2], (int)d[3],
                                  &target, &o, &r);
    dmbp_session_free(s);
    dmbp_tensor_view v;
    if (st || dmbp_result_find(r, 0, "map", &v)) {
        dmbp_result_free(r);
        return fail("explain");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/map.npy", dir);
    int64_t dims[4] = {1, d[1], d[2], d[3]};
    int bad = npy_write_f32(path, v.data, dims, 4) != 0;
    printf("conservation %.9g\n",
           dmbp_result_scalar(r, 0, dmbp_result_find_scalar(r, "conservation")));
    dmbp_result_free(r);
    return bad;
}

static int write_values(const dmbp_model *m, const float *x, const int64_t *d,
                        const char *dir)
{
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.shape.ndim = 4;
    for (int i = 0; i < 4; i++)
        po.shape.dims[i] = d[i];
    po.reverse = 1;
    dmbp_plan *p;
    if (dmbp_plan_create(m, &po, &p))
        return fail("plan");
    if (dmbp_plan_forward(p, x, NULL)) {
        dmbp_plan_free(p);
        return fail("forward");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/values.txt", dir);
    FILE *list = fopen(path, "w");
    int bad = !list;
    for (int v = 0; !bad && v < m->n_values; v++) {
        bool rel = false;
        const dmbp_shape *s = dmbp__plan_value_shape(p, v, &rel);
        if (m->values[v].is_const || !rel || !s)
            continue;
        int64_t n = dmbp_shape_numel(s), dims[DMBP_MAX_DIMS];
        float *buf = malloc((size_t)n * sizeof(float));
        if (!buf || dmbp__plan_read(p, v, 0, buf)) {
            free(buf);
            continue; /* not kept by the plan (an alias or fused away) */
        }
        for (int i = 0; i < s->ndim; i++)
            dims[i] = s->dims[i];
        snprintf(path, sizeof path, "%s/%d.npy", dir, v);
        bad = npy_write_f32(path, buf, dims, s->ndim) != 0;
        fprintf(list, "%d %s\n", v, m->values[v].name);
        free(buf);
    }
    if (list)
        bad |= fclose(list) != 0;
    dmbp_plan_free(p);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: lrp_trace MODEL INPUT.npy TARGET COMPOSITE "
                        "OUTDIR\n");
        return 2;
    }
    float *x;
    int64_t d[NPY_MAX_DIMS];
    int nd;
    if (npy_read_f32(argv[2], &x, d, &nd) || nd != 4 || d[0] != 1) {
        fprintf(stderr, "lrp_trace: %s: not a 1 x C x H x W float32 .npy\n",
                argv[2]);
        return 3;
    }
    dmbp_model *m;
    if (dmbp_set_num_threads(1) || dmbp_model_load(argv[1], &m))
        return fail(argv[1]);
    int bad = write_map(m, x, d, atoi(argv[3]), argv[4], argv[5]) ||
              write_values(m, x, d, argv[5]);
    dmbp_model_free(m);
    free(x);
    return bad;
}
