/* dmbp eval's reports: the table on stdout, and the CSV, JSON and Markdown
 * files (the SVG plot is in eval_plot.c). */
#include "eval.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* |mean| beyond this many standard errors is flagged in the paired table
 * (roughly p < 0.05 for a normal mean). */
#define EV_FLAG_SE 2.0

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

const char *ev_substrate_name(dmbp_substrate s)
{
    return s == DMBP_SUBSTRATE_BLUR ? "blur"
           : s == DMBP_SUBSTRATE_MEAN ? "mean" : "zero";
}

typedef struct ev_write_ctx {
    void (*write)(FILE *, const ev_run *);
    const ev_run *run;
} ev_write_ctx;

static void ev_write_thunk(FILE *f, const void *ctx)
{
    const ev_write_ctx *c = ctx;
    c->write(f, c->run);
}

int ev_write_atomic(const char *path, void (*write)(FILE *, const ev_run *),
                    const ev_run *r)
{
    ev_write_ctx c = {write, r};
    cli_write_begin();
    return cli_write_end(cli_write_atomic(path, ev_write_thunk, &c));
}

static ev_stat metric_stat(const ev_run *r, int method, int k)
{
    return ev_stats(r->m[method].v + k, r->n, EV_METRICS);
}

static ev_stat paired_stat(const ev_run *r, int method, int k)
{
    double *d = malloc((size_t)r->n * sizeof *d);
    ev_stat s = {NAN, NAN, 0};
    if (d) {
        ev_paired(r, method, k, d);
        s = ev_stats(d, r->n, 1);
        free(d);
    }
    return s;
}

static ev_stat rho_stat(const ev_run *r, int method, int stage)
{
    return ev_stats(r->m[method].rho + stage, r->rand_images, r->stages);
}

/* Seconds per image for the maps and the metrics (not randomisation). */
static double per_image(const ev_method *m, int n)
{
    return (m->t_explain + m->t_metrics) / (n > 0 ? n : 1);
}

static const char *name_of(const ev_run *r, int k)
{
    return dmbp_method_name(r->m[k].method);
}

/* "the 5/10/20 %" from EV_NEG_FRACTIONS. */
static const double neg_fractions[3] = EV_NEG_FRACTIONS;

static void settings_line(FILE *f, const ev_run *r)
{
    const dmbp_eval_options *o = &r->eo;
    fprintf(f, "deletion to %s, insertion from %s, ",
            ev_substrate_name(o->deletion_substrate),
            ev_substrate_name(o->insertion_start));
    if (o->step_pixels > 0)
        fprintf(f, "%d pixels per step", o->step_pixels);
    else
        fprintf(f, "%d steps", o->steps);
}

/* ------------------------------------------------------------------ */
/* The table on stdout                                                */
/* ------------------------------------------------------------------ */

#define CELL 16

static void cell(FILE *f, ev_stat s, bool flag)
{
    char buf[64];
    if (s.n == 0)
        snprintf(buf, sizeof buf, "n/a");
    else if (!isfinite(s.se))
        snprintf(buf, sizeof buf, "%.3f", s.mean);
    else
        snprintf(buf, sizeof buf, "%.3f (%.3f)%s", s.mean, s.se,
                 flag ? "*" : "");
    fprintf(f, "  %-*s", CELL, buf);
}

static void header(FILE *f, const char *first, int k0, int k1)
{
    fprintf(f, "%-10s", first);
    for (int k = k0; k < k1; k++)
        fprintf(f, "  %-*s", CELL, ev_metric[k].title);
}

/* The metrics [k0, k1) of every method, as mean (s.e.) or, with paired,
 * as paired differences to --against. */
