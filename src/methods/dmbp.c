/* DMBP, Disentangled Masked Backpropagation (Ruiz, Agudo, Moreno-Noguer,
 * ICCV 2021), exactly as dmbp-method.md sections 3-4 fix it.
 *
 * Lanes and plans: dmbp_run.h. Per iteration: one backward pass gives W(m)
 * on every lane, the loss and its closed-form derivative V = dl/dW are
 * computed per copy, one tangent pass turns V into dl/dm (section 2), and
 * Adam steps the mask logits. */
#include "methods/dmbp_run.h"

#include <time.h>

/* Adam as torch.optim.Adam (section 3). */
#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999
#define ADAM_EPS 1e-8
/* Convergence stop (options tol, tol_window): iterations compared when
 * tol_window is 0. */
#define DEFAULT_TOL_WINDOW 10

static const char *const array_names[] = {"w_pos", "w_neg", "a_pos", "a_neg",
                                          "nuisance"};
enum { A_WPOS, A_WNEG, A_APOS, A_ANEG, A_NUIS, N_ARRAYS };

static const char *const scalar_names[] = {
    "f",        "F",    "F_pos",    "F_neg",    "F_nuisance",
    "bias",     "loss", "completeness", "sign", "nuisance",
    "evidence", "sparsity", "iterations", "seconds"};
enum {
    S_F_LOGIT, S_F, S_FPOS, S_FNEG, S_FNUIS, S_BIAS, S_LOSS, S_COMPL, S_SIGN,
    S_NUIS, S_EVID, S_SPARS, S_ITERS, S_SECONDS, N_SCALARS
};

/* The loss terms of one image (mean over its copies). */
typedef struct terms {
    double compl, sign, nuis, evid, spars, loss;
} terms;


static float sigmoid(double t)
{
    return (float)(1.0 / (1.0 + exp(-t)));
}


static void set_masks(dmbp__run *r)
{
    for (int j = 0; j < r->imgs; j++)
        for (int s = 0; s < 2; s++) {
            const double *th = r->theta + ((size_t)j * 2 + s) * r->nm;
            for (int k = 0; k < r->K; k++) {
                float *m =
                    r->mvals + (size_t)dmbp__run_lane(r, j, k, s) * r->nm;
                for (int64_t q = 0; q < r->nm; q++)
                    m[q] = sigmoid(th[q]);
            }
        }
}

/* Loss of image j at the current W (section 3's table) and, when v is
 * wanted, V = dl/dW per lane (the closed form, divided by K for the mean
 * over copies). */
/* Section 3's closed form at one value, before the x / S factor:
 * dl/dA+ and dl/dA- of the completeness (common = 2 w_c r), sign,
 * nuisance and evidence terms. */
static void dl_dA(const dmbp_dmbp_options *d, double common, double ap,
                  double an, double nu, double *gp, double *gn)
{
    double sn = nu > 0 ? 1 : nu < 0 ? -1 : 0;
    *gp = common - d->w_sign * (ap < 0) - d->w_nuisance * sn - d->w_evidence;
    *gn = common + d->w_sign * (an > 0) - d->w_nuisance * sn + d->w_evidence;
}

static double sparsity_of(const dmbp__run *r, int j)
{
    double sp = 0;
    for (int s = 0; s < 2; s++) {
        const double *th = r->theta + ((size_t)j * 2 + s) * r->nm;
        double sum = 0;
        for (int64_t q = 0; q < r->nm; q++)
            sum += sigmoid(th[q]);
        sp += sum / (double)r->nm;
    }
    return sp;
}

static void weigh(const dmbp_explain_options *o, terms *t)
{
    t->loss = o->dmbp.w_completeness * t->compl + o->dmbp.w_sign * t->sign +
              o->dmbp.w_nuisance * t->nuis + o->dmbp.w_evidence * t->evid +
              o->dmbp.w_sparsity * t->spars;
}

/* Path DMBP (section 7): the loss of image j on the aggregate maps
 * A+- = mean_k W+-_k (.) x and A1 = mean_k W1_k (.) x (IG with K midpoint
 * steps), and V_k = dl/dW_k = (1/K) dl/dW-bar for every copy k. */
