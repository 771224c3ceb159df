/* dmbp eval MODEL --images SPEC --methods LIST: faithfulness of attribution
 * methods on many images. Per method: the maps of every image (a
 * session over batches of images), then per image deletion, insertion,
 * negative evidence and AOPC (dmbp_eval_*, their plans kept in another
 * session), and the model-randomisation check on the first few images;
 * then means, standard errors, paired differences,
 * and the table, CSV, JSON, SVG and Markdown outputs (eval_out.c,
 * eval_plot.c). */
#include "eval.h"
#include "batch.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EV_DEFAULT_METHODS                                                  \
    "dmbp,saliency,gxi,ig,smoothgrad,guided,gradcam,gradcam++,scorecam,"     \
    "occlusion,rise"
/* Images per dmbp_explain call: enough to fill DMBP's lanes (16 images at
 * the default 32), few enough that progress moves. */
#define EV_DEFAULT_BATCH 64
#define EV_DEFAULT_RAND_IMAGES 8
/* Bounds of the integer options: beyond any useful value, small enough
 * that no count overflows. */
#define EV_MAX_IMAGES (1 << 28)
#define EV_MAX_STEPS 100000
#define EV_MAX_REGIONS 100000
#define EV_MAX_BATCH 65536

const ev_metric_info ev_metric[EV_METRICS] = {
    [EV_DELETION] = {"deletion_auc", "deletion", -1},
    [EV_INSERTION] = {"insertion_auc", "insertion", +1},
    [EV_NEG5] = {"neg_rise_5", "neg 5%", +1},
    [EV_NEG10] = {"neg_rise_10", "neg 10%", +1},
    [EV_NEG20] = {"neg_rise_20", "neg 20%", +1},
    [EV_AOPC] = {"aopc", "AOPC", +1},
    [EV_RAND] = {"randomization_rho", "rand rho", -1},
    [EV_POS_MASS] = {"pos_mass_accuracy", "pos mass", +1},
    [EV_NEG_MASS] = {"neg_mass_accuracy", "neg mass", +1},
    [EV_POS_RANK] = {"pos_rank_accuracy", "pos rank", +1},
    [EV_NEG_RANK] = {"neg_rank_accuracy", "neg rank", +1},
    [EV_POS_POINT] = {"pos_pointing", "pos pointing", +1},
    [EV_NEG_POINT] = {"neg_pointing", "neg pointing", +1},
};

int ev_num_metrics(const ev_run *r)
{
    return r->ground_truth ? EV_METRICS : EV_GT_FIRST;
}

static int out_of_memory(void)
{
    fprintf(stderr, "dmbp: out of memory\n");
    return EXIT_INTERNAL;
}

int ev_fail_about(const char *what, dmbp_status st)
{
    char detail[1024];
    snprintf(detail, sizeof detail, "%s", dmbp_last_error());
    dmbp_set_error(st, "%s: %s", what, detail);
    return cli_fail(st);
}


/* ------------------------------------------------------------------ */
/* Statistics                                                         */
/* ------------------------------------------------------------------ */

ev_stat ev_stats(const double *v, int n, int stride)
{
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(v[(size_t)i * stride])) {
            s += v[(size_t)i * stride];
            k++;
        }
    ev_stat st = {NAN, NAN, k};
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

void ev_paired(const ev_run *r, int method, int k, double *d)
{
    const ev_method *m = &r->m[method], *a = &r->m[r->against];
    for (int i = 0; i < r->n; i++)
        d[i] = m->v[(size_t)i * EV_METRICS + k] -
               a->v[(size_t)i * EV_METRICS + k];
}

double ev_curve_x(const ev_run *r, int i)
{
    int64_t hw = (int64_t)r->images->h * r->images->w;
    int64_t n = r->eo.step_pixels > 0 ? (int64_t)i * r->eo.step_pixels
                                      : (int64_t)i * hw / r->eo.steps;
    return (double)(n < hw ? n : hw) / (double)hw;
}