static void table_rows(FILE *f, const ev_run *r, int k0, int k1,
                       bool paired, bool time)
{
    header(f, "method", k0, k1);
    fputs(time ? "  s/image\n" : "\n", f);
    for (int m = 0; m < r->n_methods; m++) {
        if (paired && m == r->against)
            continue;
        fprintf(f, "%-10s", name_of(r, m));
        for (int k = k0; k < k1; k++) {
            if (!paired) {
                cell(f, metric_stat(r, m, k), false);
                continue;
            }
            ev_stat s = paired_stat(r, m, k);
            cell(f, s, isfinite(s.se) && fabs(s.mean) > EV_FLAG_SE * s.se);
        }
        if (time)
            fprintf(f, "  %.3f", per_image(&r->m[m], r->n));
        fputc('\n', f);
    }
}

static void truth_line(FILE *f)
{
    fprintf(f, "ground truth (NAME%s): the positive evidence against the "
            "pixels of evidence for the class, the negative against those "
            "of evidence against it; mass and rank accuracy, pointing game "
            "within %d pixels; higher is better; unsigned maps have no "
            "negative columns\n", EV_TRUTH_SUFFIX, DMBP_POINTING_TOLERANCE);
}

void ev_print_table(FILE *f, const ev_run *r)
{
    fprintf(f, "%s: %d images (%s", r->model_path, r->n, r->images_spec);
    if (r->offset)
        fprintf(f, " from %d", r->offset);
    if (r->target >= 0)
        fprintf(f, "); target: class %d\n", r->target);
    else
        fprintf(f, "); target: each image's top class\n");
    settings_line(f, r);
    fprintf(f, "; negative evidence: target logit rise after removing the "
            "%g/%g/%g %% most negative pixels; AOPC: %d regions of %dx%d, "
            "uniform noise; randomisation: %d images, %d stages; seed "
            "%llu\n", 100 * neg_fractions[0], 100 * neg_fractions[1],
            100 * neg_fractions[2], r->aopc_points - 1, r->eo.region_size,
            r->eo.region_size, r->rand_images, r->stages,
            (unsigned long long)r->eo.seed);
    fprintf(f, "mean (standard error); lower is better for deletion and "
            "rand rho, higher for the others\n\n");
    table_rows(f, r, 0, EV_GT_FIRST, false, true);
    if (r->ground_truth) {
        fputc('\n', f);
        truth_line(f);
        table_rows(f, r, EV_GT_FIRST, EV_METRICS, false, false);
    }
    if (r->rand_images > 0) {
        int lw = 5;
        for (int s = 0; s < r->stages; s++)
            if (r->layer_names[s] && (int)strlen(r->layer_names[s]) > lw)
                lw = (int)strlen(r->layer_names[s]);
        fprintf(f, "\nrandomisation: mean Spearman rho of |map|, trained vs "
                "randomised down to the layer (top layer first), %d "
                "images\n%-6s %-*s", r->rand_images, "stage", lw, "layer");
        for (int m = 0; m < r->n_methods; m++)
            fprintf(f, " %10s", name_of(r, m));
        fputc('\n', f);
        for (int s = 0; s < r->stages; s++) {
            const char *ln = r->layer_names[s] ? r->layer_names[s] : "?";
            fprintf(f, "%-6d %-*s", s + 1, lw, ln);
            for (int m = 0; m < r->n_methods; m++) {
                ev_stat st = rho_stat(r, m, s);
                if (st.n)
                    fprintf(f, " %10.3f", st.mean);
                else
                    fprintf(f, " %10s", "n/a");
            }
            fputc('\n', f);
        }
    }
    if (r->against >= 0) {
        fprintf(f, "\npaired differences, method - %s: mean (standard "
                "error), * where |mean| > %g s.e.\n", name_of(r, r->against),
                EV_FLAG_SE);
        table_rows(f, r, 0, ev_num_metrics(r), true, false);
    }
}

/* ------------------------------------------------------------------ */
/* CSV: one row per image and method                                  */
/* ------------------------------------------------------------------ */

/* RFC 4180: quoted when it holds a comma, a quote or a line break. */
static void csv_str(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double v)
{
    fputc(',', f);
    if (isfinite(v))
        fprintf(f, "%.9g", v);
}

