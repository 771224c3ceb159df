/* The statistics every report of an evaluation prints (report.c,
 * report_json.c, report_svg.c): means, standard errors, paired
 * differences, the curves' x axis. */
#include "eval.h"

int dmbp__ev_num_metrics(const dmbp_eval_run *r)
{
    return r->o.ground_truth ? DMBP_EVAL_NUM_METRICS : DMBP_EVAL_TRUTH_FIRST;
}

/* ------------------------------------------------------------------ */
/* Statistics                                                         */
/* ------------------------------------------------------------------ */

dmbp__ev_stat dmbp__ev_stats(const double *v, int n, int stride)
{
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[(size_t)i * stride])) {
            s += v[(size_t)i * stride];
            k++;
        }
    dmbp__ev_stat st = {NAN, NAN, k};
    if (k == 0)
        return st;
    st.mean = s / k;
    if (k < 2)
        return st;
    double ss = 0;
    for (int i = 0; i < n; i++) {
        double x = v[(size_t)i * stride];
        if (isfinite(x))
            ss += (x - st.mean) * (x - st.mean);
    }
    /* The sample standard deviation over sqrt(k). */
    st.se = sqrt(ss / (k - 1) / k);
    return st;
}

static void paired(const dmbp_eval_run *r, int method, int k, double *d)
{
    const dmbp__ev_method *m = &r->m[method], *a = &r->m[r->against];
    for (int i = 0; i < r->n; i++)
        d[i] = m->v[(size_t)i * DMBP_EVAL_NUM_METRICS + k] -
               a->v[(size_t)i * DMBP_EVAL_NUM_METRICS + k];
}

double dmbp__ev_curve_x(const dmbp_eval_run *r, int i)
{
    int64_t hw = (int64_t)r->h * r->w;
    int64_t n = r->eo.step_pixels > 0 ? (int64_t)i * r->eo.step_pixels
                                      : (int64_t)i * hw / r->eo.steps;
    return (double)(n < hw ? n : hw) / (double)hw;
}

const char *dmbp__ev_substrate_name(dmbp_substrate s)
{
    return s == DMBP_SUBSTRATE_BLUR ? "blur"
           : s == DMBP_SUBSTRATE_MEAN ? "mean" : "zero";
}

dmbp__ev_stat dmbp__ev_metric_stat(const dmbp_eval_run *r, int method, int k)
{
    return dmbp__ev_stats(r->m[method].v + k, r->n, DMBP_EVAL_NUM_METRICS);
}

dmbp__ev_stat dmbp__ev_paired_stat(const dmbp_eval_run *r, int method, int k)
{
    double *d = malloc((size_t)r->n * sizeof *d);
    dmbp__ev_stat s = {NAN, NAN, 0};
    if (d) {
        paired(r, method, k, d);
        s = dmbp__ev_stats(d, r->n, 1);
        free(d);
    }
    return s;
}

dmbp__ev_stat dmbp__ev_rho_stat(const dmbp_eval_run *r, int method, int stage)
{
    return dmbp__ev_stats(r->m[method].rho + stage, r->rand_images, r->stages);
}