/* ------------------------------------------------------------------ */
/* Options                                                            */
/* ------------------------------------------------------------------ */

typedef struct eval_opts {
    cli_args a;
    int n, offset, batch, rand_images;
    uint64_t seed;
    dmbp_eval_options eo;
} eval_opts;

const char *ev_substrate_name(dmbp_substrate s)
{
    return s == DMBP_SUBSTRATE_BLUR ? "blur"
           : s == DMBP_SUBSTRATE_MEAN ? "mean" : "zero";
}

/* "saliency, gxi, ... or dmbp". */
static void all_methods(char *buf, size_t cap)
{
    buf[0] = 0;
    for (int m = 0; m < DMBP_NUM_METHODS; m++) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s",
                 m == 0 ? "" : m == DMBP_NUM_METHODS - 1 ? " or " : ", ",
                 dmbp_method_name((dmbp_method)m));
    }
}

/* --methods LIST into r->m (allocated), --against into r->against. */
static int parse_methods(const eval_opts *e, ev_run *r)
{
    const char *list = e->a.f.methods ? e->a.f.methods : EV_DEFAULT_METHODS;
    char names[256];
    all_methods(names, sizeof names);
    int cap = 1;
    for (const char *c = list; *c; c++)
        cap += *c == ',';
    r->m = calloc((size_t)cap, sizeof *r->m);
    if (!r->m)
        return out_of_memory();
    r->against = -1;
    for (const char *c = list;;) {
        const char *end = strchr(c, ',');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        char name[32];
        dmbp_method m;
        if (len == 0)
            return cli_usage_error("--methods '%s': an empty method name",
                                   list);
        snprintf(name, sizeof name, "%.*s", (int)(len < 31 ? len : 31), c);
        if (len >= sizeof name || dmbp_method_from_name(name, &m))
            return cli_usage_error("--methods: unknown method '%.*s' "
                                   "(expected %s)", (int)len, c, names);
        for (int k = 0; k < r->n_methods; k++)
            if (r->m[k].method == m)
                return cli_usage_error("--methods: %s is listed twice", name);
        r->m[r->n_methods++].method = m;
        if (!end)
            break;
        c = end + 1;
    }
    const char *against = e->a.f.against;
    if (against) {
        dmbp_method a;
        if (dmbp_method_from_name(against, &a))
            return cli_usage_error("--against '%s': expected %s", against,
                                   names);
        for (int k = 0; k < r->n_methods; k++)
            if (r->m[k].method == a)
                r->against = k;
        if (r->against < 0)
            return cli_usage_error("--against %s: not among --methods %s",
                                   against, list);
    }
    return EXIT_OK;
}

