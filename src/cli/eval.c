/* dmbp eval MODEL --images SPEC --methods LIST: faithfulness of attribution
 * methods on many images. Each image is an item of the image-set runner
 * (runner.h): its maps by every method, then deletion, insertion, negative
 * evidence, AOPC, the ground-truth scores and (first few images) the
 * model-randomisation check, written as the item's manifest fragment. The
 * ledger's process reads every image's numbers back from those lines
 * (fresh, or proven done by --resume), then reports means, standard
 * errors, paired differences, the table, CSV, JSON, SVG and Markdown
 * (eval_out.c, eval_plot.c). */
#include "eval.h"
#include "manifest.h"
#include "runner.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EV_DEFAULT_METHODS                                                  \
    "dmbp,saliency,gxi,ig,smoothgrad,guided,gradcam,gradcam++,scorecam,"     \
    "occlusion,rise"
/* Images per dmbp_explain call: enough to fill DMBP's lanes (16 images at
 * the default 32), few enough that progress moves. */
#define EV_DEFAULT_BATCH 64
#define EV_DEFAULT_RAND_IMAGES 8
/* The fragment's key for an image's numbers. */
#define EV_KEY "\"eval\": ["
/* Per method in the fragment: target, prob, signed, 3 timings. */
enum { EV_F_TARGET, EV_F_PROB, EV_F_SIGNED, EV_F_SECS, EV_F_METRICS = 6 };

/* ------------------------------------------------------------------ */
/* Options                                                            */
/* ------------------------------------------------------------------ */

