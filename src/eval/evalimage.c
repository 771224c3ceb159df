/* One evaluation's images (dmbp_eval_run, evalrun.c): a window of images
 * explained by each method and measured, every image's numbers as JSON
 * text and back, and the mean curves once every image is in. */
#include "eval.h"

#include <time.h>

/* The JSON key of an image's numbers, and of the randomised layers. */
#define KEY_EVAL "\"eval\": ["
#define KEY_LAYERS "\"layers\": ["
/* Per method in the JSON: target, prob, signed, 3 timings, the metrics. */
enum { F_TARGET, F_PROB, F_SIGNED, F_SECS, F_METRICS = 6 };

/* The ground-truth metrics of image i: the positive evidence against the
 * truth's "for" pixels, the negative (signed maps only) against its
 * "against" pixels. map: DMBP's A+ (a_neg its A-), else the map. */
static dmbp_status truth_metrics(dmbp_eval_run *r, const dmbp__ev_method *em,
                                 const float *map, const float *a_neg,
                                 int mc, const uint8_t *truth, double *v)
{
    int h = r->h, w = r->w;
    dmbp_status st = a_neg ? dmbp_eval_truth_maps_split(map, a_neg, mc, h,
                                                        w, r->pos, r->neg)
                           : dmbp_eval_truth_maps(map, mc, h, w, r->pos,
                                                  r->neg);
    dmbp_truth_scores t;
    for (int s = 0; s < 1 + em->has_negative && !st; s++) {
        dmbp_truth_scores_init(&t);
        st = dmbp_eval_truth(s ? r->neg : r->pos, truth, h, w,
                             s ? DMBP_TRUTH_AGAINST : DMBP_TRUTH_FOR,
                             DMBP_POINTING_TOLERANCE, &t);
        v[DMBP_EVAL_POS_MASS + s] = t.mass_accuracy;
        v[DMBP_EVAL_POS_RANK + s] = t.rank_accuracy;
        v[DMBP_EVAL_POS_POINT + s] = t.pointing;
    }
    return st;
}

/* The metrics of image i (position j of res, input in) for method em. */
static dmbp_status image_metrics(dmbp_eval_run *r, dmbp__ev_method *em,
                                 const dmbp_result *res, int j, int i,
                                 const float *in, const uint8_t *truth)
{
    int c = r->c, h = r->h, w = r->w;
    dmbp_shape sh = dmbp_result_array_shape(res);
    int mc = (int)sh.dims[0];
    bool dmbp = em->o.method == DMBP_METHOD_DMBP;
    int kp = dmbp ? dmbp_result_find_array(res, "a_pos") : 0;
    int kn = dmbp ? dmbp_result_find_array(res, "a_neg") : 0;
    if (kp < 0 || kn < 0 || sh.ndim != 3 || sh.dims[1] != h ||
        sh.dims[2] != w)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "%s's result has no usable "
                              "map", dmbp_method_name(em->o.method));
    int t = dmbp_result_target(res, j);
    em->target[i] = t;
    em->prob[i] = dmbp_result_prob(res, j);
    double *v = em->v + (size_t)i * DMBP_EVAL_NUM_METRICS;
    for (int k = 0; k < DMBP_EVAL_NUM_METRICS; k++)
        v[k] = NAN;
    const dmbp_eval_options *eo = &r->eo;
    float *del = em->del_img + (size_t)i * r->points;
    float *ins = em->ins_img + (size_t)i * r->points;
    float *aopc = em->aopc_img + (size_t)i * r->aopc_points;
    dmbp_session *s = r->metrics;
    TRY(dmbp_eval_pixel_scores(dmbp_result_array(res, j, kp), mc, h, w,
                               em->has_negative ? 1 : 0, r->pos));
    TRY(dmbp_eval_deletion(s, in, c, h, w, t, r->pos, eo, del,
                           &v[DMBP_EVAL_DELETION]));
    TRY(dmbp_eval_insertion(s, in, c, h, w, t, r->pos, eo, ins,
                            &v[DMBP_EVAL_INSERTION]));
    TRY(dmbp_eval_aopc(s, in, c, h, w, t, r->pos, eo, aopc,
                       &v[DMBP_EVAL_AOPC]));
    if (em->has_negative) {
        static const double fractions[3] = DMBP_EVAL_NEG_FRACTIONS;
        TRY(dmbp_eval_pixel_scores(dmbp_result_array(res, j, kn), mc, h, w,
                                   -1, r->neg));
        TRY(dmbp_eval_negative(s, in, c, h, w, t, r->neg, fractions, 3, eo,
                               &v[DMBP_EVAL_NEG5]));
    }
    if (truth && r->o.ground_truth)
        TRY(truth_metrics(r, em, dmbp_result_array(res, j, kp),
                          dmbp ? dmbp_result_array(res, j, kn) : NULL, mc,
                          truth, v));
    return DMBP_OK;
}