void ev_write_csv(FILE *f, const ev_run *r)
{
    int nk = ev_num_metrics(r);
    fputs("image,index,method,target,label,prob", f);
    for (int k = 0; k < nk; k++)
        fprintf(f, ",%s", ev_metric[k].key);
    for (int s = 0; s < r->stages; s++)
        fprintf(f, ",rho_stage_%d", s + 1);
    fputs("\r\n", f);
    for (int i = 0; i < r->n; i++)
        for (int m = 0; m < r->n_methods; m++) {
            const ev_method *em = &r->m[m];
            csv_str(f, r->images->names[i]);
            fprintf(f, ",%d,%s,%d,", r->images->index[i], name_of(r, m),
                    em->target[i]);
            const char *label = cli_label(r->model, r->labels, em->target[i]);
            csv_str(f, label ? label : "");
            csv_num(f, em->prob[i]);
            for (int k = 0; k < nk; k++)
                csv_num(f, em->v[(size_t)i * EV_METRICS + k]);
            for (int s = 0; s < r->stages; s++)
                csv_num(f, i < r->rand_images
                               ? em->rho[(size_t)i * r->stages + s]
                               : NAN);
            fputs("\r\n", f);
        }
}

/* ------------------------------------------------------------------ */
/* JSON: the settings and one object per method                       */
/* ------------------------------------------------------------------ */

static void json_stat(FILE *f, ev_stat s)
{
    fputs("{\"mean\": ", f);
    cli_json_num(f, s.mean);
    fputs(", \"se\": ", f);
    cli_json_num(f, s.se);
    fprintf(f, ", \"n\": %d}", s.n);
}

static void json_curve(FILE *f, const double *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        cli_json_num(f, v[i]);
    }
    fputc(']', f);
}

void ev_write_json(FILE *f, const ev_run *r)
{
    const dmbp_eval_options *o = &r->eo;
    fputs("{\"model\": ", f);
    cli_json_str(f, r->model_path);
    fputs(", \"images\": ", f);
    cli_json_str(f, r->images_spec);
    fprintf(f, ", \"n\": %d, \"offset\": %d, \"target\": ", r->n,
            r->offset);
    if (r->target >= 0)
        fprintf(f, "%d", r->target);
    else
        fputs("\"auto\"", f);
    fputs(", \"seconds\": ", f);
    cli_json_num(f, r->seconds);
    fprintf(f, ",\n \"settings\": {\"steps\": %d, \"step_pixels\": %d, "
            "\"curve_points\": %d, \"substrate\": \"%s\", "
            "\"insertion_start\": \"%s\", \"negative_fractions\": [%g, %g, "
            "%g], \"regions\": %d, \"region_size\": %d, \"seed\": %llu, "
            "\"randomization_images\": %d, \"ground_truth\": %s, "
            "\"pointing_tolerance\": %d, \"dmbp\": ",
            o->step_pixels > 0 ? 0 : o->steps, o->step_pixels, r->points,
            ev_substrate_name(o->deletion_substrate),
            ev_substrate_name(o->insertion_start),
            neg_fractions[0], neg_fractions[1], neg_fractions[2],
            r->aopc_points - 1, o->region_size, (unsigned long long)o->seed,
            r->rand_images, r->ground_truth ? "true" : "false",
            DMBP_POINTING_TOLERANCE);
    if (r->dmbp_settings[0])
        cli_json_str(f, r->dmbp_settings);
    else
        fputs("null", f);
    fputs("},\n \"curve_x\": [", f);
    for (int i = 0; i < r->points; i++)
        fprintf(f, "%s%.9g", i ? ", " : "", ev_curve_x(r, i));
    fputs("],\n \"randomization_layers\": [", f);
    for (int s = 0; s < r->stages && r->rand_images > 0; s++) {
        fputs(s ? ", " : "", f);
        cli_json_str(f, r->layer_names[s] ? r->layer_names[s] : "");
    }
    fputs("],\n \"methods\": [", f);
    for (int m = 0; m < r->n_methods; m++) {
        const ev_method *em = &r->m[m];
        fprintf(f, "%s\n  {\"method\": \"%s\", \"signed\": %s, "
                "\"seconds\": {\"maps\": ", m ? "," : "", name_of(r, m),
                em->has_negative ? "true" : "false");
        cli_json_num(f, em->t_explain);
        fputs(", \"metrics\": ", f);
        cli_json_num(f, em->t_metrics);
        fputs(", \"randomization\": ", f);
        cli_json_num(f, em->t_rand);
        fputs("},\n   \"metrics\": {", f);
        for (int k = 0; k < ev_num_metrics(r); k++) {
            fprintf(f, "%s\"%s\": ", k ? ", " : "", ev_metric[k].key);
            json_stat(f, metric_stat(r, m, k));
        }
        fputs("},\n   \"curves\": {\"deletion\": ", f);
        json_curve(f, em->del_curve, r->points);
        fputs(", \"insertion\": ", f);
        json_curve(f, em->ins_curve, r->points);
        fputs(", \"aopc\": ", f);
        json_curve(f, em->aopc_curve, r->aopc_points);
        fputs("},\n   \"randomization\": [", f);
        for (int s = 0; s < r->stages && r->rand_images > 0; s++) {
            fputs(s ? ", " : "", f);
            json_stat(f, rho_stat(r, m, s));
        }
        fputs("]", f);
        if (r->against >= 0 && m != r->against) {
            fprintf(f, ",\n   \"against\": {\"method\": \"%s\", "
                    "\"metrics\": {", name_of(r, r->against));
            for (int k = 0; k < ev_num_metrics(r); k++) {
                fprintf(f, "%s\"%s\": ", k ? ", " : "", ev_metric[k].key);
                json_stat(f, paired_stat(r, m, k));
            }
            fputs("}}", f);
        }
        fputs("}", f);
    }
    fputs("\n ]}\n", f);
}