typedef struct eval_opts {
    cli_args a;
    int n, offset, batch, rand_images;
    uint64_t seed;
    dmbp_eval_options eo;
    const char *outdir;   /* -O DIR: the manifest, --resume */
} eval_opts;

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
        return cli_oom();
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
        return cli_usage_error("--curve-steps and --step-pixels exclude each "
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
    e->outdir = f->output_dir;
    const char *outs[4] = {f->csv, f->json_out, f->plot, f->markdown};
    for (int k = 0; k < 4; k++) /* -O DIR's reports: DIR is made later */
        if (outs[k] && !(f->output_dir && outs[k] == e->a.owned[k]) &&
            (rc = cli_check_writable_dir(outs[k])))
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
/* One image: the item                                                */
/* ------------------------------------------------------------------ */

typedef struct ev_ctx {
    ev_run *r;
    const eval_opts *e;
    const dmbp_preprocess_options *pre;
    bool *done;               /* n: numbers known (recorded) */
    int win0, win1;           /* images computed by the last window */
    float *pos, *neg;         /* pixel scores, h x w */
    const char **names;       /* stages: layer names of the check */
} ev_ctx;

/* The ground-truth metrics of image i: the positive evidence against the
 * truth's "for" pixels, the negative (signed maps only) against its
 * "against" pixels. map: DMBP's A+ (a_neg its A-), else the map. */
static dmbp_status truth_metrics(const ev_ctx *x, const ev_method *em,
                                 const float *map, const float *a_neg,
                                 int mc, int i, double *v)
{
    int h = x->r->images->h, w = x->r->images->w;
    const uint8_t *truth = x->r->images->truth + (size_t)i * h * w;
    dmbp_status st = a_neg ? dmbp_eval_truth_maps_split(map, a_neg, mc, h,
                                                        w, x->pos, x->neg)
                           : dmbp_eval_truth_maps(map, mc, h, w, x->pos,
                                                  x->neg);
    dmbp_truth_scores t;
    for (int s = 0; s < 1 + em->has_negative && !st; s++) {
        dmbp_truth_scores_init(&t);
        st = dmbp_eval_truth(s ? x->neg : x->pos, truth, h, w,
                             s ? DMBP_TRUTH_AGAINST : DMBP_TRUTH_FOR,
                             DMBP_POINTING_TOLERANCE, &t);
        v[EV_POS_MASS + s] = t.mass_accuracy;
        v[EV_POS_RANK + s] = t.rank_accuracy;
        v[EV_POS_POINT + s] = t.pointing;
    }
    return st;
}

/* The metrics of image i (position j of res) for method em. */
static int image_metrics(ev_ctx *x, ev_method *em, const dmbp_result *res,
                         int j, int i)
{
    ev_run *r = x->r;
    const ev_images *im = r->images;
    int c = im->c, h = im->h, w = im->w;
    const float *in = im->x + (size_t)i * c * h * w;
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
    for (int k = 0; k < EV_METRICS; k++)
        v[k] = NAN;
    const dmbp_eval_options *eo = &r->eo;
    float *del = em->del_img + (size_t)i * r->points;
    float *ins = em->ins_img + (size_t)i * r->points;
    float *aopc = em->aopc_img + (size_t)i * r->aopc_points;
    dmbp_status st = dmbp_eval_pixel_scores(dmbp_result_array(res, j, kp),
                                            mc, h, w,
                                            em->has_negative ? 1 : 0, x->pos);
    if (!st)
        st = dmbp_eval_deletion(r->metrics, in, c, h, w, t, x->pos, eo, del,
                                &v[EV_DELETION]);
    if (!st)
        st = dmbp_eval_insertion(r->metrics, in, c, h, w, t, x->pos, eo, ins,
                                 &v[EV_INSERTION]);
    if (!st)
        st = dmbp_eval_aopc(r->metrics, in, c, h, w, t, x->pos, eo, aopc,
                            &v[EV_AOPC]);
    if (!st && em->has_negative) {
        static const double fractions[3] = EV_NEG_FRACTIONS;
        st = dmbp_eval_pixel_scores(dmbp_result_array(res, j, kn), mc, h, w,
                                    -1, x->neg);
        if (!st)
            st = dmbp_eval_negative(r->metrics, in, c, h, w, t, x->neg,
                                    fractions, 3, eo, &v[EV_NEG5]);
    }
    if (!st && r->ground_truth)
        st = truth_metrics(x, em, dmbp_result_array(res, j, kp),
                           dmbp ? dmbp_result_array(res, j, kn) : NULL, mc,
                           i, v);
    return st ? cli_fail_about(im->names[i], st) : EXIT_OK;
}

/* Images win0 .. win1 - 1 by method k: explained in one call (the
 * library seeds image j of a call with seed + j: image i gets seed + i
 * whatever the window), their metrics, and the randomisation check of
 * those among the first rand_images. */
static int window_method(ev_ctx *x, int k, int win0, int win1)
{
    ev_run *r = x->r;
    ev_method *em = &r->m[k];
    const ev_images *im = r->images;
    int c = im->c, h = im->h, w = im->w, cnt = win1 - win0;
    size_t per = (size_t)c * h * w;
    dmbp_explain_options o;
    int rc = cli_explain_options(&x->e->a.f, em->method, x->pre, &o);
    if (rc)
        return rc;
    int *targets = malloc((size_t)cnt * sizeof *targets);
    dmbp_session *ex = NULL;
    dmbp_status st = targets ? dmbp_session_create(r->model, &ex)
                             : DMBP_ERR_NOMEM;
    if (st) {
        free(targets);
        return st == DMBP_ERR_NOMEM ? cli_oom() : cli_fail(st);
    }
    for (int j = 0; j < cnt; j++)
        targets[j] = r->target;
    o.smoothgrad.seed = o.dmbp.seed = o.rise.seed =
        x->e->seed + (uint64_t)win0;
    double t0 = cli_now();
    dmbp_result *res = NULL;
    st = dmbp_explain(ex, im->x + (size_t)win0 * per, cnt, c, h, w, targets,
                      &o, &res);
    double t1 = cli_now();
    if (st)
        rc = cli_fail_about(im->names[win0], st);
    else
        em->has_negative = dmbp_result_signed(res) != 0;
    for (int j = 0; j < cnt && !rc; j++)
        rc = image_metrics(x, em, res, j, win0 + j);
    double t2 = cli_now();
    for (int i = win0; i < win1 && i < r->rand_images && !rc; i++) {
        double *rho = em->rho + (size_t)i * r->stages;
        o.smoothgrad.seed = o.dmbp.seed = o.rise.seed =
            x->e->seed + (uint64_t)i;
        st = dmbp_eval_randomization(ex, im->x + (size_t)i * per, c, h, w,
                                     em->target[i], &o, x->e->seed, rho,
                                     i == 0 && k == 0 ? x->names : NULL);
        if (st)
            rc = cli_fail_about(im->names[i], st);
        else
            em->v[(size_t)i * EV_METRICS + EV_RAND] =
                ev_stats(rho, r->stages, 1).mean;
    }
    /* Each image of the window carries its share of the time. */
    int n_rand = (win1 < r->rand_images ? win1 : r->rand_images) - win0;
    double t3 = cli_now();
    for (int i = win0; i < win1; i++) {
        double *secs = em->secs + (size_t)i * 3;
        secs[0] = (t1 - t0) / cnt;
        secs[1] = (t2 - t1) / cnt;
        secs[2] = i < r->rand_images ? (t3 - t2) / n_rand : 0;
    }
    dmbp_result_free(res);
    dmbp_session_free(ex);
    free(targets);
    return rc;
}

/* A double exactly (%.17g), null when not finite. */
static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.17g", v);
    else
        fputs("null", f);
}

