/* Fuzz target: an ONNX model from bytes -> load -> plan -> forward -> every
 * explanation method, on tiny shapes and a small memory budget. Any
 * refusal is fine; a crash, a sanitizer report or a leak is a finding. */
#include "fuzz.h"

#include <dmbp.h>

/* Small enough that each input runs in milliseconds. */
#define FUZZ_SIDE 8              /* a dynamic spatial size               */
#define FUZZ_MAX_INPUT 4096      /* elements of one input image          */
#define FUZZ_MAX_MEMORY ((size_t)64 << 20)

static int input_shape(const dmbp_model *m, dmbp_shape *s)
{
    *s = dmbp_model_input_shape(m);
    int64_t n = 1;
    for (int d = 0; d < s->ndim; d++) {
        if (s->dims[d] == 0)
            s->dims[d] = d == 0 ? 1 : FUZZ_SIDE;
        if (s->dims[d] > FUZZ_MAX_INPUT)
            return -1;
        n *= s->dims[d];
        if (n > FUZZ_MAX_INPUT)
            return -1;
    }
    return 0;
}

static void explain_all(const dmbp_model *m, const float *x,
                        const dmbp_shape *s)
{
    if (s->ndim != 4 || s->dims[0] != 1)
        return;
    static const dmbp_method methods[] = {
        DMBP_METHOD_SALIENCY, DMBP_METHOD_GXI, DMBP_METHOD_IG,
        DMBP_METHOD_SMOOTHGRAD, DMBP_METHOD_GUIDED, DMBP_METHOD_GRADCAM,
        DMBP_METHOD_DMBP};
    for (size_t k = 0; k < sizeof methods / sizeof methods[0]; k++) {
        dmbp_explain_options o;
        dmbp_explain_options_init(&o);
        o.method = methods[k];
        o.ig.steps = 2;
        o.smoothgrad.samples = 2;
        o.dmbp.iterations = 2;
        o.max_lanes = 2;
        o.max_memory = FUZZ_MAX_MEMORY;
        dmbp_result *r = NULL;
        dmbp_session *session = NULL;
        dmbp_status st = dmbp_session_create(m, &session);
        if (!st)
            st = dmbp_explain(session, x, 1, (int)s->dims[1],
                              (int)s->dims[2], (int)s->dims[3], NULL, &o, &r);
        dmbp_session_free(session);
        /* DMBP_FUZZ_VERBOSE=1: say how far each input got (replay). */
        if (getenv("DMBP_FUZZ_VERBOSE"))
            fprintf(stderr, "  method %d: %s %s\n", (int)methods[k],
                    dmbp_status_str(st), st ? dmbp_last_error() : "");
        if (!st) {
            /* Read back what a program would. */
            dmbp_shape as = dmbp_result_array_shape(r);
            int64_t n = dmbp_shape_numel(&as);
            for (int a = 0; a < dmbp_result_num_arrays(r); a++) {
                const float *v = dmbp_result_array(r, 0, a);
                volatile float sum = 0;
                for (int64_t i = 0; v && i < n; i++)
                    sum += v[i];
            }
        }
        dmbp_result_free(r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dmbp_model *m = NULL;
    if (dmbp_model_load_memory(data, size, "fuzz.onnx", NULL, &m)) {
        if (getenv("DMBP_FUZZ_VERBOSE"))
            fprintf(stderr, "load: %s\n", dmbp_last_error());
        return 0;
    }
    /* What `dmbp info` prints. */
    (void)dmbp_model_num_params(m);
    for (int i = 0; i < dmbp_model_num_nodes(m); i++)
        (void)strlen(dmbp_model_node_name(m, i));
    dmbp_shape s;
    if (input_shape(m, &s)) {
        dmbp_model_free(m);
        return 0;
    }
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.shape = s;
    po.max_memory = FUZZ_MAX_MEMORY;
    dmbp_plan *p = NULL;
    int64_t n = dmbp_shape_numel(&s);
    float *x = malloc((size_t)(n > 0 ? n : 1) * sizeof *x);
    dmbp_status pst = x ? dmbp_plan_create(m, &po, &p) : DMBP_ERR_NOMEM;
    if (getenv("DMBP_FUZZ_VERBOSE") && pst)
        fprintf(stderr, "plan: %s\n", dmbp_last_error());
    if (!pst) {
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)((i * 37) % 11) / 11.f - 0.5f;
        /* The logits buffer sized as the API documents it. */
        dmbp_shape ls = dmbp_plan_logits_shape(p);
        int64_t k = dmbp_shape_numel(&ls);
        float *logits = malloc((size_t)(k > 0 ? k : 1) * sizeof *logits);
        if (logits && !dmbp_plan_forward(p, x, logits))
            explain_all(m, x, &s);
        free(logits);
    }
    dmbp_plan_free(p);
    free(x);
    dmbp_model_free(m);
    return 0;
}