static int parse(int argc, char **argv, eval_opts *e, const char **model,
                 ev_run *r)
{
    int rc = cli_args_parse(CMD_EVAL, argc, argv, &e->a);
    if (rc)
        return rc;
    const cli_flags *f = &e->a.f;
    if (e->a.n_pos < 1)
        return cli_usage_error("eval: which model?");
    if (e->a.n_pos > 1)
        return cli_usage_error("eval: one model at a time ('%s' and '%s'); "
                               "images go to --images", e->a.pos[0],
                               e->a.pos[1]);
    *model = e->a.pos[0];
    if (!f->images)
        return cli_usage_error("eval: --images is required (a file listing "
                               "image paths, a directory or idx:PATH)");
    if (f->given[CLI_O_CURVE_STEPS] && f->given[CLI_O_STEP_PIXELS])
        return cli_usage_error("--steps and --step-pixels exclude each "
                               "other");
    if (f->given[CLI_O_N])
        e->n = f->n;
    if (f->given[CLI_O_OFFSET])
        e->offset = f->offset;
    if (f->given[CLI_O_BATCH])
        e->batch = f->batch;
    if (f->given[CLI_O_RAND_IMAGES])
        e->rand_images = f->rand_images;
    if (f->given[CLI_O_CURVE_STEPS])
        e->eo.steps = f->curve_steps;
    if (f->given[CLI_O_STEP_PIXELS])
        e->eo.step_pixels = f->step_pixels;
    if (f->given[CLI_O_REGIONS])
        e->eo.regions = f->regions;
    if (f->given[CLI_O_REGION_SIZE])
        e->eo.region_size = f->region_size;
    if (f->given[CLI_O_MAX_LANES])
        e->eo.max_lanes = f->max_lanes;
    static const dmbp_substrate sub[3] = {
        DMBP_SUBSTRATE_ZERO, DMBP_SUBSTRATE_BLUR, DMBP_SUBSTRATE_MEAN};
    static const dmbp_substrate ins[3] = {
        DMBP_SUBSTRATE_BLUR, DMBP_SUBSTRATE_ZERO, DMBP_SUBSTRATE_MEAN};
    if (f->given[CLI_O_SUBSTRATE])
        e->eo.deletion_substrate = sub[f->substrate];
    if (f->given[CLI_O_INSERTION_START])
        e->eo.insertion_start = ins[f->insertion_start];
    if (f->given[CLI_O_EVAL_SEED]) {
        e->seed = f->eval_seed;
        e->eo.seed = f->eval_seed;
    }
    rc = parse_methods(e, r);
    if (rc)
        return rc;
    unsigned listed = 0;
    for (int k = 0; k < r->n_methods; k++)
        listed |= 1u << r->m[k].method;
    char what[160];
    snprintf(what, sizeof what, "--methods %s",
             f->methods ? f->methods : EV_DEFAULT_METHODS);
    rc = cli_check_methods(&e->a, listed, what);
    if (rc)
        return rc;
    const char *outs[4] = {f->csv, f->json_out, f->plot, f->markdown};
    for (int k = 0; k < 4; k++)
        if (outs[k] && (rc = cli_check_writable_dir(outs[k])))
            return rc;
    return EXIT_OK;
}

static void describe_dmbp(const dmbp_dmbp_options *o, char *buf,
                          size_t cap)
{
    snprintf(buf, cap, "%d iterations, lr %g, init logit %g, weights "
             "completeness %g sign %g nuisance %g evidence %g sparsity %g, "
             "samples %d", o->iterations, (double)o->lr,
             (double)o->init_logit, (double)o->w_completeness,
             (double)o->w_sign, (double)o->w_nuisance,
             (double)o->w_evidence, (double)o->w_sparsity, o->samples);
    size_t len = strlen(buf);
    if (o->tol > 0 && len < cap)
        snprintf(buf + len, cap - len, ", tol %g", (double)o->tol);
}

/* ------------------------------------------------------------------ */
/* Progress on a terminal                                             */
/* ------------------------------------------------------------------ */

typedef struct progress {
    cli_progress line;
    const char *method;
    int k, n_methods;         /* method k of n_methods */
    int first, count, n;      /* the batch being explained, of n images */
} progress;

