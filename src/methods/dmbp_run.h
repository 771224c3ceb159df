/* DMBP's run (dmbp.c, dmbp_run.c): the buffers of one chunk of images and
 * the plans their lanes run on, shared by the optimiser (dmbp.c) and the
 * lane bookkeeping (dmbp_run.c).
 *
 * Lanes: image j, noisy copy k (K = samples, 1 without smoothing), mask set
 * s (0: m+, 1: m-) is lane (j K + k) 2 + s of one reverse plan (path DMBP
 * with a round robin of G groups: group g = k mod G has n_g copies and its
 * own trace of a plan of 2 n_g lanes per image, lane (j n_g + k / G) 2 + s
 * of it, the groups' lanes one after the other in the run's buffers;
 * groups of one size share a plan, each binding its own trace). With the
 * negative set fixed (half) a plan holds the positive set's lanes only. */
#ifndef DMBP_METHODS_DMBP_RUN_H
#define DMBP_METHODS_DMBP_RUN_H

#include "methods/methods.h"

typedef struct dmbp__run {
    const dmbp__explain_ctx *c;
    dmbp_plan **p;     /* G: group g's plan (shared by groups of its size) */
    int *tr;           /* G: group g's trace of it */
    bool *own;         /* G: g made p[g] (the first group of its size) */
    int K;             /* copies per image */
    int G;             /* round robin: G groups of copies (1: none) */
    bool path;         /* copies on the integration path (section 7), the
                          loss on their aggregate maps                    */
    int imgs;          /* images in this chunk */
    int j0;            /* the chunk's first image */
    int lanes;
    int classes;
    size_t per;        /* values per image */
    int64_t nm;        /* masks per set */
    float *in;         /* lanes x per: the copies (both sets) */
    float *seed;
    float *w1;         /* lanes x per: W(1) */
    float *w;          /* lanes x per: W(m) this iteration */
    float *v;          /* lanes x per: dl/dW */
    float *mvals;      /* lanes x nm: masks as the plan takes them */
    float *mgrad;      /* lanes x nm */
    double *theta, *am, *av; /* imgs x 2 x nm: logits, Adam moments */
    double *F, *S;     /* per copy: sum A1, sum |A1| (path: per image, at
                          copy 0's index, of the aggregate A1)           */
    double *agg;       /* path: per value A+, A-, N of one image          */
    int *iters;        /* per image: Adam steps taken */
    bool *done;        /* per image: converged (options tol), frozen */
    /* The negative set fixed (dmbp_fix_negative): its masks never move,
     * so its maps are computed once and the plans hold one lane per copy,
     * the positive set's (the sets share the copies' inputs and the
     * all-ones pass). Lane 2 c + s of the run's buffers is then lane c of
     * the group's plan, gathered into and scattered from these. */
    bool half;
    float *ga, *gb, *gm; /* group lanes x max(per, classes, nm); x nm */
} dmbp__run;

/* Which mask set a pass runs in half mode (both otherwise). */
enum { DMBP__BOTH_SETS = -1, DMBP__POS_SET = 0, DMBP__NEG_SET = 1 };

/* Copies in group g (k = g, g + G, ... < K), and its first lane. */
static inline int dmbp__run_group_n(const dmbp__run *r, int g)
{
    return (r->K - g + r->G - 1) / r->G;
}

static inline size_t dmbp__run_glane(const dmbp__run *r, int g)
{
    size_t before = 0;
    for (int h = 0; h < g; h++)
        before += (size_t)dmbp__run_group_n(r, h);
    return before * r->imgs * 2;
}

static inline int dmbp__run_lane(const dmbp__run *r, int j, int k, int s)
{
    int g = k % r->G;
    return (int)dmbp__run_glane(r, g) +
           (j * dmbp__run_group_n(r, g) + k / r->G) * 2 + s;
}

/* The run's passes over group g (or every group: _all). forward: the
 * copies' inputs; backward: W(masks) into out (masks NULL: all ones), in
 * half mode of mask set `set` (DMBP__BOTH_SETS: each in turn, or once for both
 * when masks is NULL); grad: dl/dm from r->v into r->mgrad (half mode:
 * the positive set's, after a backward of that set). */
dmbp_status dmbp__run_forward(dmbp__run *r, int g);
dmbp_status dmbp__run_backward(dmbp__run *r, int g, const float *masks,
                               float *out, int set);
dmbp_status dmbp__run_grad(dmbp__run *r, int g);
dmbp_status dmbp__run_backward_all(dmbp__run *r, const float *masks,
                                   float *out, int set);
dmbp_status dmbp__run_grad_all(dmbp__run *r);
/* The buffers and plans of a chunk of imgs images, K copies in G groups
 * (path: on the integration path); free with dmbp__run_free (also after a
 * failed alloc). */
dmbp_status dmbp__run_alloc(dmbp__run *r, const dmbp__explain_ctx *c, int K,
                            int G, bool path, int imgs);
void dmbp__run_free(dmbp__run *r);

#endif /* DMBP_METHODS_DMBP_RUN_H */