/* ------------------------------------------------------------------ */
/* Markdown: the tables of one model, for docs/results.md             */
/* ------------------------------------------------------------------ */

static const char *const md_title[EV_METRICS] = {
    [EV_DELETION] = "deletion AUC ↓",
    [EV_INSERTION] = "insertion AUC ↑",
    [EV_NEG5] = "logit rise, 5 % ↑",
    [EV_NEG10] = "10 % ↑",
    [EV_NEG20] = "20 % ↑",
    [EV_AOPC] = "AOPC ↑",
    [EV_RAND] = "randomisation ρ ↓",
    [EV_POS_MASS] = "+ mass ↑",
    [EV_NEG_MASS] = "− mass ↑",
    [EV_POS_RANK] = "+ rank ↑",
    [EV_NEG_RANK] = "− rank ↑",
    [EV_POS_POINT] = "+ pointing ↑",
    [EV_NEG_POINT] = "− pointing ↑",
};

/* The method with the best mean for metric k (-1: none): the randomisation
 * check is passed best by the correlation nearest 0. */
static int best_method(const ev_run *r, int k)
{
    int best = -1;
    double bv = 0;
    for (int m = 0; m < r->n_methods; m++) {
        ev_stat s = metric_stat(r, m, k);
        if (!s.n)
            continue;
        double v = k == EV_RAND ? -fabs(s.mean)
                                : ev_metric[k].better * s.mean;
        if (best < 0 || v > bv) {
            best = m;
            bv = v;
        }
    }
    return best;
}

static void md_cell(FILE *f, ev_stat s, bool bold, bool flag)
{
    if (!s.n) {
        fputs(" n/a |", f);
        return;
    }
    const char *b = bold ? "**" : "";
    fprintf(f, " %s%.3f%s", b, s.mean, b);
    if (isfinite(s.se))
        fprintf(f, " ± %.3f", s.se);
    fprintf(f, "%s |", flag ? " \\*" : "");
}

static void md_header(FILE *f, const char *first, int k0, int k1,
                      bool time)
{
    fprintf(f, "| %s |", first);
    for (int k = k0; k < k1; k++)
        fprintf(f, " %s |", md_title[k]);
    if (time)
        fputs(" s / image |", f);
    fputs("\n|---|", f);
    for (int k = k0; k < k1; k++)
        fputs("---:|", f);
    if (time)
        fputs("---:|", f);
    fputc('\n', f);
}

