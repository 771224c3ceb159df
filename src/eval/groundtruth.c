/* Ground-truth localisation of positive and negative evidence: relevance
 * mass and rank accuracy (Arras, Osman and Samek, "CLEVR-XAI", 2022) and
 * the pointing game (Zhang et al. 2016, with TorchRay's tolerance), applied
 * to the positive and, separately, to the negative evidence of a map. */
#include "eval/eval.h"
#include "checked.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


dmbp_status dmbp_eval_truth_maps(const float *map, int c, int h, int w,
                                 float *pos, float *neg)
{
    static const char fn[] = "dmbp_eval_truth_maps";
    if (!map || !pos)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL %s", fn,
                              !map ? "map" : "pos");
    TRY(dmbp__check_map_sizes(fn, c, h, w));
    TRY(dmbp__check_finite(fn, "map", map, (int64_t)c * h * w));
    size_t plane = (size_t)h * w;
    /* Channels are summed before the sign is taken: a pixel whose
     * channels disagree counts for what its total says. */
    for (size_t i = 0; i < plane; i++) {
        double s = 0;
        for (int ch = 0; ch < c; ch++)
            s += map[ch * plane + i];
        pos[i] = s > 0 ? (float)s : 0.0f;
        if (neg)
            neg[i] = s < 0 ? (float)-s : 0.0f;
    }
    return DMBP_OK;
}

dmbp_status dmbp_eval_truth_maps_split(const float *a_pos,
                                       const float *a_neg, int c, int h,
                                       int w, float *pos, float *neg)
{
    static const char fn[] = "dmbp_eval_truth_maps_split";
    if (!a_pos || !a_neg || !pos || !neg)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL argument", fn);
    TRY(dmbp__check_map_sizes(fn, c, h, w));
    TRY(dmbp__check_finite(fn, "a_pos", a_pos, (int64_t)c * h * w));
    TRY(dmbp__check_finite(fn, "a_neg", a_neg, (int64_t)c * h * w));
    size_t plane = (size_t)h * w;
    /* Clamped per channel first, as the display does (dmbp-method.md 5):
     * sign leakage of A+ (negative values) is not positive evidence. */
    for (size_t i = 0; i < plane; i++) {
        double p = 0, n = 0;
        for (int ch = 0; ch < c; ch++) {
            double vp = a_pos[ch * plane + i], vn = a_neg[ch * plane + i];
            p += vp > 0 ? vp : 0;
            n += vn < 0 ? -vn : 0;
        }
        pos[i] = (float)p;
        neg[i] = (float)n;
    }
    return DMBP_OK;
}

/* The first layout with struct_size (0.2.0) ends at pointing. */
#define TRUTH_SCORES_MIN DMBP__END(dmbp_truth_scores, pointing)

static void truth_nan(dmbp_truth_scores *s)
{
    memset(s, 0, sizeof *s);
    s->struct_size = sizeof *s;
    s->mass_accuracy = s->rank_accuracy = s->pointing = NAN;
}

void dmbp_truth_scores_init_sized(dmbp_truth_scores *s, size_t struct_size)
{
    dmbp_truth_scores d;
    truth_nan(&d);
    dmbp__options_init(s, struct_size, &d, TRUTH_SCORES_MIN, sizeof d);
}

static int by_value_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

/* The share of the top-k pixels inside the mask. Pixels of equal score at
 * the k-th place share the remaining places: each counts with the
 * probability that a random order of the ties picks it, so the result
 * does not depend on any tie-breaking. Pixels with no evidence (score 0)
 * are never among the top pixels. */