/* Mean of the finite rho of one image. */
static double mean_finite(const double *v, int n)
{
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i])) {
            s += v[i];
            k++;
        }
    return k ? s / k : NAN;
}

/* Images first .. first + n - 1 by method k: explained in one call (the
 * library seeds image j of a call with seed + j: image i gets seed + i
 * whatever the window), their metrics, and the randomisation check of
 * those among the first rand_images. */
static dmbp_status window_method(dmbp_eval_run *r, int k, int first, int n,
                                 const float *x, const uint8_t *truth,
                                 const int *targets)
{
    dmbp__ev_method *em = &r->m[k];
    size_t per = (size_t)r->c * r->h * r->w, hw = (size_t)r->h * r->w;
    int end = first + n;
    dmbp_explain_options o = em->o;
    dmbp_session *ex = NULL;
    TRY(dmbp_session_create(r->model, &ex));
    o.smoothgrad.seed = o.dmbp.seed = o.rise.seed = r->o.seed + (uint64_t)first;
    double t0 = dmbp__now();
    dmbp_result *res = NULL;
    dmbp_status st = dmbp_explain(ex, x, n, r->c, r->h, r->w, targets, &o,
                                  &res);
    double t1 = dmbp__now();
    if (st)
        st = dmbp__prefix_error(st, r->names[first] ? r->names[first] : "");
    else
        em->has_negative = dmbp_result_signed(res) != 0;
    for (int j = 0; j < n && !st; j++) {
        st = image_metrics(r, em, res, j, first + j, x + (size_t)j * per,
                           truth ? truth + (size_t)j * hw : NULL);
        if (st)
            st = dmbp__prefix_error(st, r->names[first + j]
                                            ? r->names[first + j] : "");
    }
    double t2 = dmbp__now();
    for (int i = first; i < end && i < r->rand_images && !st; i++) {
        double *rho = em->rho + (size_t)i * r->stages;
        o.smoothgrad.seed = o.dmbp.seed = o.rise.seed =
            r->o.seed + (uint64_t)i;
        st = dmbp_eval_randomization(ex, x + (size_t)(i - first) * per,
                                     r->c, r->h, r->w, em->target[i], &o,
                                     r->o.seed, rho,
                                     i == 0 && k == 0 ? r->lnames : NULL);
        if (st)
            st = dmbp__prefix_error(st, r->names[i] ? r->names[i] : "");
        else
            em->v[(size_t)i * DMBP_EVAL_NUM_METRICS + DMBP_EVAL_RAND] =
                mean_finite(rho, r->stages);
        for (int s = 0; i == 0 && k == 0 && !st && s < r->stages; s++) {
            free(r->layer_names[s]);
            r->layer_names[s] = dmbp__strdup(r->lnames[s] ? r->lnames[s]
                                                          : "");
            if (!r->layer_names[s])
                st = DMBP_ERR_NOMEM;
        }
    }
    /* Each image of the window carries its share of the time. */
    int n_rand = (end < r->rand_images ? end : r->rand_images) - first;
    double t3 = dmbp__now();
    for (int i = first; i < end; i++) {
        double *secs = em->secs + (size_t)i * 3;
        secs[0] = (t1 - t0) / n;
        secs[1] = (t2 - t1) / n;
        secs[2] = i < r->rand_images ? (t3 - t2) / n_rand : 0;
    }
    dmbp_result_free(res);
    dmbp_session_free(ex);
    return st;
}