/* "dmbp eval: METHOD (k/K): WHAT". */
static void progress_draw(progress *p, bool force, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void progress_draw(progress *p, bool force, const char *fmt, ...)
{
    if (!p->line.on)
        return;
    char what[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    cli_progress_draw(&p->line, force, "dmbp eval: %s (%d/%d): %s",
                      p->method, p->k + 1, p->n_methods, what);
}

static int on_dmbp_progress(void *user, int first_image, int n_images,
                            int iteration, int iterations, double loss)
{
    progress *p = user;
    (void)loss;
    progress_draw(p, false, "maps of images %d-%d of %d, iteration %d/%d",
                  p->first + first_image + 1,
                  p->first + first_image + n_images, p->n, iteration,
                  iterations);
    return 0;
}

static int on_rise_progress(void *user, int image, int n_images, int done,
                            int masks, double unused)
{
    progress *p = user;
    (void)n_images;
    (void)unused;
    progress_draw(p, false, "map of image %d of %d, masks %d/%d",
                  p->first + image + 1, p->n, done, masks);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The computation                                                    */
/* ------------------------------------------------------------------ */

/* Scratch space of one method's metrics. */
typedef struct scratch {
    float *pos, *neg;         /* pixel scores, h x w */
    float *del, *ins, *aopc;  /* one image's curves */
} scratch;

/* The ground-truth metrics of image i: the positive evidence against the
 * truth's "for" pixels, the negative (signed maps only) against its
 * "against" pixels. map: DMBP's A+ (a_neg its A-), else the map. */
static dmbp_status truth_metrics(const ev_run *r, const ev_method *em,
                                 const float *map, const float *a_neg,
                                 int mc, int i, scratch *s, double *v)
{
    int h = r->images->h, w = r->images->w;
    const uint8_t *truth = r->images->truth + (size_t)i * h * w;
    dmbp_status st = a_neg ? dmbp_eval_truth_maps_split(map, a_neg, mc, h,
                                                        w, s->pos, s->neg)
                           : dmbp_eval_truth_maps(map, mc, h, w, s->pos,
                                                  s->neg);
    dmbp_truth_scores t;
    dmbp_truth_scores_init(&t);
    if (!st)
        st = dmbp_eval_truth(s->pos, truth, h, w, DMBP_TRUTH_FOR,
                             DMBP_POINTING_TOLERANCE, &t);
    if (st)
        return st;
    v[EV_POS_MASS] = t.mass_accuracy;
    v[EV_POS_RANK] = t.rank_accuracy;
    v[EV_POS_POINT] = t.pointing;
    if (!em->has_negative)
        return DMBP_OK;
    st = dmbp_eval_truth(s->neg, truth, h, w, DMBP_TRUTH_AGAINST,
                         DMBP_POINTING_TOLERANCE, &t);
    if (st)
        return st;
    v[EV_NEG_MASS] = t.mass_accuracy;
    v[EV_NEG_RANK] = t.rank_accuracy;
    v[EV_NEG_POINT] = t.pointing;
    return DMBP_OK;
}

/* The metrics of image i (batch position j of res) for method em. */
static int image_metrics(ev_run *r, ev_method *em, const dmbp_result *res,
                         int j, int i, scratch *s)
{
    const ev_images *im = r->images;
    int c = im->c, h = im->h, w = im->w;
    const float *x = im->x + (size_t)i * c * h * w;
    dmbp_shape sh = dmbp_result_array_shape(res);
    int mc = (int)sh.dims[0];
    bool dmbp = em->method == DMBP_METHOD_DMBP;
    int kp = dmbp ? dmbp_result_find_array(res, "a_pos") : 0;
    int kn = dmbp ? dmbp_result_find_array(res, "a_neg") : 0;
    if (kp < 0 || kn < 0 || sh.ndim != 3 || sh.dims[1] != h ||
        sh.dims[2] != w) {
        fprintf(stderr, "dmbp: internal error: %s's result has no usable "
                "map\n", dmbp_method_name(em->method));
        return EXIT_INTERNAL;
    }
    int t = dmbp_result_target(res, j);
    em->target[i] = t;
    em->prob[i] = dmbp_result_prob(res, j);
    double *v = em->v + (size_t)i * EV_METRICS;
    const dmbp_eval_options *eo = &r->eo;
    dmbp_status st = dmbp_eval_pixel_scores(dmbp_result_array(res, j, kp),
                                            mc, h, w,
                                            em->has_negative ? 1 : 0, s->pos);
    if (!st)
        st = dmbp_eval_deletion(r->metrics, x, c, h, w, t, s->pos, eo, s->del,
                                &v[EV_DELETION]);
    if (!st)
        st = dmbp_eval_insertion(r->metrics, x, c, h, w, t, s->pos, eo, s->ins,
                                 &v[EV_INSERTION]);
    if (!st)
        st = dmbp_eval_aopc(r->metrics, x, c, h, w, t, s->pos, eo, s->aopc,
                            &v[EV_AOPC]);
    v[EV_NEG5] = v[EV_NEG10] = v[EV_NEG20] = NAN;
    if (!st && em->has_negative) {
        static const double fractions[3] = EV_NEG_FRACTIONS;
        st = dmbp_eval_pixel_scores(dmbp_result_array(res, j, kn), mc, h, w,
                                    -1, s->neg);
        if (!st)
            st = dmbp_eval_negative(r->metrics, x, c, h, w, t, s->neg,
                                    fractions, 3, eo, &v[EV_NEG5]);
    }
    if (!st && r->ground_truth)
        st = truth_metrics(r, em, dmbp_result_array(res, j, kp),
                           dmbp ? dmbp_result_array(res, j, kn) : NULL, mc,
                           i, s, v);
    if (st)
        return ev_fail_about(im->names[i], st);
    memcpy(em->del_img + (size_t)i * r->points, s->del,
           (size_t)r->points * sizeof *s->del);
    memcpy(em->ins_img + (size_t)i * r->points, s->ins,
           (size_t)r->points * sizeof *s->ins);
    memcpy(em->aopc_img + (size_t)i * r->aopc_points, s->aopc,
           (size_t)r->aopc_points * sizeof *s->aopc);
    return EXIT_OK;
}

static int alloc_method(ev_run *r, ev_method *em)
{
    size_t n = (size_t)r->n;
    em->v = malloc(n * EV_METRICS * sizeof *em->v);
    em->target = calloc(n, sizeof *em->target);
    em->prob = calloc(n, sizeof *em->prob);
    em->del_curve = calloc((size_t)r->points, sizeof(double));
    em->ins_curve = calloc((size_t)r->points, sizeof(double));
    em->aopc_curve = calloc((size_t)r->aopc_points, sizeof(double));
    em->rho = malloc(((size_t)r->rand_images * r->stages + 1) *
                     sizeof(double));
    em->del_img = calloc(n * (size_t)r->points + 1, sizeof(float));
    em->ins_img = calloc(n * (size_t)r->points + 1, sizeof(float));
    em->aopc_img = calloc(n * (size_t)r->aopc_points + 1, sizeof(float));
    if (!em->v || !em->target || !em->prob || !em->del_curve ||
        !em->ins_curve || !em->aopc_curve || !em->rho || !em->del_img ||
        !em->ins_img || !em->aopc_img)
        return out_of_memory();
    for (size_t i = 0; i < n * EV_METRICS; i++)
        em->v[i] = NAN;
    return EXIT_OK;
}

static void free_method(ev_method *em)
{
    free(em->v);
    free(em->target);
    free(em->prob);
    free(em->del_curve);
    free(em->ins_curve);
    free(em->aopc_curve);
    free(em->rho);
    free(em->del_img);
    free(em->ins_img);
    free(em->aopc_img);
}

/* Under MPI (cli_spmd_*), whole batches go round the ranks, so that every
 * image is explained in exactly the batch, with exactly the seed, of a
 * single process; randomisation images go round one by one. */
static int batch_owner(int i, int batch, int size)
{
    return (i / batch) % size;
}

static int rand_owner(int i, int unused, int size)
{
    (void)unused;
    return i % size;
}

static int spmd_rank, spmd_size = 1;

/* Maps and metrics of every image, then the randomisation check, for
 * method k. */
static int run_method(ev_run *r, int k, const eval_opts *e,
                      const dmbp_preprocess_options *pre, progress *p)
{
    ev_method *em = &r->m[k];
    const ev_images *im = r->images;
    int c = im->c, h = im->h, w = im->w;
    size_t per = (size_t)c * h * w;
    dmbp_explain_options o;
    int rc = cli_explain_options(&e->a.f, em->method, pre, &o);
    if (rc)
        return rc;
    o.smoothgrad.seed = o.dmbp.seed = o.rise.seed = e->seed;
    if (em->method == DMBP_METHOD_DMBP)
        describe_dmbp(&o.dmbp, r->dmbp_settings, sizeof r->dmbp_settings);
    if (p->line.on && em->method == DMBP_METHOD_DMBP) {
        o.dmbp.progress = on_dmbp_progress;
        o.dmbp.progress_user = p;
    }
    if (p->line.on && em->method == DMBP_METHOD_RISE) {
        o.rise.progress = on_rise_progress;
        o.rise.progress_user = p;
    }
    /* The method's plans, kept from one batch of images to the next
     * (freed with the method: another method needs others). */
    dmbp_session *ex = NULL;
    dmbp_status est = dmbp_session_create(r->model, &ex);
    if (est)
        return cli_fail(est);
    scratch s = {0};
    s.pos = malloc((size_t)h * w * sizeof(float));
    s.neg = malloc((size_t)h * w * sizeof(float));
    s.del = malloc((size_t)r->points * sizeof(float));
    s.ins = malloc((size_t)r->points * sizeof(float));
    s.aopc = malloc((size_t)r->aopc_points * sizeof(float));
    int *targets = malloc((size_t)e->batch * sizeof(int));
    if (!s.pos || !s.neg || !s.del || !s.ins || !s.aopc || !targets)
        rc = out_of_memory();
    for (int b = 0; b < e->batch && !rc; b++)
        targets[b] = r->target;
    p->method = dmbp_method_name(em->method);
    p->k = k;
    p->n = r->n;
    bool seen = false;
    for (int first = 0; !rc && first < r->n; first += e->batch) {
        if (batch_owner(first, e->batch, spmd_size) != spmd_rank)
            continue;
        int cnt = r->n - first < e->batch ? r->n - first : e->batch;
        p->first = first;
        p->count = cnt;
        progress_draw(p, true, "maps of images %d-%d of %d", first + 1,
                      first + cnt, r->n);
        dmbp_result *res = NULL;
        /* The library seeds image j of a call with seed + j: so image i
         * gets seed + i whatever the batches. */
        o.smoothgrad.seed = o.dmbp.seed = e->seed + (uint64_t)first;
        double t0 = cli_now();
        dmbp_status st = dmbp_explain(ex, im->x + (size_t)first * per, cnt,
                                      c, h, w, targets, &o, &res);
        double t1 = cli_now();
        em->t_explain += t1 - t0;
        if (st) {
            rc = cli_fail(st);
            break;
        }
        if (!seen)
            em->has_negative = dmbp_result_signed(res) != 0;
        seen = true;
        for (int j = 0; j < cnt && !rc; j++) {
            progress_draw(p, false, "metrics, image %d of %d", first + j + 1,
                          r->n);
            rc = image_metrics(r, em, res, j, first + j, &s);
        }
        em->t_metrics += cli_now() - t1;
        dmbp_result_free(res);
    }
    /* Every rank gets every image's numbers (bytes copied, not
     * combined); the curves are then summed in image order, as one
     * process would. */
    rc = cli_spmd_agree(rc);
    if (!rc) {
        size_t n = (size_t)r->n;
        em->has_negative = cli_spmd_sum(em->has_negative) > 0;
        if (cli_spmd_share(em->v, EV_METRICS * sizeof *em->v, r->n,
                           e->batch, batch_owner) ||
            cli_spmd_share(em->target, sizeof *em->target, r->n, e->batch,
                           batch_owner) ||
            cli_spmd_share(em->prob, sizeof *em->prob, r->n, e->batch,
                           batch_owner) ||
            cli_spmd_share(em->del_img, r->points * sizeof(float), r->n,
                           e->batch, batch_owner) ||
            cli_spmd_share(em->ins_img, r->points * sizeof(float), r->n,
                           e->batch, batch_owner) ||
            cli_spmd_share(em->aopc_img, r->aopc_points * sizeof(float),
                           r->n, e->batch, batch_owner))
            rc = out_of_memory();
        for (size_t i = 0; i < n && !rc; i++) {
            for (int q = 0; q < r->points; q++) {
                em->del_curve[q] += em->del_img[i * r->points + q];
                em->ins_curve[q] += em->ins_img[i * r->points + q];
            }
            for (int q = 0; q < r->aopc_points; q++)
                em->aopc_curve[q] += em->aopc_img[i * r->aopc_points + q];
        }
    }
    /* Randomisation: one explanation per stage and image, so only the
     * first few images. Progress of the explanations inside is not
     * shown: they are single images. */
    o.dmbp.progress = NULL;
    double t0 = cli_now();
    for (int i = 0; !rc && i < r->rand_images; i++) {
        if (rand_owner(i, 0, spmd_size) != spmd_rank)
            continue;
        progress_draw(p, true, "randomisation, image %d of %d", i + 1,
                      r->rand_images);
        double *rho = em->rho + (size_t)i * r->stages;
        o.smoothgrad.seed = o.dmbp.seed = e->seed + (uint64_t)i;
        dmbp_status st = dmbp_eval_randomization(
            ex, im->x + (size_t)i * per, c, h, w, em->target[i], &o,
            e->seed, rho, i == 0 && k == 0 ? r->layer_names : NULL);
        if (st)
            rc = ev_fail_about(im->names[i], st);
        else
            em->v[(size_t)i * EV_METRICS + EV_RAND] =
                ev_stats(rho, r->stages, 1).mean;
    }
    em->t_rand = cli_now() - t0;
    rc = cli_spmd_agree(rc);
    if (!rc && spmd_size > 1) {
        /* Times: the ranks' sum, comparable with one process's. */
        em->t_explain = cli_spmd_sum(em->t_explain);
        em->t_metrics = cli_spmd_sum(em->t_metrics);
        em->t_rand = cli_spmd_sum(em->t_rand);
        double *rv = malloc(((size_t)r->rand_images + 1) * sizeof *rv);
        if (!rv)
            return out_of_memory();
        for (int i = 0; i < r->rand_images; i++)
            rv[i] = em->v[(size_t)i * EV_METRICS + EV_RAND];
        if (cli_spmd_share(em->rho, r->stages * sizeof *em->rho,
                           r->rand_images, 0, rand_owner) ||
            cli_spmd_share(rv, sizeof *rv, r->rand_images, 0, rand_owner))
            rc = out_of_memory();
        for (int i = 0; i < r->rand_images; i++)
            em->v[(size_t)i * EV_METRICS + EV_RAND] = rv[i];
        free(rv);
    }
    if (!rc) {
        for (int q = 0; q < r->points; q++) {
            em->del_curve[q] /= r->n;
            em->ins_curve[q] /= r->n;
        }
        for (int q = 0; q < r->aopc_points; q++)
            em->aopc_curve[q] /= r->n;
    }
    free(s.pos);
    free(s.neg);
    free(s.del);
    free(s.ins);
    free(s.aopc);
    free(targets);
    dmbp_session_free(ex);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The command                                                        */
/* ------------------------------------------------------------------ */

int cmd_eval(int argc, char **argv)
{
    eval_opts e = {.batch = EV_DEFAULT_BATCH,
                   .rand_images = EV_DEFAULT_RAND_IMAGES};
    dmbp_eval_options_init(&e.eo);
    ev_run r = {.against = -1};
    ev_images im = {0};
    cli_names labels = {0};
    dmbp_model *model = NULL;
    dmbp_session *metric_plans = NULL;
    const char *model_path = NULL;
    double t_start = cli_now();
    int rc = parse(argc, argv, &e, &model_path, &r);
    if (rc < 0) {
        rc = EXIT_OK; /* --help */
        goto done;
    }
    if (rc)
        goto done;
    const cli_flags *f = &e.a.f;
    /* Under mpirun/srun: the images are shared out (docs/cluster.md). */
    rc = cli_spmd_begin(&spmd_rank, &spmd_size);
    if (rc)
        goto done;

    dmbp_status st = dmbp_model_load(model_path, &model);
    if (st) {
        rc = cli_fail(st);
        goto done;
    }
    int target = -1;
    if (f->labels)
        rc = cli_labels_read(f->labels, dmbp_model_num_classes(model),
                             &labels);
    /* One target for every image: top:K, which needs each image's
     * logits, is explain's. */
    cli_targets tg = {0};
    if (!rc)
        rc = cli_targets_load(f, model, &labels, 1, false, &tg);
    if (!rc)
        target = tg.cls[0];
    cli_targets_free(&tg);
    if (rc)
        goto done;
    dmbp_preprocess_options pre;
    rc = cli_apply_pre(model, f, &pre);
    if (!rc)
        rc = ev_images_load(f->images, e.offset, e.n, &pre, f, &im);
    if (rc)
        goto done;

    r.model_path = model_path;
    r.images_spec = f->images;
    r.model = model;
    r.images = &im;
    r.n = im.n;
    r.offset = e.offset;
    r.target = target;
    r.labels = &labels;
    r.ground_truth = f->ground_truth;
    /* The metrics' forward plans (one per curve length), kept for every
     * image of every method. */
    st = dmbp_session_create(model, &metric_plans);
    if (st) {
        rc = cli_fail(st);
        goto done;
    }
    r.metrics = metric_plans;
    r.eo = e.eo;
    r.points = dmbp_eval_curve_points(&e.eo, im.h, im.w);
    if (r.points < 2) {
        rc = cli_usage_error("--step-pixels %d: the curves need at least "
                             "two points", e.eo.step_pixels);
        goto done;
    }
    int rs = e.eo.region_size;
    int tiles = ((im.h + rs - 1) / rs) * ((im.w + rs - 1) / rs);
    r.aopc_points = (e.eo.regions < tiles ? e.eo.regions : tiles) + 1;
    r.stages = dmbp_model_num_weight_layers(model);
    r.rand_images = e.rand_images < r.n ? e.rand_images : r.n;
    if (r.stages < 1)
        r.rand_images = 0;
    r.layer_names = calloc((size_t)r.stages + 1, sizeof *r.layer_names);
    if (!r.layer_names) {
        rc = out_of_memory();
        goto done;
    }
    for (int k = 0; k < r.n_methods && !rc; k++)
        rc = alloc_method(&r, &r.m[k]);

    progress p = {.n_methods = r.n_methods};
    cli_progress_start(&p.line, f->quiet || spmd_rank != 0);
    for (int k = 0; k < r.n_methods && !rc; k++)
        rc = run_method(&r, k, &e, &pre, &p);
    cli_progress_clear(&p.line);
    if (rc)
        goto done;
    r.seconds = cli_now() - t_start;
    /* Rank 0 alone reports. */
    if (spmd_rank != 0)
        goto done;

    if (f->csv)
        rc = ev_write_atomic(f->csv, ev_write_csv, &r);
    if (!rc && f->json_out)
        rc = ev_write_atomic(f->json_out, ev_write_json, &r);
    if (!rc && f->plot)
        rc = ev_write_atomic(f->plot, ev_write_svg, &r);
    if (!rc && f->markdown)
        rc = ev_write_atomic(f->markdown, ev_write_markdown, &r);
    if (!rc) {
        /* --json: the results as JSON on stdout instead of the table. */
        if (f->json)
            ev_write_json(stdout, &r);
        else
            ev_print_table(stdout, &r);
        fflush(stdout);
    }
done:
    if (r.m)
        for (int k = 0; k < r.n_methods; k++)
            free_method(&r.m[k]);
    free(r.m);
    free(r.layer_names);
    ev_images_free(&im);
    dmbp_session_free(metric_plans);
    dmbp_model_free(model);
    cli_names_free(&labels);
    cli_args_free(&e.a);
    cli_spmd_end();
    return rc;
}
