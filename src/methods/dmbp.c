/* DMBP, Disentangled Masked Backpropagation (Ruiz, Agudo, Moreno-Noguer,
 * ICCV 2021), exactly as dmbp-method.md sections 3-4 fix it.
 *
 * Lanes: image j, noisy copy k (K = samples, 1 without smoothing), mask set
 * s (0: m+, 1: m-) is lane (j K + k) 2 + s of one reverse plan (path DMBP
 * with a round robin of G groups: group g = k mod G has n_g copies and its
 * own plan, lane (j n_g + k / G) 2 + s of it, the groups' lanes one after
 * the other in the run's buffers). Per
 * iteration: one backward pass gives W(m) on every lane, the loss and its
 * closed-form derivative V = dl/dW are computed per copy, one tangent pass
 * turns V into dl/dm (section 2), and Adam steps the mask logits. */
#include "methods/methods.h"

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

typedef struct dmbp_run {
    const dmbp__explain_ctx *c;
    dmbp_plan **p;     /* G plans, group g's lanes from g imgs R 2 on */
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
} dmbp_run;

static float sigmoid(double t)
{
    return (float)(1.0 / (1.0 + exp(-t)));
}

/* Copies in group g (k = g, g + G, ... < K), and its first lane. */
static int group_n(const dmbp_run *r, int g)
{
    return (r->K - g + r->G - 1) / r->G;
}

static size_t glane(const dmbp_run *r, int g)
{
    size_t before = 0;
    for (int h = 0; h < g; h++)
        before += (size_t)group_n(r, h);
    return before * r->imgs * 2;
}

static int lane_of(const dmbp_run *r, int j, int k, int s)
{
    int g = k % r->G;
    return (int)glane(r, g) + (j * group_n(r, g) + k / r->G) * 2 + s;
}

static dmbp_status forward_group(dmbp_run *r, int g)
{
    return dmbp_plan_forward(r->p[g], r->in + glane(r, g) * r->per, NULL);
}

static dmbp_status backward_group(dmbp_run *r, int g, const float *masks,
                                  float *out)
{
    size_t l = glane(r, g);
    return dmbp_plan_backward(r->p[g], r->seed + l * r->classes,
                              masks ? masks + l * r->nm : NULL, 0,
                              out + l * r->per);
}

static dmbp_status grad_group(dmbp_run *r, int g)
{
    size_t l = glane(r, g);
    return dmbp_plan_mask_grad(r->p[g], r->v + l * r->per,
                               r->mgrad + l * r->nm);
}