static terms loss_path(dmbp__run *r, int j, bool want_v)
{
    const dmbp_explain_options *o = r->c->o;
    const float *x = r->c->x + (size_t)(r->j0 + j) * r->per;
    double S = r->S[j * r->K], F = r->F[j * r->K];
    double Fp = 0, Fn = 0, neg_pos = 0, pos_neg = 0, nabs = 0;
    /* Copy k's positive lane (its negative one follows), out of the pixel
     * loop: dmbp__run_lane walks the groups. */
    size_t off[r->K];
    for (int k = 0; k < r->K; k++)
        off[k] = (size_t)dmbp__run_lane(r, j, k, 0) * r->per;
    for (size_t i = 0; i < r->per; i++) {
        double wp = 0, wn = 0, w1 = 0;
        for (int k = 0; k < r->K; k++) {
            wp += r->w[off[k] + i];
            wn += r->w[off[k] + r->per + i];
            w1 += r->w1[off[k] + i];
        }
        double ap = wp / r->K * x[i], an = wn / r->K * x[i];
        double nu = w1 / r->K * x[i] - ap - an;
        Fp += ap;
        Fn += an;
        neg_pos += ap < 0 ? -ap : 0;
        pos_neg += an > 0 ? an : 0;
        nabs += fabs(nu);
        r->agg[3 * i] = ap;
        r->agg[3 * i + 1] = an;
        r->agg[3 * i + 2] = nu;
    }
    terms t = {0};
    double rr = (Fp + Fn - F) / S;
    t.compl = rr * rr;
    t.sign = (neg_pos + pos_neg) / S;
    t.nuis = nabs / S;
    t.evid = (-Fp + Fn) / S;
    t.spars = sparsity_of(r, j);
    weigh(o, &t);
    if (!want_v)
        return t;
    double common = 2 * o->dmbp.w_completeness * rr;
    float *vp0 = r->v + off[0], *vn0 = vp0 + r->per;
    for (size_t i = 0; i < r->per; i++) {
        double ap = r->agg[3 * i], an = r->agg[3 * i + 1];
        double nu = r->agg[3 * i + 2];
        double gp, gn;
        dl_dA(&o->dmbp, common, ap, an, nu, &gp, &gn);
        vp0[i] = (float)(x[i] * gp / (S * r->K));
        vn0[i] = (float)(x[i] * gn / (S * r->K));
    }
    for (int k = 1; k < r->K; k++) {
        memcpy(r->v + off[k], vp0, r->per * sizeof(float));
        memcpy(r->v + off[k] + r->per, vn0, r->per * sizeof(float));
    }
    return t;
}

static terms loss_of(dmbp__run *r, int j, bool want_v)
{
    const dmbp_explain_options *o = r->c->o;
    if (r->path)
        return loss_path(r, j, want_v);
    terms t = {0};
    for (int k = 0; k < r->K; k++) {
        int lp = dmbp__run_lane(r, j, k, 0), ln = dmbp__run_lane(r, j, k, 1);
        const float *x = r->in + (size_t)lp * r->per;
        const float *wp = r->w + (size_t)lp * r->per;
        const float *wn = r->w + (size_t)ln * r->per;
        const float *w1 = r->w1 + (size_t)lp * r->per;
        double S = r->S[j * r->K + k], F = r->F[j * r->K + k];
        double Fp = 0, Fn = 0, neg_pos = 0, pos_neg = 0, nabs = 0;
        for (size_t i = 0; i < r->per; i++) {
            double ap = (double)wp[i] * x[i], an = (double)wn[i] * x[i];
            double nu = (double)w1[i] * x[i] - ap - an;
            Fp += ap;
            Fn += an;
            neg_pos += ap < 0 ? -ap : 0;
            pos_neg += an > 0 ? an : 0;
            nabs += fabs(nu);
        }
        double rr = (Fp + Fn - F) / S;
        t.compl += rr * rr;
        t.sign += (neg_pos + pos_neg) / S;
        t.nuis += nabs / S;
        t.evid += (-Fp + Fn) / S;
        if (!want_v)
            continue;
        float *vp = r->v + (size_t)lp * r->per, *vn = r->v + (size_t)ln * r->per;
        double common = 2 * o->dmbp.w_completeness * rr;
        for (size_t i = 0; i < r->per; i++) {
            double ap = (double)wp[i] * x[i], an = (double)wn[i] * x[i];
            double nu = (double)w1[i] * x[i] - ap - an;
            double gp, gn;
            dl_dA(&o->dmbp, common, ap, an, nu, &gp, &gn);
            vp[i] = (float)(x[i] * gp / (S * r->K));
            vn[i] = (float)(x[i] * gn / (S * r->K));
        }
    }
    t.compl /= r->K;
    t.sign /= r->K;
    t.nuis /= r->K;
    t.evid /= r->K;
    t.spars = sparsity_of(r, j);
    weigh(o, &t);
    return t;
}

