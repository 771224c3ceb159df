/* DMBP's lanes (dmbp_run.h): which plan and trace a group of copies runs
 * on, the passes over a group (with the negative set fixed, the positive
 * set's lanes gathered from and scattered to the run's buffers), and the
 * run's buffers and plans. */
#include "methods/dmbp_run.h"

/* Group g's plan with its trace bound. */
static dmbp_status group_plan(dmbp__run *r, int g, dmbp_plan **p)
{
    *p = r->p[g];
    return dmbp__plan_use_trace(*p, r->tr[g]);
}

/* Half mode: set s's lanes of group g, width values each, from the run's
 * buffer src into dst (gather) or back (scatter). */
static void gather(const dmbp__run *r, int g, int s, const float *src,
                   size_t width, float *dst)
{
    size_t l0 = dmbp__run_glane(r, g);
    size_t n = (size_t)dmbp__run_group_n(r, g) * r->imgs;
    for (size_t c = 0; c < n; c++)
        memcpy(dst + c * width, src + (l0 + 2 * c + s) * width,
               width * sizeof(float));
}

static void scatter(const dmbp__run *r, int g, int s, const float *src,
                    size_t width, float *dst)
{
    size_t l0 = dmbp__run_glane(r, g);
    size_t n = (size_t)dmbp__run_group_n(r, g) * r->imgs;
    for (size_t c = 0; c < n; c++)
        memcpy(dst + (l0 + 2 * c + s) * width, src + c * width,
               width * sizeof(float));
}

dmbp_status dmbp__run_forward(dmbp__run *r, int g)
{
    dmbp_plan *p;
    TRY(group_plan(r, g, &p));
    if (!r->half)
        return dmbp_plan_forward(p, r->in + dmbp__run_glane(r, g) * r->per,
                                 NULL);
    gather(r, g, DMBP__POS_SET, r->in, r->per, r->ga);
    return dmbp_plan_forward(p, r->ga, NULL);
}

/* W(masks) of group g into out; in half mode of set `set` (DMBP__BOTH_SETS:
 * each in turn, or once for both when masks is NULL: all ones). */
dmbp_status dmbp__run_backward(dmbp__run *r, int g, const float *masks,
                                  float *out, int set)
{
    size_t l = dmbp__run_glane(r, g);
    dmbp_plan *p;
    TRY(group_plan(r, g, &p));
    if (!r->half)
        return dmbp_plan_backward(p, r->seed + l * r->classes,
                                  masks ? masks + l * r->nm : NULL, 0,
                                  out + l * r->per);
    if (set == DMBP__BOTH_SETS && masks) {
        TRY(dmbp__run_backward(r, g, masks, out, DMBP__POS_SET));
        return dmbp__run_backward(r, g, masks, out, DMBP__NEG_SET);
    }
    int s = set == DMBP__BOTH_SETS ? DMBP__POS_SET : set;
    /* The sets' seeds are the same one-hot rows. */
    gather(r, g, s, r->seed, (size_t)r->classes, r->ga);
    if (masks)
        gather(r, g, s, masks, (size_t)r->nm, r->gm);
    TRY(dmbp_plan_backward(p, r->ga, masks ? r->gm : NULL, 0, r->gb));
    scatter(r, g, s, r->gb, r->per, out);
    if (set == DMBP__BOTH_SETS)
        scatter(r, g, DMBP__NEG_SET, r->gb, r->per, out);
    return DMBP_OK;
}

/* dl/dm of group g from r->v (half mode: the positive set's only, after
 * a backward of that set). */
dmbp_status dmbp__run_grad(dmbp__run *r, int g)
{
    size_t l = dmbp__run_glane(r, g);
    dmbp_plan *p;
    TRY(group_plan(r, g, &p));
    if (!r->half)
        return dmbp_plan_mask_grad(p, r->v + l * r->per,
                                   r->mgrad + l * r->nm);
    gather(r, g, DMBP__POS_SET, r->v, r->per, r->ga);
    TRY(dmbp_plan_mask_grad(p, r->ga, r->gm));
    scatter(r, g, DMBP__POS_SET, r->gm, (size_t)r->nm, r->mgrad);
    return DMBP_OK;
}

dmbp_status dmbp__run_backward_all(dmbp__run *r, const float *masks, float *out,
                                int set)
{
    for (int g = 0; g < r->G; g++)
        TRY(dmbp__run_backward(r, g, masks, out, set));
    return DMBP_OK;
}

dmbp_status dmbp__run_grad_all(dmbp__run *r)
{
    for (int g = 0; g < r->G; g++)
        TRY(dmbp__run_grad(r, g));
    return DMBP_OK;
}

void dmbp__run_free(dmbp__run *r)
{
    for (int g = 0; r->c && r->p && r->own && g < r->G; g++)
        if (r->own[g] && r->p[g]) {
            (void)dmbp__plan_set_traces(r->p[g], 1);
            dmbp__explain_plan_done(r->c, r->p[g]);
        }
    free(r->p);
    free(r->tr);
    free(r->own);
    free(r->in);
    free(r->seed);
    free(r->w1);
    free(r->w);
    free(r->v);
    free(r->mvals);
    free(r->mgrad);
    free(r->theta);
    free(r->am);
    free(r->av);
    free(r->F);
    free(r->S);
    free(r->agg);
    free(r->iters);
    free(r->done);
    free(r->ga);
    free(r->gb);
    free(r->gm);
    memset(r, 0, sizeof *r);
}