dmbp_status dmbp_eval_run_compute(dmbp_eval_run *r, int first, int n,
                                  const float *x, const uint8_t *truth)
{
    if (!r || !x || n < 1 || first < 0 || first > r->n - n ||
        (r->o.ground_truth && !truth))
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_compute: images "
                              "%d + %d of %d, or NULL inputs (truth masks "
                              "with ground_truth)", first, n, r->n);
    int *targets = dmbp__malloc((size_t)n * sizeof *targets);
    if (!targets)
        return DMBP_ERR_NOMEM;
    dmbp_status st = DMBP_OK;
    for (int j = 0; j < n && !st; j++) {
        targets[j] = r->o.target;
        if (r->o.target == DMBP_EVAL_TARGET_TRUE &&
            (targets[j] = r->truth_cls[first + j]) < 0)
            st = dmbp_set_error(DMBP_ERR_ARG, "%s: no true class to explain "
                                "(dmbp_eval_run_set_image)",
                                r->names[first + j] ? r->names[first + j]
                                                    : "an image");
    }
    for (int k = 0; k < r->n_methods && !st; k++)
        st = window_method(r, k, first, n, x, truth, targets);
    free(targets);
    return st;
}

/* ------------------------------------------------------------------ */
/* An image's numbers as JSON and back                                */
/* ------------------------------------------------------------------ */

dmbp_status dmbp_eval_run_write_image(const dmbp_eval_run *r, int i,
                                      FILE *f)
{
    if (!r || !f || i < 0 || i >= r->n)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_write_image: "
                              "image %d out of range", i);
    fputs(KEY_EVAL, f);
    for (int k = 0; k < r->n_methods; k++) {
        const dmbp__ev_method *em = &r->m[k];
        fprintf(f, "%s[%d, %.9g, %d", k ? ", " : "", em->target[i],
                (double)em->prob[i], em->has_negative);
        for (int q = 0; q < 3; q++)
            dmbp__json_num(f, ", ", em->secs[(size_t)i * 3 + q], 17);
        for (int q = 0; q < DMBP_EVAL_NUM_METRICS; q++)
            dmbp__json_num(f, ", ",
                           em->v[(size_t)i * DMBP_EVAL_NUM_METRICS + q], 17);
        const float *curves[3] = {em->del_img + (size_t)i * r->points,
                                  em->ins_img + (size_t)i * r->points,
                                  em->aopc_img + (size_t)i * r->aopc_points};
        int len[3] = {r->points, r->points, r->aopc_points};
        for (int c = 0; c < 3; c++)
            for (int q = 0; q < len[c]; q++)
                dmbp__json_num(f, ", ", curves[c][q], 9);
        for (int s = 0; s < r->stages; s++)
            dmbp__json_num(f, ", ", i < r->rand_images
                               ? em->rho[(size_t)i * r->stages + s] : NAN,
                           17);
        fputs("]", f);
    }
    fputs("]", f);
    if (i == 0 && r->rand_images > 0) {
        fputs(", " KEY_LAYERS, f);
        for (int s = 0; s < r->stages; s++) {
            fputs(s ? ", " : "", f);
            dmbp__json_str(f, r->layer_names[s] ? r->layer_names[s] : "");
        }
        fputs("]", f);
    }
    return ferror(f) ? dmbp_set_error(DMBP_ERR_IO, "write error") : DMBP_OK;
}

/* The next number into *v (NAN for null); the end, or NULL. */
static const char *read_num(const char *p, double *v)
{
    while (*p == ' ' || *p == ',' || *p == '[')
        p++;
    if (!strncmp(p, "null", 4)) {
        *v = NAN;
        return p + 4;
    }
    char *end;
    *v = strtod(p, &end);
    return end == p ? NULL : end;
}