/* One Adam step on every image's logits from the plan's mask gradient:
 * round robin (G > 1), group g's copies only, counted K / n_g times. */
static void adam_step(dmbp__run *r, int step, int g)
{
    const dmbp_explain_options *o = r->c->o;
    double bc1 = 1 - pow(ADAM_BETA1, step), bc2 = 1 - pow(ADAM_BETA2, step);
    double sp_grad = o->dmbp.w_sparsity / (double)r->nm;
    double scale = (double)r->K / dmbp__run_group_n(r, g);
    bool rr = r->G > 1;
    /* Group g's copies: k = g, g + G, ... (G 1: every copy). */
    int n_g = dmbp__run_group_n(r, g);
    for (int j = 0; j < r->imgs; j++)
        for (int s = 0; s < 2 && !r->done[j]; s++) {
            if (s == 1 && o->dmbp_fix_negative)
                break; /* the negative set stays at its start */
            size_t base = ((size_t)j * 2 + s) * r->nm;
            /* The copies' gradient rows, out of the mask loop. */
            const float *row[n_g];
            for (int c = 0; c < n_g; c++)
                row[c] = r->mgrad + (size_t)dmbp__run_lane(
                                        r, j, g + c * r->G, s) * r->nm;
            for (int64_t q = 0; q < r->nm; q++) {
                double gr = rr ? 0 : sp_grad; /* G 1: the sum as before */
                for (int c = 0; c < n_g; c++)
                    gr += row[c][q];
                double m = sigmoid(r->theta[base + q]);
                double d = (rr ? sp_grad + gr * scale : gr) * m * (1 - m);
                double *am = &r->am[base + q], *av = &r->av[base + q];
                *am = ADAM_BETA1 * *am + (1 - ADAM_BETA1) * d;
                *av = ADAM_BETA2 * *av + (1 - ADAM_BETA2) * d * d;
                /* torch.optim.Adam's arithmetic, step for step. */
                double denom = sqrt(*av) / sqrt(bc2) + ADAM_EPS;
                r->theta[base + q] -= o->dmbp.lr / bc1 * *am / denom;
            }
        }
}