/* The groups' plans. Group sizes never grow with g, so the groups of one
 * size are neighbours: the first makes a plan with a trace for each of
 * them (the forward state, kept signals and masks of each group live
 * between its turns; weights, primitives and scratch are held once). A
 * plan that runs its lanes one at a time has no traces: then every group
 * has its own plan, as before traces. Group 0's plan may be the session's;
 * the others are the run's own (the session would hand back the same plan
 * for the same size). */
static dmbp_status group_plans(dmbp__run *r, const dmbp__explain_ctx *c,
                               int imgs)
{
    dmbp__explain_ctx own = *c;
    own.cache = NULL;
    int spare = 0; /* traces of the last plan no group has yet */
    for (int g = 0; g < r->G; g++) {
        if (spare > 0) {
            r->p[g] = r->p[g - 1];
            r->tr[g] = r->tr[g - 1] + 1;
            spare--;
            continue;
        }
        int n = dmbp__run_group_n(r, g);
        TRY(dmbp__explain_plan(g ? &own : c, (r->half ? 1 : 2) * n * imgs,
                               true, &r->p[g]));
        r->own[g] = true;
        int same = 1;
        while (g + same < r->G && dmbp__run_group_n(r, g + same) == n)
            same++;
        if (same > 1 && dmbp__plan_can_trace(r->p[g])) {
            TRY(dmbp__plan_set_traces(r->p[g], same));
            spare = same - 1;
        }
    }
    return DMBP_OK;
}

dmbp_status dmbp__run_alloc(dmbp__run *r, const dmbp__explain_ctx *c, int K,
                             int G, bool path, int imgs)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    r->K = K;
    r->G = G;
    r->path = path;
    r->imgs = imgs;
    r->lanes = 2 * K * imgs;
    r->half = c->o->dmbp_fix_negative;
    r->classes = dmbp_model_num_classes(c->m);
    r->per = (size_t)c->c * c->h * c->w;
    r->p = dmbp__calloc((size_t)G, sizeof *r->p);
    r->tr = dmbp__calloc((size_t)G, sizeof *r->tr);
    r->own = dmbp__calloc((size_t)G, sizeof *r->own);
    if (!r->p || !r->tr || !r->own)
        return DMBP_ERR_NOMEM;
    TRY(group_plans(r, c, imgs));
    r->nm = dmbp_plan_num_masks(r->p[0]);
    if (r->nm < 1)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "%s: no layer with "
                              "weights to mask (the classifier itself is "
                              "never masked)", c->m->name);
    size_t L = (size_t)r->lanes, P = r->per, M = (size_t)r->nm;
    r->in = dmbp__malloc(L * P * sizeof(float));
    r->seed = dmbp__malloc(L * (size_t)r->classes * sizeof(float));
    r->w1 = dmbp__malloc(L * P * sizeof(float));
    r->w = dmbp__malloc(L * P * sizeof(float));
    r->v = dmbp__malloc(L * P * sizeof(float));
    r->mvals = dmbp__malloc(L * M * sizeof(float));
    r->mgrad = dmbp__malloc(L * M * sizeof(float));
    r->theta = dmbp__malloc((size_t)imgs * 2 * M * sizeof(double));
    r->am = dmbp__malloc((size_t)imgs * 2 * M * sizeof(double));
    r->av = dmbp__malloc((size_t)imgs * 2 * M * sizeof(double));
    r->F = dmbp__malloc((size_t)imgs * K * sizeof(double));
    r->S = dmbp__malloc((size_t)imgs * K * sizeof(double));
    r->agg = dmbp__malloc(P * 3 * sizeof(double));
    r->iters = dmbp__calloc((size_t)imgs, sizeof(int));
    r->done = dmbp__calloc((size_t)imgs, sizeof(bool));
    if (!r->in || !r->seed || !r->w1 || !r->w || !r->v || !r->mvals ||
        !r->mgrad || !r->theta || !r->am || !r->av || !r->F || !r->S ||
        !r->agg || !r->iters || !r->done)
        return DMBP_ERR_NOMEM;
    if (r->half) {
        size_t gl = (size_t)dmbp__run_group_n(r, 0) * (size_t)imgs, wide = P;
        if ((size_t)r->classes > wide)
            wide = (size_t)r->classes;
        if (M > wide)
            wide = M;
        r->ga = dmbp__malloc(gl * wide * sizeof(float));
        r->gb = dmbp__malloc(gl * P * sizeof(float));
        r->gm = dmbp__malloc(gl * M * sizeof(float));
        if (!r->ga || !r->gb || !r->gm)
            return DMBP_ERR_NOMEM;
    }
    return DMBP_OK;
}