/* The metrics [k0, k1) of every method: means with the best in bold and
 * the time per image, or (paired) differences to --against. */
static void md_rows(FILE *f, const ev_run *r, int k0, int k1, bool paired)
{
    md_header(f, "method", k0, k1, !paired);
    int best[EV_METRICS];
    for (int k = k0; k < k1; k++)
        best[k] = best_method(r, k);
    for (int m = 0; m < r->n_methods; m++) {
        if (paired && m == r->against)
            continue;
        fprintf(f, "| %s |", name_of(r, m));
        for (int k = k0; k < k1; k++) {
            if (!paired) {
                md_cell(f, metric_stat(r, m, k), m == best[k], false);
                continue;
            }
            ev_stat s = paired_stat(r, m, k);
            md_cell(f, s, false,
                    isfinite(s.se) && fabs(s.mean) > EV_FLAG_SE * s.se);
        }
        if (!paired)
            fprintf(f, " %.3f |", per_image(&r->m[m], r->n));
        fputc('\n', f);
    }
}

void ev_write_markdown(FILE *f, const ev_run *r)
{
    const char *base = strrchr(r->model_path, '/');
    base = base ? base + 1 : r->model_path;
    fprintf(f, "### %s\n\n", base);
    fprintf(f, "%d images (`%s`", r->n, r->images_spec);
    if (r->offset)
        fprintf(f, " from index %d", r->offset);
    if (r->target >= 0)
        fprintf(f, "), each explained for class %d; ", r->target);
    else
        fputs("), each explained for its top class; ", f);
    settings_line(f, r);
    fprintf(f, ". Mean ± standard error over the images; the best mean of "
            "each column in bold. Run time %.0f s.\n\n", r->seconds);
    md_rows(f, r, 0, EV_GT_FIRST, false);
    if (r->ground_truth) {
        fprintf(f, "\nGround truth (`NAME%s` beside each image): the "
                "positive evidence (+) against the pixels of evidence for "
                "the class, the negative (−) against those of evidence "
                "against it: relevance mass and rank accuracy, pointing "
                "game within %d pixels. Unsigned maps have no − columns; an "
                "image without pixels of a kind does not count in its "
                "columns.\n\n", EV_TRUTH_SUFFIX, DMBP_POINTING_TOLERANCE);
        md_rows(f, r, EV_GT_FIRST, EV_METRICS, false);
    }
    if (r->against >= 0) {
        fprintf(f, "\nPaired differences, method − %s, over the same "
                "images (for ↓ columns a negative difference favours the "
                "method); \\* where |mean| > %g s.e.:\n\n",
                name_of(r, r->against), EV_FLAG_SE);
        md_rows(f, r, 0, EV_GT_FIRST, true);
        if (r->ground_truth) {
            fputc('\n', f);
            md_rows(f, r, EV_GT_FIRST, EV_METRICS, true);
        }
    }
    if (r->rand_images > 0) {
        fprintf(f, "\nModel randomisation, per stage: mean Spearman ρ "
                "between |map| of the trained model and of the model whose "
                "weights are re-drawn from this layer to the top (%d "
                "images; near 0 means the map depends on those weights):\n\n"
                "| stage | layer |", r->rand_images);
        for (int m = 0; m < r->n_methods; m++)
            fprintf(f, " %s |", name_of(r, m));
        fputs("\n|---:|---|", f);
        for (int m = 0; m < r->n_methods; m++)
            fputs("---:|", f);
        fputc('\n', f);
        for (int s = 0; s < r->stages; s++) {
            fprintf(f, "| %d | `%s` |", s + 1,
                    r->layer_names[s] ? r->layer_names[s] : "?");
            for (int m = 0; m < r->n_methods; m++) {
                ev_stat st = rho_stat(r, m, s);
                if (st.n)
                    fprintf(f, " %.3f |", st.mean);
                else
                    fputs(" n/a |", f);
            }
            fputc('\n', f);
        }
    }
}
