/* once.h - one-shot jobs for the tests: a session made for one call and
 * freed after it, which gives fresh plans, as dmbp_explain(model, ...) and
 * dmbp_eval_*(model, ...) did before sessions. tests/test_session checks
 * that a session kept across calls gives the same bits. A NULL model
 * reaches the library's own NULL-session check. */
#ifndef DMBP_TESTS_ONCE_H
#define DMBP_TESTS_ONCE_H

#include <dmbp.h>
#include <dmbp_eval.h>

#define ONCE(call)                                                           \
    dmbp_session *s_ = NULL;                                                 \
    dmbp_status st_ = m ? dmbp_session_create(m, &s_) : DMBP_OK;             \
    if (!st_)                                                                \
        st_ = (call);                                                        \
    dmbp_session_free(s_);                                                   \
    return st_

static inline dmbp_status explain_once(const dmbp_model *m, const float *x,
                                       int n, int c, int h, int w,
                                       const int *targets,
                                       const dmbp_explain_options *o,
                                       dmbp_result **out)
{
    if (out)
        *out = NULL;
    ONCE(dmbp_explain(s_, x, n, c, h, w, targets, o, out));
}

static inline dmbp_status deletion_once(const dmbp_model *m, const float *x,
                                        int c, int h, int w, int target,
                                        const float *scores,
                                        const dmbp_eval_options *o,
                                        float *curve, double *auc)
{
    ONCE(dmbp_eval_deletion(s_, x, c, h, w, target, scores, o, curve, auc));
}

static inline dmbp_status insertion_once(const dmbp_model *m, const float *x,
                                         int c, int h, int w, int target,
                                         const float *scores,
                                         const dmbp_eval_options *o,
                                         float *curve, double *auc)
{
    ONCE(dmbp_eval_insertion(s_, x, c, h, w, target, scores, o, curve, auc));
}

static inline dmbp_status negative_once(const dmbp_model *m, const float *x,
                                        int c, int h, int w, int target,
                                        const float *scores,
                                        const double *fractions, int n,
                                        const dmbp_eval_options *o,
                                        double *rise)
{
    ONCE(dmbp_eval_negative(s_, x, c, h, w, target, scores, fractions, n, o,
                            rise));
}

static inline dmbp_status aopc_once(const dmbp_model *m, const float *x,
                                    int c, int h, int w, int target,
                                    const float *scores,
                                    const dmbp_eval_options *o, float *curve,
                                    double *aopc)
{
    ONCE(dmbp_eval_aopc(s_, x, c, h, w, target, scores, o, curve, aopc));
}

static inline dmbp_status randomization_once(const dmbp_model *m,
                                             const float *x, int c, int h,
                                             int w, int target,
                                             const dmbp_explain_options *o,
                                             uint64_t seed, double *rho,
                                             const char **layer_names)
{
    ONCE(dmbp_eval_randomization(s_, x, c, h, w, target, o, seed, rho,
                                 layer_names));
}

#undef ONCE
#endif