static dmbp_status rank_accuracy(const float *e, const uint8_t *truth,
                                 int want, size_t n, size_t k, double *out)
{
    float *sorted = malloc(n * sizeof *sorted);
    if (!sorted)
        return dmbp_set_error(DMBP_ERR_NOMEM, "dmbp_eval_truth: out of "
                              "memory");
    memcpy(sorted, e, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_value_desc);
    float t = sorted[k - 1];
    free(sorted);
    double hits = 0;
    if (t <= 0) {
        for (size_t i = 0; i < n; i++)
            hits += e[i] > 0 && truth[i] == want;
    } else {
        size_t above = 0, at = 0, hits_at = 0;
        for (size_t i = 0; i < n; i++) {
            if (e[i] > t) {
                above++;
                hits += truth[i] == want;
            } else if (e[i] == t) {
                at++;
                hits_at += truth[i] == want;
            }
        }
        hits += (double)(k - above) * (double)hits_at / (double)at;
    }
    *out = hits / (double)k;
    return DMBP_OK;
}

static dmbp_status truth_eval(const float *evidence, const uint8_t *truth,
                              int h, int w, int want, int tolerance,
                              dmbp_truth_scores *out);

dmbp_status dmbp_eval_truth(const float *evidence, const uint8_t *truth,
                            int h, int w, int want, int tolerance,
                            dmbp_truth_scores *out)
{
    if (!evidence || !truth || !out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_truth: NULL "
                              "argument");
    /* Computed in the library's full struct; the caller gets the fields
     * its struct_size covers (NaN first, so also on failure). */
    dmbp_truth_scores res;
    truth_nan(&res);
    TRY(dmbp__options_out(&res, out, TRUTH_SCORES_MIN, sizeof res,
                          "dmbp_truth_scores"));
    dmbp_status st = truth_eval(evidence, truth, h, w, want, tolerance, &res);
    dmbp_status put = dmbp__options_out(&res, out, TRUTH_SCORES_MIN,
                                        sizeof res, "dmbp_truth_scores");
    return st ? st : put;
}

static dmbp_status truth_eval(const float *evidence, const uint8_t *truth,
                              int h, int w, int want, int tolerance,
                              dmbp_truth_scores *out)
{
    static const char fn[] = "dmbp_eval_truth";
    TRY(dmbp__check_map_sizes(fn, 1, h, w));
    if (want < 0 || want > 255)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: truth value %d is not a "
                              "byte", fn, want);
    if (tolerance < 0)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: tolerance %d: must be >= "
                              "0", fn, tolerance);
    size_t n = (size_t)h * w;
    TRY(dmbp__check_finite(fn, "evidence", evidence, (int64_t)n));
    double total = 0, inside = 0;
    size_t k = 0, arg = 0;
    for (size_t i = 0; i < n; i++) {
        if (evidence[i] < 0)
            return dmbp_set_error(DMBP_ERR_ARG, "%s: evidence[%zu] = %g is "
                                  "negative (pass one part of a map, as "
                                  "dmbp_eval_truth_maps makes)", fn, i,
                                  (double)evidence[i]);
        total += evidence[i];
        if (truth[i] == want) {
            inside += evidence[i];
            k++;
        }
        if (evidence[i] > evidence[arg]) /* first maximum in scan order */
            arg = i;
    }
    if (k == 0) /* nothing to find: every score stays NaN */
        return DMBP_OK;
    /* A map without this kind of evidence has found none of it. */
    out->mass_accuracy = total > 0 ? inside / total : 0.0;
    TRY(rank_accuracy(evidence, truth, want, n, k, &out->rank_accuracy));
    out->pointing = 0.0;
    if (evidence[arg] > 0) {
        int py = (int)(arg / (size_t)w), px = (int)(arg % (size_t)w);
        int y0 = py - tolerance < 0 ? 0 : py - tolerance;
        int y1 = py + tolerance >= h ? h - 1 : py + tolerance;
        int x0 = px - tolerance < 0 ? 0 : px - tolerance;
        int x1 = px + tolerance >= w ? w - 1 : px + tolerance;
        int64_t tol2 = (int64_t)tolerance * tolerance;
        for (int y = y0; y <= y1 && out->pointing == 0; y++)
            for (int x = x0; x <= x1; x++) {
                int64_t dy = y - py, dx = x - px;
                if (dy * dy + dx * dx <= tol2 &&
                    truth[(size_t)y * w + x] == want) {
                    out->pointing = 1.0;
                    break;
                }
            }
    }
    return DMBP_OK;
}