static void set_masks(dmbp_run *r)
{
    for (int j = 0; j < r->imgs; j++)
        for (int s = 0; s < 2; s++) {
            const double *th = r->theta + ((size_t)j * 2 + s) * r->nm;
            for (int k = 0; k < r->K; k++) {
                float *m = r->mvals + (size_t)lane_of(r, j, k, s) * r->nm;
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

static double sparsity_of(const dmbp_run *r, int j)
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
static terms loss_path(dmbp_run *r, int j, bool want_v)
{
    const dmbp_explain_options *o = r->c->o;
    const float *x = r->c->x + (size_t)(r->j0 + j) * r->per;
    double S = r->S[j * r->K], F = r->F[j * r->K];
    double Fp = 0, Fn = 0, neg_pos = 0, pos_neg = 0, nabs = 0;
    for (size_t i = 0; i < r->per; i++) {
        double wp = 0, wn = 0, w1 = 0;
        for (int k = 0; k < r->K; k++) {
            wp += r->w[(size_t)lane_of(r, j, k, 0) * r->per + i];
            wn += r->w[(size_t)lane_of(r, j, k, 1) * r->per + i];
            w1 += r->w1[(size_t)lane_of(r, j, k, 0) * r->per + i];
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
    float *vp0 = r->v + (size_t)lane_of(r, j, 0, 0) * r->per;
    float *vn0 = r->v + (size_t)lane_of(r, j, 0, 1) * r->per;
    for (size_t i = 0; i < r->per; i++) {
        double ap = r->agg[3 * i], an = r->agg[3 * i + 1];
        double nu = r->agg[3 * i + 2];
        double gp, gn;
        dl_dA(&o->dmbp, common, ap, an, nu, &gp, &gn);
        vp0[i] = (float)(x[i] * gp / (S * r->K));
        vn0[i] = (float)(x[i] * gn / (S * r->K));
    }
    for (int k = 1; k < r->K; k++) {
        memcpy(r->v + (size_t)lane_of(r, j, k, 0) * r->per, vp0,
               r->per * sizeof(float));
        memcpy(r->v + (size_t)lane_of(r, j, k, 1) * r->per, vn0,
               r->per * sizeof(float));
    }
    return t;
}

static terms loss_of(dmbp_run *r, int j, bool want_v)
{
    const dmbp_explain_options *o = r->c->o;
    if (r->path)
        return loss_path(r, j, want_v);
    terms t = {0};
    for (int k = 0; k < r->K; k++) {
        int lp = lane_of(r, j, k, 0), ln = lane_of(r, j, k, 1);
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
static void adam_step(dmbp_run *r, int step, int g)
{
    const dmbp_explain_options *o = r->c->o;
    double bc1 = 1 - pow(ADAM_BETA1, step), bc2 = 1 - pow(ADAM_BETA2, step);
    double sp_grad = o->dmbp.w_sparsity / (double)r->nm;
    double scale = (double)r->K / group_n(r, g);
    for (int j = 0; j < r->imgs; j++)
        for (int s = 0; s < 2 && !r->done[j]; s++) {
            if (s == 1 && o->dmbp_fix_negative)
                break; /* the negative set stays at its start */
            size_t base = ((size_t)j * 2 + s) * r->nm;
            for (int64_t q = 0; q < r->nm; q++) {
                bool rr = r->G > 1;
                double gr = rr ? 0 : sp_grad; /* G 1: the sum as before */
                for (int k = rr ? g : 0; k < r->K; k += rr ? r->G : 1)
                    gr += r->mgrad[(size_t)lane_of(r, j, k, s) * r->nm + q];
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

static dmbp_status backward_all(dmbp_run *r, const float *masks, float *out)
{
    for (int g = 0; g < r->G; g++)
        TRY(backward_group(r, g, masks, out));
    return DMBP_OK;
}

static dmbp_status grad_all(dmbp_run *r)
{
    for (int g = 0; g < r->G; g++)
        TRY(grad_group(r, g));
    return DMBP_OK;
}

static void write_outputs(dmbp_run *r, int j0, dmbp_result *res,
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
                size_t lp = (size_t)lane_of(r, j, k, 0) * r->per + i;
                size_t ln = (size_t)lane_of(r, j, k, 1) * r->per + i;
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
static dmbp_status copy_scale(dmbp_run *r)
{
    for (int j = 0; j < r->imgs; j++)
        for (int k = 0; k < r->K; k++) {
            size_t l = (size_t)lane_of(r, j, k, 0) * r->per;
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
static dmbp_status path_scale(dmbp_run *r)
{
    for (int j = 0; j < r->imgs; j++) {
        const float *x = r->c->x + (size_t)(r->j0 + j) * r->per;
        double F = 0, S = 0;
        for (size_t i = 0; i < r->per; i++) {
            double w1 = 0;
            for (int k = 0; k < r->K; k++)
                w1 += r->w1[(size_t)lane_of(r, j, k, 0) * r->per + i];
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
static dmbp_status contribution_start(dmbp_run *r)
{
    const float init = r->c->o->dmbp.init_logit;
    for (int j = 0; j < r->imgs; j++) {
        const float *x = r->c->x + (size_t)(r->j0 + j) * r->per;
        for (int k = 0; k < r->K; k++)
            for (int s = 0; s < 2; s++)
                memcpy(r->v + (size_t)lane_of(r, j, k, s) * r->per, x,
                       r->per * sizeof(float));
    }
    TRY(grad_all(r));
    for (int j = 0; j < r->imgs; j++)
        for (int64_t q = 0; q < r->nm; q++) {
            double c = 0;
            for (int k = 0; k < r->K; k++)
                c += r->mgrad[(size_t)lane_of(r, j, k, 0) * r->nm + q];
            r->theta[((size_t)j * 2) * r->nm + q] = c > 0 ? init : -init;
            r->theta[((size_t)j * 2 + 1) * r->nm + q] = c < 0 ? init : -init;
        }
    return DMBP_OK;
}

/* Optimise images j0 .. j0 + r->imgs - 1. */
static dmbp_status run_chunk(dmbp_run *r, int j0, dmbp_result *res)
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
            float *dst = r->in + (size_t)lane_of(r, j, k, 0) * r->per;
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
            memcpy(r->in + (size_t)lane_of(r, j, k, 1) * r->per, dst,
                   r->per * sizeof(float));
        }
    }
    int *tg = dmbp__malloc((size_t)r->lanes * sizeof(int));
    if (!tg)
        return DMBP_ERR_NOMEM;
    for (int j = 0; j < r->imgs; j++)
        for (int k = 0; k < r->K; k++)
            for (int s = 0; s < 2; s++)
                tg[lane_of(r, j, k, s)] = res->target[j0 + j];
    dmbp__one_hot(r->seed, r->lanes, r->classes, tg);
    free(tg);
    r->j0 = j0;
    for (int g = 0; g < r->G; g++)
        TRY(forward_group(r, g));
    TRY(backward_all(r, NULL, r->w1));
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
     * first iterations aggregate with. */
    if (r->G > 1) {
        set_masks(r);
        TRY(backward_all(r, r->mvals, r->w));
    }
    for (int it = 0; it < o->dmbp.iterations; it++) {
        int g = it % r->G;
        set_masks(r);
        TRY(r->G > 1 ? backward_group(r, g, r->mvals, r->w)
                     : backward_all(r, r->mvals, r->w));
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
        TRY(r->G > 1 ? grad_group(r, g) : grad_all(r));
        adam_step(r, it + 1, g);
        for (int j = 0; j < r->imgs; j++)
            if (!r->done[j])
                r->iters[j] = it + 1;
        /* Its own callback, else the explain options' (0.3). */
        dmbp_progress_fn fn = o->dmbp.progress ? o->dmbp.progress
                                               : o->progress;
        void *user = o->dmbp.progress ? o->dmbp.progress_user
                                      : o->progress_user;
        if (fn && fn(user, j0, r->imgs, it + 1, o->dmbp.iterations, mean))
            break;
    }
    /* The result at the final logits. */
    set_masks(r);
    TRY(backward_all(r, r->mvals, r->w));
    for (int j = 0; j < r->imgs; j++)
        t[j] = loss_of(r, j, false);
    write_outputs(r, j0, res, t, now() - t0);
    return DMBP_OK;
}

static void run_free(dmbp_run *r)
{
    for (int g = 0; r->c && r->p && g < r->G; g++)
        dmbp__explain_plan_done(r->c, r->p[g]);
    free(r->p);
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
    memset(r, 0, sizeof *r);
}

static dmbp_status run_alloc(dmbp_run *r, const dmbp__explain_ctx *c, int K,
                             int G, bool path, int imgs)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    r->K = K;
    r->G = G;
    r->path = path;
    r->imgs = imgs;
    r->lanes = 2 * K * imgs;
    r->classes = dmbp_model_num_classes(c->m);
    r->per = (size_t)c->c * c->h * c->w;
    r->p = dmbp__calloc((size_t)G, sizeof *r->p);
    if (!r->p)
        return DMBP_ERR_NOMEM;
    /* Group 0's plan may be the session's; the others are the run's own
     * (the session would hand back the same plan for the same size). */
    dmbp__explain_ctx own = *c;
    own.cache = NULL;
    for (int g = 0; g < G; g++)
        TRY(dmbp__explain_plan(g ? &own : c, 2 * group_n(r, g) * imgs, true,
                               &r->p[g]));
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
    if (per_chunk < 1)
        per_chunk = 1;
    dmbp_run r = {0};
    dmbp_status st = DMBP_OK;
    for (int j0 = 0; !st && j0 < c->n; j0 += per_chunk) {
        int imgs = c->n - j0 < per_chunk ? c->n - j0 : per_chunk;
        if (r.imgs != imgs) {
            run_free(&r);
            st = run_alloc(&r, c, K, G, path, imgs);
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
    run_free(&r);
    return st;
}
