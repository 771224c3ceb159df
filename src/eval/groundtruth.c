/* Ground-truth localisation of positive and negative evidence: relevance
 * mass and rank accuracy (Arras, Osman and Samek, "CLEVR-XAI", 2022) and
 * the pointing game (Zhang et al. 2016, with TorchRay's tolerance), applied
 * to the positive and, separately, to the negative evidence of a map. */
#include "eval/eval.h"
#include "checked.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
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

/* A truth pixel keeps its class where at least half of it, after the
 * resize, was that class. */
#define TRUTH_COVERAGE 0.5f
/* Slack when reading the byte values 0, 1, 2 back from [0, 1] floats. */
#define TRUTH_BYTE_EPS 1e-3
/* Full scale of a 16-bit PNG sample. */
#define TRUTH_16BIT_MAX 65535

/* The classes of t (values / 255 of an 8-bit gray PNG) as two 0/1 planes
 * (for, against) of planes; a value other than 0, 1, 2 is an error naming
 * it as the file has it (a 16-bit PNG's samples are whole multiples of
 * 1/65535 that no 8-bit value is). */
static dmbp_status truth_planes(const char *path, const dmbp_image *t,
                                float *planes)
{
    size_t plane = (size_t)t->height * t->width;
    for (size_t p = 0; p < plane; p++) {
        double v = t->data[p] * 255.0;
        long b = lround(v);
        if (fabs(v - (double)b) > TRUTH_BYTE_EPS || b < DMBP_TRUTH_NEITHER ||
            b > DMBP_TRUTH_AGAINST) {
            double v16 = t->data[p] * (double)TRUTH_16BIT_MAX;
            bool wide = fabs(v - (double)b) > TRUTH_BYTE_EPS &&
                        fabs(v16 - round(v16)) < TRUTH_BYTE_EPS;
            char val[64];
            if (wide)
                snprintf(val, sizeof val, "%.0f (a 16-bit PNG)", v16);
            else
                snprintf(val, sizeof val, "%.6g", v);
            return dmbp_set_error(
                DMBP_ERR_FORMAT, "%s: pixel (%zu, %zu) is %s: a ground truth "
                "is an 8-bit gray PNG holding only %d (neither), %d (for) and "
                "%d (against)", path, p % (size_t)t->width,
                p / (size_t)t->width, val, DMBP_TRUTH_NEITHER, DMBP_TRUTH_FOR,
                DMBP_TRUTH_AGAINST);
        }
        if (b == DMBP_TRUTH_FOR)
            planes[p] = 1;
        else if (b == DMBP_TRUTH_AGAINST)
            planes[plane + p] = 1;
    }
    return DMBP_OK;
}

dmbp_status dmbp_eval_truth_load(const char *path, int image_h, int image_w,
                                 const dmbp_preprocess_options *pre, int h,
                                 int w, uint8_t *out)
{
    if (!path || !pre || !out || h < 1 || w < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_truth_load: NULL "
                              "argument or size < 1");
    dmbp_image t = {0}, planes = {0}, res = {0};
    dmbp_status st = dmbp_image_load(path, NULL, &t);
    if (!st && t.channels != 1)
        st = dmbp_set_error(DMBP_ERR_FORMAT, "%s: a ground truth must be a "
                            "gray PNG; this one has %d channels", path,
                            t.channels);
    size_t plane = (size_t)t.height * t.width;
    planes = (dmbp_image){3, t.height, t.width, NULL};
    if (!st && !(planes.data = calloc(3 * plane, sizeof(float))))
        st = dmbp_set_error(DMBP_ERR_NOMEM, "%s: out of memory", path);
    if (!st)
        st = truth_planes(path, &t, planes.data);
    if (!st && (t.height != image_h || t.width != image_w))
        st = dmbp_set_error(DMBP_ERR_SHAPE, "%s: the ground truth is %dx%d, "
                            "its image %dx%d: they must have one size", path,
                            t.width, t.height, image_w, image_h);
    /* Each class is a channel of a 0/1 picture brought to the model's
     * grid by the image's own resize and crop, without normalisation. */
    dmbp_preprocess_options geo = *pre;
    geo.channels = 3;
    for (int c = 0; c < 3; c++) {
        geo.mean[c] = 0;
        geo.std[c] = 1;
    }
    if (!st && (st = dmbp_image_preprocess(&planes, &geo, &res)))
        dmbp_set_error(st, "%s: %s", path, dmbp_last_error());
    if (!st && (res.height != h || res.width != w))
        st = dmbp_set_error(DMBP_ERR_SHAPE, "%s: preprocessed to %dx%d, the "
                            "image to %dx%d", path, res.width, res.height, w,
                            h);
    size_t oplane = (size_t)h * w;
    for (size_t p = 0; !st && p < oplane; p++)
        out[p] = res.data[p] >= TRUTH_COVERAGE ? DMBP_TRUTH_FOR
                 : res.data[oplane + p] >= TRUTH_COVERAGE ? DMBP_TRUTH_AGAINST
                                                          : DMBP_TRUTH_NEITHER;
    free(planes.data);
    dmbp_image_free(&res);
    dmbp_image_free(&t);
    return st;
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