static void json_floats(FILE *f, const float *v, int n)
{
    for (int q = 0; q < n; q++) {
        fputs(", ", f);
        cli_json_num(f, v[q]);
    }
}

/* Image i's numbers as the fragment: "eval": one array per method (target,
 * prob, signed, seconds for maps, metrics and randomisation, the metrics,
 * the deletion, insertion and AOPC curves, the randomisation's rho per
 * stage), and for image 0 the randomised layers' names. */
static void write_fragment(FILE *f, const ev_ctx *x, int i)
{
    const ev_run *r = x->r;
    fputs("\"outputs\": {}, " EV_KEY, f);
    for (int k = 0; k < r->n_methods; k++) {
        const ev_method *em = &r->m[k];
        fprintf(f, "%s[%d, %.9g, %d", k ? ", " : "", em->target[i],
                (double)em->prob[i], em->has_negative);
        for (int q = 0; q < 3; q++) {
            fputs(", ", f);
            json_num(f, em->secs[(size_t)i * 3 + q]);
        }
        for (int q = 0; q < EV_METRICS; q++) {
            fputs(", ", f);
            json_num(f, em->v[(size_t)i * EV_METRICS + q]);
        }
        json_floats(f, em->del_img + (size_t)i * r->points, r->points);
        json_floats(f, em->ins_img + (size_t)i * r->points, r->points);
        json_floats(f, em->aopc_img + (size_t)i * r->aopc_points,
                    r->aopc_points);
        for (int s = 0; s < r->stages; s++) {
            fputs(", ", f);
            json_num(f, i < r->rand_images
                            ? em->rho[(size_t)i * r->stages + s] : NAN);
        }
        fputs("]", f);
    }
    fputs("]", f);
    if (i == 0 && r->rand_images > 0) {
        fputs(", \"layers\": [", f);
        for (int s = 0; s < r->stages; s++) {
            fputs(s ? ", " : "", f);
            cli_json_str(f, x->names[s] ? x->names[s] : "");
        }
        fputs("]", f);
    }
}

/* The item: image i's numbers, computed with the window of images that
 * starts at it (up to --batch images not yet done), unless an earlier
 * window already did. */