/* One method's numbers of image i; the end, or NULL. */
static const char *read_method(dmbp_eval_run *r, dmbp__ev_method *em, int i,
                               const char *p)
{
    double head[F_METRICS], d;
    for (int q = 0; q < F_METRICS && p; q++)
        p = read_num(p, &head[q]);
    /* Only what we could have written: a class, a probability, a flag. */
    if (!p || !(head[F_TARGET] >= 0 &&
                head[F_TARGET] < dmbp_model_num_classes(r->model) &&
                head[F_TARGET] == floor(head[F_TARGET])) ||
        !(head[F_PROB] >= 0 && head[F_PROB] <= 1) ||
        (head[F_SIGNED] != 0 && head[F_SIGNED] != 1))
        return NULL;
    em->target[i] = (int)head[F_TARGET];
    em->prob[i] = (float)head[F_PROB];
    em->has_negative |= head[F_SIGNED] != 0;
    memcpy(em->secs + (size_t)i * 3, head + F_SECS, 3 * sizeof d);
    for (int q = 0; q < DMBP_EVAL_NUM_METRICS && p; q++)
        p = read_num(p, &em->v[(size_t)i * DMBP_EVAL_NUM_METRICS + q]);
    float *curves[3] = {em->del_img + (size_t)i * r->points,
                        em->ins_img + (size_t)i * r->points,
                        em->aopc_img + (size_t)i * r->aopc_points};
    int len[3] = {r->points, r->points, r->aopc_points};
    for (int c = 0; c < 3; c++)
        for (int q = 0; q < len[c] && p; q++) {
            p = read_num(p, &d);
            curves[c][q] = (float)d;
        }
    for (int s = 0; s < r->stages && p; s++) {
        p = read_num(p, &d);
        if (i < r->rand_images)
            em->rho[(size_t)i * r->stages + s] = d;
    }
    while (p && *p == ' ')
        p++;
    return p && *p == ']' ? p + 1 : NULL;
}

dmbp_status dmbp_eval_run_read_image(dmbp_eval_run *r, int i,
                                     const char *text)
{
    if (!r || i < 0 || i >= r->n)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_read_image: "
                              "image %d out of range", i);
    const char *p = text ? strstr(text, KEY_EVAL) : NULL;
    if (p)
        p += strlen(KEY_EVAL);
    for (int k = 0; k < r->n_methods && p; k++)
        p = read_method(r, &r->m[k], i, p);
    if (!p)
        return dmbp_set_error(DMBP_ERR_FORMAT, "image %d: not the numbers "
                              "of this evaluation", i);
    const char *lp = i == 0 ? strstr(p, KEY_LAYERS) : NULL;
    if (lp)
        lp += strlen(KEY_LAYERS);
    for (int s = 0; lp && s < r->stages; s++) {
        char *name = NULL;
        while (*lp == ' ' || *lp == ',')
            lp++;
        lp = dmbp__json_parse_str(lp, &name);
        if (!name)
            break;
        free(r->layer_names[s]);
        r->layer_names[s] = name;
    }
    return DMBP_OK;
}

dmbp_status dmbp_eval_run_finish(dmbp_eval_run *r, double seconds)
{
    if (!r)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_finish: NULL");
    for (int k = 0; k < r->n_methods; k++) {
        dmbp__ev_method *em = &r->m[k];
        memset(em->del_curve, 0, (size_t)r->points * sizeof(double));
        memset(em->ins_curve, 0, (size_t)r->points * sizeof(double));
        memset(em->aopc_curve, 0, (size_t)r->aopc_points * sizeof(double));
        em->t_explain = em->t_metrics = em->t_rand = 0;
        for (int i = 0; i < r->n; i++) {
            for (int q = 0; q < r->points; q++) {
                em->del_curve[q] += em->del_img[(size_t)i * r->points + q];
                em->ins_curve[q] += em->ins_img[(size_t)i * r->points + q];
            }
            for (int q = 0; q < r->aopc_points; q++)
                em->aopc_curve[q] +=
                    em->aopc_img[(size_t)i * r->aopc_points + q];
            em->t_explain += em->secs[(size_t)i * 3];
            em->t_metrics += em->secs[(size_t)i * 3 + 1];
            em->t_rand += em->secs[(size_t)i * 3 + 2];
        }
        for (int q = 0; q < r->points; q++) {
            em->del_curve[q] /= r->n;
            em->ins_curve[q] /= r->n;
        }
        for (int q = 0; q < r->aopc_points; q++)
            em->aopc_curve[q] /= r->n;
    }
    r->seconds = seconds;
    r->finished = true;
    r->finished_at = (long long)time(NULL);
    return DMBP_OK;
}