static void write_outputs(dmbp__run *r, int j0, dmbp_result *res,
                          const terms *t, double seconds)
{
    for (int j = 0; j < r->imgs; j++) {
        int img = j0 + j;
        const float *x = r->c->x + (size_t)img * r->per;
        float *wp = dmbp__result_array(res, img, A_WPOS);
        float *wn = dmbp__result_array(res, img, A_WNEG);
        float *ap = dmbp__result_array(res, img, A_APOS);
        float *an = dmbp__result_array(res, img, A_ANEG);
        float *nu = dmbp__result_array(res, img, A_NUIS);
        double F = 0, Fp = 0, Fm = 0, Fnu = 0;
        for (size_t i = 0; i < r->per; i++) {
            double sp = 0, sn = 0, s1 = 0;
            for (int k = 0; k < r->K; k++) {
                size_t lp = (size_t)dmbp__run_lane(r, j, k, 0) * r->per + i;
                size_t ln = (size_t)dmbp__run_lane(r, j, k, 1) * r->per + i;
                sp += r->w[lp];
                sn += r->w[ln];
                s1 += r->w1[lp];
            }
            wp[i] = (float)(sp / r->K);
            wn[i] = (float)(sn / r->K);
            ap[i] = wp[i] * x[i];
            an[i] = wn[i] * x[i];
            /* N = A1 - A+ - A-, so that F+ + F- + Fn = F by construction. */
            float a1 = (float)(s1 / r->K) * x[i];
            nu[i] = a1 - ap[i] - an[i];
            F += a1;
            Fp += ap[i];
            Fm += an[i];
            Fnu += nu[i];
        }
        double *sc = res->scalars + (size_t)img * N_SCALARS;
        sc[S_F_LOGIT] = res->logit[img];
        sc[S_F] = F;
        sc[S_FPOS] = Fp;
        sc[S_FNEG] = Fm;
        sc[S_FNUIS] = Fnu;
        sc[S_BIAS] = res->logit[img] - F;
        sc[S_LOSS] = t[j].loss;
        sc[S_COMPL] = t[j].compl;
        sc[S_SIGN] = t[j].sign;
        sc[S_NUIS] = t[j].nuis;
        sc[S_EVID] = t[j].evid;
        sc[S_SPARS] = t[j].spars;
        sc[S_ITERS] = r->iters[j];
        sc[S_SECONDS] = seconds;
        for (int s = 0; s < 2; s++) {
            float *dst = res->masks + ((size_t)img * 2 + s) * r->nm;
            const double *th = r->theta + ((size_t)j * 2 + s) * r->nm;
            for (int64_t q = 0; q < r->nm; q++)
                dst[q] = sigmoid(th[q]);
        }
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Section 7's path point a_k = (k + 1/2)/K (the midpoint rule, as IG's
 * default), as the float the copies are scaled by. */
static float path_point(int k, int K)
{
    return (float)((k + 0.5) / K);
}

/* Classic and smoothed: F and S of each copy's own A1 = W1_k (.) x_k. */
static dmbp_status copy_scale(dmbp__run *r)
{
    for (int j = 0; j < r->imgs; j++)
        for (int k = 0; k < r->K; k++) {
            size_t l = (size_t)dmbp__run_lane(r, j, k, 0) * r->per;
            double F = 0, S = 0;
            for (size_t i = 0; i < r->per; i++) {
                double a = (double)r->w1[l + i] * r->in[l + i];
                F += a;
                S += fabs(a);
            }
            if (!(S > 0))
                return dmbp_set_error(DMBP_ERR_ARG, "image %d: the "
                                      "gradient x input is zero everywhere; "
                                      "DMBP has nothing to disentangle",
                                      r->j0 + j);
            r->F[j * r->K + k] = F;
            r->S[j * r->K + k] = S;
        }
    return DMBP_OK;
}

/* Path: F and S of each image's aggregate A1 = mean_k W1_k (.) x. */
static dmbp_status path_scale(dmbp__run *r)
{
    for (int j = 0; j < r->imgs; j++) {
        const float *x = r->c->x + (size_t)(r->j0 + j) * r->per;
        double F = 0, S = 0;
        for (size_t i = 0; i < r->per; i++) {
            double w1 = 0;
            for (int k = 0; k < r->K; k++)
                w1 += r->w1[(size_t)dmbp__run_lane(r, j, k, 0) * r->per + i];
            double a = w1 / r->K * x[i];
            F += a;
            S += fabs(a);
        }
        if (!(S > 0))
            return dmbp_set_error(DMBP_ERR_ARG, "image %d: the integrated "
                                  "gradients are zero everywhere; DMBP has "
                                  "nothing to disentangle", r->j0 + j);
        r->F[j * r->K] = F;
        r->S[j * r->K] = S;
    }
    return DMBP_OK;
}

/* The contribution-sign start (section 7): with every mask 1, each
 * filter's signed contribution c[q] = (1/K) sum_k sum_p delta_k z_k with
 * z_k the clean x pushed through copy k's gated map, which is the mask
 * gradient for V = x (section 2), summed over the copies (the 1/K does not
 * change a sign). theta+ = +init where c > 0 else -init; theta- mirrored.
 * Needs the all-ones backward pass that gave W1 to be the plan's last. */
static dmbp_status contribution_start(dmbp__run *r)
{
    const float init = r->c->o->dmbp.init_logit;
    for (int j = 0; j < r->imgs; j++) {
        const float *x = r->c->x + (size_t)(r->j0 + j) * r->per;
        for (int k = 0; k < r->K; k++)
            for (int s = 0; s < 2; s++)
                memcpy(r->v + (size_t)dmbp__run_lane(r, j, k, s) * r->per, x,
                       r->per * sizeof(float));
    }
    TRY(dmbp__run_grad_all(r));
    for (int j = 0; j < r->imgs; j++)
        for (int64_t q = 0; q < r->nm; q++) {
            double c = 0;
            for (int k = 0; k < r->K; k++)
                c += r->mgrad[(size_t)dmbp__run_lane(r, j, k, 0) * r->nm + q];
            r->theta[((size_t)j * 2) * r->nm + q] = c > 0 ? init : -init;
            r->theta[((size_t)j * 2 + 1) * r->nm + q] = c < 0 ? init : -init;
        }
    return DMBP_OK;
}

/* Optimise images j0 .. j0 + r->imgs - 1. */
static dmbp_status run_chunk(dmbp__run *r, int j0, dmbp_result *res)
{
    const dmbp__explain_ctx *c = r->c;
    const dmbp_explain_options *o = c->o;
    double t0 = now();
    float sigma = o->dmbp.sigma;
    /* Inputs: copy k of image j on both its lanes; unused lanes (short
     * last chunk) are not there: the plan is sized per chunk. */
    for (int j = 0; j < r->imgs; j++) {
        const float *x = c->x + (size_t)(j0 + j) * r->per;
        dmbp__rng rng;
        dmbp__rng_init(&rng, o->dmbp.seed + (uint64_t)(j0 + j));
        for (int k = 0; k < r->K; k++) {
            float *dst = r->in + (size_t)dmbp__run_lane(r, j, k, 0) * r->per;
            if (r->path) {
                float a = path_point(k, r->K);
                for (size_t i = 0; i < r->per; i++)
                    dst[i] = a * x[i];
            } else if (r->K > 1) {
                dmbp__noise(&rng, x, (int64_t)r->per, sigma, dst);
                for (size_t i = 0; i < r->per; i++)
                    dst[i] += x[i];
            } else {
                memcpy(dst, x, r->per * sizeof(float));
            }
            memcpy(r->in + (size_t)dmbp__run_lane(r, j, k, 1) * r->per, dst,
                   r->per * sizeof(float));
        }
    }
    int *tg = dmbp__malloc((size_t)r->lanes * sizeof(int));
    if (!tg)
        return DMBP_ERR_NOMEM;
    for (int j = 0; j < r->imgs; j++)
        for (int k = 0; k < r->K; k++)
            for (int s = 0; s < 2; s++)
                tg[dmbp__run_lane(r, j, k, s)] = res->target[j0 + j];
    dmbp__one_hot(r->seed, r->lanes, r->classes, tg);
    free(tg);
    r->j0 = j0;
    for (int g = 0; g < r->G; g++)
        TRY(dmbp__run_forward(r, g));
    TRY(dmbp__run_backward_all(r, NULL, r->w1, DMBP__BOTH_SETS));
    TRY(r->path ? path_scale(r) : copy_scale(r));
    for (size_t q = 0; q < (size_t)r->imgs * 2 * r->nm; q++) {
        r->theta[q] = o->dmbp.init_logit;
        r->am[q] = r->av[q] = 0;
    }
    if (o->dmbp.mask_init == DMBP_MASK_INIT_CONTRIBUTION)
        TRY(contribution_start(r));
    terms t[r->imgs];
    int tol_window = o->dmbp.tol_window > 0 ? o->dmbp.tol_window : DEFAULT_TOL_WINDOW;
    for (int j = 0; j < r->imgs; j++) {
        r->iters[j] = 0;
        r->done[j] = false;
    }
    /* Round robin: every group's maps at the start, the stale ones the
     * first iterations aggregate with. Half mode: the negative set's, for
     * good (its masks stay). */
    if (r->G > 1 || r->half) {
        set_masks(r);
        TRY(dmbp__run_backward_all(r, r->mvals, r->w, DMBP__BOTH_SETS));
    }
    /* What the iterations and the final maps recompute. */
    int set = r->half ? DMBP__POS_SET : DMBP__BOTH_SETS;
    /* Its own callback, else the explain options' (0.3). */
    dmbp_progress_fn fn = o->dmbp.progress ? o->dmbp.progress : o->progress;
    void *user = o->dmbp.progress ? o->dmbp.progress_user : o->progress_user;
    for (int it = 0; it < o->dmbp.iterations; it++) {
        int g = it % r->G;
        set_masks(r);
        TRY(dmbp__run_backward(r, g, r->mvals, r->w, set));
        double mean = 0;
        int active = 0;
        for (int j = 0; j < r->imgs; j++) {
            if (r->done[j])
                continue;
            t[j] = loss_of(r, j, true);
            const float *curve = res->loss + (size_t)(j0 + j) * res->n_iters;
            res->loss[(size_t)(j0 + j) * res->n_iters + it] = (float)t[j].loss;
            mean += t[j].loss;
            /* Converged: this image's masks stay where this loss was
             * measured (no step), as if it had run `it` iterations alone:
             * lanes do not interact, so other images are unaffected. */
            if (o->dmbp.tol > 0 && it >= tol_window &&
                fabs(t[j].loss - curve[it - tol_window]) <=
                    o->dmbp.tol * fabs(curve[it - tol_window])) {
                r->done[j] = true;
                continue;
            }
            active++;
        }
        mean /= r->imgs;
        if (!active)
            break;
        /* Frozen images' lanes still run (they share the plan's passes);
         * their V is what loss_of left there last, and their gradient is
         * not used. */
        TRY(dmbp__run_grad(r, g));
        adam_step(r, it + 1, g);
        for (int j = 0; j < r->imgs; j++)
            if (!r->done[j])
                r->iters[j] = it + 1;
        if (fn && fn(user, j0, r->imgs, it + 1, o->dmbp.iterations, mean))
            break;
    }
    /* The result at the final logits. */
    set_masks(r);
    TRY(dmbp__run_backward_all(r, r->mvals, r->w, set));
    for (int j = 0; j < r->imgs; j++)
        t[j] = loss_of(r, j, false);
    write_outputs(r, j0, res, t, now() - t0);
    return DMBP_OK;
}

static dmbp_status mask_layers(dmbp_result *res, const dmbp_plan *p)
{
    int nl = dmbp_plan_num_mask_layers(p);
    res->n_mask_layers = 0;
    res->ml_names = dmbp__calloc((size_t)nl, sizeof(char *));
    res->ml_channels = dmbp__calloc((size_t)nl, sizeof(int));
    res->ml_offset = dmbp__calloc((size_t)nl, sizeof(int64_t));
    if (!res->ml_names || !res->ml_channels || !res->ml_offset)
        return DMBP_ERR_NOMEM;
    for (int i = 0; i < nl; i++) {
        const char *name;
        TRY(dmbp_plan_mask_layer(p, i, &name, &res->ml_channels[i],
                                 &res->ml_offset[i]));
        res->ml_names[i] = dmbp__strdup(name);
        if (!res->ml_names[i])
            return DMBP_ERR_NOMEM;
        res->n_mask_layers++;
    }
    return DMBP_OK;
}

dmbp_status dmbp__method_dmbp(const dmbp__explain_ctx *c, dmbp_result *res)
{
    const dmbp_explain_options *o = c->o;
    bool path = o->dmbp.path_steps > 0;
    int K = path ? o->dmbp.path_steps : o->dmbp.samples;
    int R = o->dmbp_path_refresh;
    int G = path && R > 0 && R < K ? (K + R - 1) / R : 1;
    TRY(dmbp__result_alloc(res, N_ARRAYS, array_names, c->c, c->h, c->w,
                           N_SCALARS, scalar_names));
    res->signed_map = 1;
    res->n_iters = o->dmbp.iterations;
    res->loss = dmbp__calloc((size_t)c->n * o->dmbp.iterations, sizeof(float));
    if (!res->loss)
        return DMBP_ERR_NOMEM;
    int per_chunk = o->max_lanes / (2 * K);
    /* The negative set fixed with one copy per group: a plan of one lane
     * per image, and oneDNN takes other kernels for one lane than for
     * several (the last bits differ). One image per chunk keeps every
     * image's maps the same bits whichever images share the call. */
    if (per_chunk < 1 || (o->dmbp_fix_negative && (K + G - 1) / G == 1))
        per_chunk = 1;
    dmbp__run r = {0};
    dmbp_status st = DMBP_OK;
    for (int j0 = 0; !st && j0 < c->n; j0 += per_chunk) {
        int imgs = c->n - j0 < per_chunk ? c->n - j0 : per_chunk;
        if (r.imgs != imgs) {
            dmbp__run_free(&r);
            st = dmbp__run_alloc(&r, c, K, G, path, imgs);
            if (!st && !res->masks) {
                res->n_masks = r.nm;
                res->masks = dmbp__calloc((size_t)c->n * 2 * r.nm,
                                          sizeof(float));
                st = res->masks ? mask_layers(res, r.p[0]) : DMBP_ERR_NOMEM;
            }
        }
        if (!st)
            st = run_chunk(&r, j0, res);
    }
    dmbp__run_free(&r);
    return st;
}