static int eval_item(void *vctx, cli_item *it)
{
    ev_ctx *x = vctx;
    ev_run *r = x->r;
    int i = it->index, rc = EXIT_OK;
    dmbp_set_error(DMBP_OK, "%s", "");
    if (i < x->win0 || i >= x->win1) {
        int end = i + 1;
        while (end < r->n && end - i < x->e->batch && !x->done[end])
            end++;
        x->win0 = x->win1 = 0;
        for (int k = 0; k < r->n_methods && !rc; k++)
            rc = window_method(x, k, i, end);
        if (rc)
            return cli_item_failed(it, rc);
        x->win0 = i;
        x->win1 = end;
    }
    write_fragment(it->fragment, x, i);
    return EXIT_OK;
}

/* The numbers after EV_KEY, in write_fragment's order, into *v (NAN for
 * null); the end, or NULL. */
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

/* The ledger's record of image i (a fresh line or one --resume trusts):
 * its numbers into the run; -1 when they do not read back. */
static int eval_record(void *vctx, int i, const char *line)
{
    ev_ctx *x = vctx;
    ev_run *r = x->r;
    const char *p = line ? strstr(line, EV_KEY) : NULL;
    if (p)
        p += strlen(EV_KEY);
    double d;
    for (int k = 0; k < r->n_methods && p; k++) {
        ev_method *em = &r->m[k];
        double head[EV_F_METRICS];
        for (int q = 0; q < EV_F_METRICS && p; q++)
            p = read_num(p, &head[q]);
        /* Only what we could have written: a class, a probability, a
         * flag. */
        if (!p || !(head[EV_F_TARGET] >= 0 &&
                    head[EV_F_TARGET] < dmbp_model_num_classes(r->model) &&
                    head[EV_F_TARGET] == floor(head[EV_F_TARGET])) ||
            !(head[EV_F_PROB] >= 0 && head[EV_F_PROB] <= 1) ||
            (head[EV_F_SIGNED] != 0 && head[EV_F_SIGNED] != 1)) {
            p = NULL;
            break;
        }
        em->target[i] = (int)head[EV_F_TARGET];
        em->prob[i] = (float)head[EV_F_PROB];
        em->has_negative |= head[EV_F_SIGNED] != 0;
        memcpy(em->secs + (size_t)i * 3, head + EV_F_SECS, 3 * sizeof d);
        for (int q = 0; q < EV_METRICS && p; q++)
            p = read_num(p, &em->v[(size_t)i * EV_METRICS + q]);
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
        if (p && *p++ != ']')
            p = NULL;
    }
    if (!p)
        return -1; /* not numbers we wrote: the image is computed again */
    const char *lp = i == 0 ? strstr(p, "\"layers\": [") : NULL;
    if (lp)
        lp += strlen("\"layers\": [");
    for (int s = 0; lp && s < r->stages; s++) {
        char *name = NULL;
        while (*lp == ' ' || *lp == ',')
            lp++;
        lp = cli_json_string(lp, &name);
        free(r->layer_names[s]);
        r->layer_names[s] = name;
    }
    x->done[i] = true;
    return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* The command                                                        */
/* ------------------------------------------------------------------ */

static int alloc_method(ev_run *r, ev_method *em)
{
    size_t n = (size_t)r->n;
    em->v = malloc(n * EV_METRICS * sizeof *em->v);
    em->target = calloc(n, sizeof *em->target);
    em->prob = calloc(n, sizeof *em->prob);
    em->secs = calloc(n * 3, sizeof *em->secs);
    em->del_curve = calloc((size_t)r->points, sizeof(double));
    em->ins_curve = calloc((size_t)r->points, sizeof(double));
    em->aopc_curve = calloc((size_t)r->aopc_points, sizeof(double));
    em->rho = malloc(((size_t)r->rand_images * r->stages + 1) *
                     sizeof(double));
    em->del_img = calloc(n * (size_t)r->points + 1, sizeof(float));
    em->ins_img = calloc(n * (size_t)r->points + 1, sizeof(float));
    em->aopc_img = calloc(n * (size_t)r->aopc_points + 1, sizeof(float));
    if (!em->v || !em->target || !em->prob || !em->secs || !em->del_curve ||
        !em->ins_curve || !em->aopc_curve || !em->rho || !em->del_img ||
        !em->ins_img || !em->aopc_img)
        return cli_oom();
    for (size_t i = 0; i < n * EV_METRICS; i++)
        em->v[i] = NAN;
    return EXIT_OK;
}

static void free_method(ev_method *em)
{
    void *p[] = {em->v, em->target, em->prob, em->secs, em->del_curve,
                 em->ins_curve, em->aopc_curve, em->rho, em->del_img,
                 em->ins_img, em->aopc_img};
    for (size_t k = 0; k < sizeof p / sizeof *p; k++)
        free(p[k]);
}

/* Every image's numbers are in: the mean curves (summed in image order)
 * and the times. */
static void summarise(ev_run *r)
{
    for (int k = 0; k < r->n_methods; k++) {
        ev_method *em = &r->m[k];
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
}

static int report(const ev_run *r, const cli_flags *f)
{
    const char *path[4] = {f->csv, f->json_out, f->plot, f->markdown};
    void (*write[4])(FILE *, const ev_run *) = {
        ev_write_csv, ev_write_json, ev_write_svg, ev_write_markdown};
    int rc = EXIT_OK;
    for (int k = 0; k < 4 && !rc; k++)
        if (path[k])
            rc = ev_write_atomic(path[k], write[k], r);
    if (rc)
        return rc;
    /* --json: the results as JSON on stdout instead of the table. */
    if (f->json)
        ev_write_json(stdout, r);
    else
        ev_print_table(stdout, r);
    fflush(stdout);
    return EXIT_OK;
}

/* The model, its labels, the target and the images, as every process of
 * the run loads them. */
static int setup(eval_opts *e, const char *model_path, ev_run *r,
                 ev_images *im, dmbp_preprocess_options *pre)
{
    const cli_flags *f = &e->a.f;
    dmbp_model *model = NULL;
    dmbp_status st = dmbp_model_load(model_path, &model);
    if (st)
        return cli_fail(st);
    r->model = model;
    int rc = EXIT_OK;
    if (f->labels)
        rc = cli_labels_read(f->labels, dmbp_model_num_classes(model),
                             (cli_names *)r->labels);
    /* One target for every image: top:K, which needs each image's
     * logits, is explain's. */
    cli_targets tg = {0};
    if (!rc)
        rc = cli_targets_load(f, model, r->labels, 1, false, &tg);
    if (!rc)
        r->target = tg.cls[0];
    cli_targets_free(&tg);
    if (!rc)
        rc = cli_apply_pre(model, f, pre);
    if (!rc)
        rc = ev_images_load(f->images, e->offset, e->n, pre, f, im);
    if (rc)
        return rc;
    r->model_path = model_path;
    r->images_spec = f->images;
    r->images = im;
    r->n = im->n;
    r->offset = e->offset;
    r->ground_truth = f->ground_truth;
    /* The metrics' forward plans (one per curve length), kept for every
     * image of every method. */
    st = dmbp_session_create(model, &r->metrics);
    if (st)
        return cli_fail(st);
    r->eo = e->eo;
    r->points = dmbp_eval_curve_points(&e->eo, im->h, im->w);
    if (r->points < 2)
        return cli_usage_error("--step-pixels %d: the curves need at least "
                               "two points", e->eo.step_pixels);
    r->aopc_points = dmbp_eval_aopc_points(&e->eo, im->h, im->w);
    r->stages = dmbp_model_num_weight_layers(model);
    r->rand_images = e->rand_images < r->n ? e->rand_images : r->n;
    if (r->stages < 1)
        r->rand_images = 0;
    r->layer_names = calloc((size_t)r->stages + 1, sizeof *r->layer_names);
    if (!r->layer_names)
        return cli_oom();
    for (int k = 0; k < r->n_methods && !rc; k++) {
        rc = alloc_method(r, &r->m[k]);
        if (!rc && r->m[k].method == DMBP_METHOD_DMBP) {
            dmbp_explain_options o;
            rc = cli_explain_options(f, DMBP_METHOD_DMBP, pre, &o);
            if (!rc)
                describe_dmbp(&o.dmbp, r->dmbp_settings,
                              sizeof r->dmbp_settings);
        }
    }
    return rc;
}

int cmd_eval(int argc, char **argv)
{
    eval_opts e = {.batch = EV_DEFAULT_BATCH,
                   .rand_images = EV_DEFAULT_RAND_IMAGES};
    dmbp_eval_options_init(&e.eo);
    cli_names labels = {0};
    ev_run r = {.against = -1, .labels = &labels};
    ev_images im = {0};
    ev_ctx x = {.r = &r, .e = &e};
    dmbp_preprocess_options pre;
    const char *model_path = NULL;
    double t_start = cli_now();
    int rc = parse(argc, argv, &e, &model_path, &r);
    if (rc < 0) {
        rc = EXIT_OK; /* --help */
        goto done;
    }
    const cli_flags *f = &e.a.f;
    if (!rc)
        rc = setup(&e, model_path, &r, &im, &pre);
    if (rc)
        goto done;
    x.pre = &pre;
    x.done = calloc((size_t)r.n + 1, sizeof *x.done);
    x.pos = malloc((size_t)im.h * im.w * sizeof(float));
    x.neg = malloc((size_t)im.h * im.w * sizeof(float));
    x.names = calloc((size_t)r.stages + 1, sizeof *x.names);
    if (!x.done || !x.pos || !x.neg || !x.names) {
        rc = cli_oom();
        goto done;
    }
    if (e.outdir && mkdir(e.outdir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "dmbp: %s: cannot create the output directory: "
                "%s\n", e.outdir, strerror(errno));
        rc = EXIT_IO;
        goto done;
    }
    /* No report file may replace an input. */
    const char *outs[4] = {f->csv, f->json_out, f->plot, f->markdown};
    const char *others[3] = {model_path, f->labels, f->images};
    cli_inodes inputs = {0};
    for (int k = 0; k < 3 && !rc; k++)
        rc = cli_inodes_add(&inputs, others[k]);
    for (int i = 0; i < r.n && !rc; i++)
        rc = cli_inodes_add(&inputs, im.names[i]);
    for (int k = 0; k < 4 && !rc; k++)
        if (outs[k])
            rc = cli_check_output_in(outs[k], &inputs, true);
    cli_inodes_free(&inputs);
    char methods[160];
    snprintf(methods, sizeof methods, "%s",
             f->methods ? f->methods : EV_DEFAULT_METHODS);
    const char *fp_extra[2] = {"--methods", methods};
    /* Windows of --batch images: one rank's chunk is one window. */
    cli_runner b = {.inputs = (const char *const *)im.names, .n = r.n,
                    .dir = e.outdir, .resume = f->resume,
                    .quiet = f->quiet || (!e.outdir && !isatty(2)),
                    .max_failures = e.outdir ? f->max_failures : 1,
                    .chunk = f->chunk ? f->chunk : e.batch,
                    .fn = eval_item, .ctx = &x, .record = eval_record,
                    .args = &e.a, .model = model_path, .fp_extra = fp_extra,
                    .n_fp_extra = 1};
    if (!rc)
        rc = cli_run(&b);
    if (rc || !cli_run_reports())
        goto done;
    summarise(&r);
    r.seconds = cli_now() - t_start;
    rc = report(&r, f);
done:
    if (r.m)
        for (int k = 0; k < r.n_methods; k++)
            free_method(&r.m[k]);
    free(r.m);
    for (int s = 0; r.layer_names && s < r.stages; s++)
        free(r.layer_names[s]);
    free(r.layer_names);
    free(x.done);
    free(x.pos);
    free(x.neg);
    free(x.names);
    ev_images_free(&im);
    dmbp_session_free(r.metrics);
    dmbp_model_free((dmbp_model *)r.model);
    cli_names_free(&labels);
    cli_args_free(&e.a);
    return rc;
}
