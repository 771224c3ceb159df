/* The reports of an evaluation (dmbp_eval_run_write): the text table, the
 * CSV, JSON and Markdown files (the JSON and the SVG plot are
 * report_json.c's and report_svg.c's; the statistics all of them print
 * are report_stats.c's). */
#include "eval.h"
#include "io/io.h" /* dmbp__write_whole_from */

#include <errno.h>

/* |mean| beyond this many standard errors is flagged in the paired table
 * (roughly p < 0.05 for a normal mean). */
#define FLAG_SE 2.0

typedef struct ev_metric_info {
    const char *title;   /* table heading */
    int better;          /* +1 higher is better, -1 lower */
} ev_metric_info;

static const ev_metric_info metric_info[DMBP_EVAL_NUM_METRICS] = {
    [DMBP_EVAL_DELETION] = {"deletion", -1},
    [DMBP_EVAL_INSERTION] = {"insertion", +1},
    [DMBP_EVAL_NEG5] = {"neg 5%", +1},
    [DMBP_EVAL_NEG10] = {"neg 10%", +1},
    [DMBP_EVAL_NEG20] = {"neg 20%", +1},
    [DMBP_EVAL_AOPC] = {"AOPC", +1},
    [DMBP_EVAL_RAND] = {"rand rho", -1},
    [DMBP_EVAL_POS_MASS] = {"pos mass", +1},
    [DMBP_EVAL_NEG_MASS] = {"neg mass", +1},
    [DMBP_EVAL_POS_RANK] = {"pos rank", +1},
    [DMBP_EVAL_NEG_RANK] = {"neg rank", +1},
    [DMBP_EVAL_POS_POINT] = {"pos pointing", +1},
    [DMBP_EVAL_NEG_POINT] = {"neg pointing", +1},
};

/* Seconds per image for the maps and the metrics (not randomisation). */
static double per_image(const dmbp__ev_method *m, int n)
{
    return (m->t_explain + m->t_metrics) / (n > 0 ? n : 1);
}

static const char *name_of(const dmbp_eval_run *r, int k)
{
    return dmbp_method_name(r->m[k].o.method);
}

/* "the 5/10/20 %" from DMBP_EVAL_NEG_FRACTIONS. */
static const double neg_fractions[3] = DMBP_EVAL_NEG_FRACTIONS;

static void settings_line(FILE *f, const dmbp_eval_run *r)
{
    const dmbp_eval_options *o = &r->eo;
    fprintf(f, "deletion to %s, insertion from %s, ",
            dmbp__ev_substrate_name(o->deletion_substrate),
            dmbp__ev_substrate_name(o->insertion_start));
    if (o->step_pixels > 0)
        fprintf(f, "%d pixels per step", o->step_pixels);
    else
        fprintf(f, "%d steps", o->steps);
}

/* ------------------------------------------------------------------ */
/* The table on stdout                                                */
/* ------------------------------------------------------------------ */

#define CELL 16

static void cell(FILE *f, dmbp__ev_stat s, bool flag)
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
        fprintf(f, "  %-*s", CELL, metric_info[k].title);
}

/* The metrics [k0, k1) of every method, as mean (s.e.) or, with paired,
 * as paired differences to --against. */
static void table_rows(FILE *f, const dmbp_eval_run *r, int k0, int k1,
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
                cell(f, dmbp__ev_metric_stat(r, m, k), false);
                continue;
            }
            dmbp__ev_stat s = dmbp__ev_paired_stat(r, m, k);
            cell(f, s, isfinite(s.se) && fabs(s.mean) > FLAG_SE * s.se);
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
            "negative columns\n", DMBP_TRUTH_SUFFIX, DMBP_POINTING_TOLERANCE);
}

static void write_table(FILE *f, const dmbp_eval_run *r)
{
    fprintf(f, "%s: %d images (%s", r->model_name, r->n, r->images_name);
    if (r->o.offset)
        fprintf(f, " from %d", r->o.offset);
    if (r->o.target >= 0)
        fprintf(f, "); target: class %d\n", r->o.target);
    else
        fprintf(f, "); target: each image's %s class\n",
                r->o.target == DMBP_EVAL_TARGET_TRUE ? "true" : "top");
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
    table_rows(f, r, 0, DMBP_EVAL_TRUTH_FIRST, false, true);
    if (r->o.ground_truth) {
        fputc('\n', f);
        truth_line(f);
        table_rows(f, r, DMBP_EVAL_TRUTH_FIRST, DMBP_EVAL_NUM_METRICS, false, false);
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
                dmbp__ev_stat st = dmbp__ev_rho_stat(r, m, s);
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
                FLAG_SE);
        table_rows(f, r, 0, dmbp__ev_num_metrics(r), true, false);
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

static void write_csv(FILE *f, const dmbp_eval_run *r)
{
    int nk = dmbp__ev_num_metrics(r);
    fputs("image,index,method,target,label,true_class,true_label,prob", f);
    for (int k = 0; k < nk; k++)
        fprintf(f, ",%s", dmbp_eval_metric_name(k));
    for (int s = 0; s < r->stages; s++)
        fprintf(f, ",rho_stage_%d", s + 1);
    fputs("\r\n", f);
    for (int i = 0; i < r->n; i++)
        for (int m = 0; m < r->n_methods; m++) {
            const dmbp__ev_method *em = &r->m[m];
            csv_str(f, r->names[i]);
            fprintf(f, ",%d,%s,%d,", r->index[i], name_of(r, m),
                    em->target[i]);
            const char *label = dmbp__ev_label(r, em->target[i]);
            csv_str(f, label ? label : "");
            fputc(',', f);
            if (r->truth_cls[i] >= 0)
                fprintf(f, "%d", r->truth_cls[i]);
            fputc(',', f);
            label = dmbp__ev_label(r, r->truth_cls[i]);
            csv_str(f, label ? label : "");
            csv_num(f, em->prob[i]);
            for (int k = 0; k < nk; k++)
                csv_num(f, em->v[(size_t)i * DMBP_EVAL_NUM_METRICS + k]);
            for (int s = 0; s < r->stages; s++)
                csv_num(f, i < r->rand_images
                               ? em->rho[(size_t)i * r->stages + s]
                               : NAN);
            fputs("\r\n", f);
        }
}

/* ------------------------------------------------------------------ */
/* Markdown: the tables of one model, for docs/results.md             */
/* ------------------------------------------------------------------ */

static const char *const md_title[DMBP_EVAL_NUM_METRICS] = {
    [DMBP_EVAL_DELETION] = "deletion AUC ↓",
    [DMBP_EVAL_INSERTION] = "insertion AUC ↑",
    [DMBP_EVAL_NEG5] = "logit rise, 5 % ↑",
    [DMBP_EVAL_NEG10] = "10 % ↑",
    [DMBP_EVAL_NEG20] = "20 % ↑",
    [DMBP_EVAL_AOPC] = "AOPC ↑",
    [DMBP_EVAL_RAND] = "randomisation ρ ↓",
    [DMBP_EVAL_POS_MASS] = "+ mass ↑",
    [DMBP_EVAL_NEG_MASS] = "− mass ↑",
    [DMBP_EVAL_POS_RANK] = "+ rank ↑",
    [DMBP_EVAL_NEG_RANK] = "− rank ↑",
    [DMBP_EVAL_POS_POINT] = "+ pointing ↑",
    [DMBP_EVAL_NEG_POINT] = "− pointing ↑",
};

/* The method with the best mean for metric k (-1: none): the randomisation
 * check is passed best by the correlation nearest 0. */
static int best_method(const dmbp_eval_run *r, int k)
{
    int best = -1;
    double bv = 0;
    for (int m = 0; m < r->n_methods; m++) {
        dmbp__ev_stat s = dmbp__ev_metric_stat(r, m, k);
        if (!s.n)
            continue;
        double v = k == DMBP_EVAL_RAND ? -fabs(s.mean)
                                : metric_info[k].better * s.mean;
        if (best < 0 || v > bv) {
            best = m;
            bv = v;
        }
    }
    return best;
}

static void md_cell(FILE *f, dmbp__ev_stat s, bool bold, bool flag)
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
static void md_rows(FILE *f, const dmbp_eval_run *r, int k0, int k1, bool paired)
{
    md_header(f, "method", k0, k1, !paired);
    int best[DMBP_EVAL_NUM_METRICS];
    for (int k = k0; k < k1; k++)
        best[k] = best_method(r, k);
    for (int m = 0; m < r->n_methods; m++) {
        if (paired && m == r->against)
            continue;
        fprintf(f, "| %s |", name_of(r, m));
        for (int k = k0; k < k1; k++) {
            if (!paired) {
                md_cell(f, dmbp__ev_metric_stat(r, m, k), m == best[k], false);
                continue;
            }
            dmbp__ev_stat s = dmbp__ev_paired_stat(r, m, k);
            md_cell(f, s, false,
                    isfinite(s.se) && fabs(s.mean) > FLAG_SE * s.se);
        }
        if (!paired)
            fprintf(f, " %.3f |", per_image(&r->m[m], r->n));
        fputc('\n', f);
    }
}

static void write_markdown(FILE *f, const dmbp_eval_run *r)
{
    const char *base = strrchr(r->model_name, '/');
    base = base ? base + 1 : r->model_name;
    fprintf(f, "### %s\n\n", base);
    fprintf(f, "%d images (`%s`", r->n, r->images_name);
    if (r->o.offset)
        fprintf(f, " from index %d", r->o.offset);
    if (r->o.target >= 0)
        fprintf(f, "), each explained for class %d; ", r->o.target);
    else
        fprintf(f, "), each explained for its %s class; ",
                r->o.target == DMBP_EVAL_TARGET_TRUE ? "true" : "top");
    settings_line(f, r);
    fprintf(f, ". Mean ± standard error over the images; the best mean of "
            "each column in bold. Run time %.0f s.\n\n", r->seconds);
    md_rows(f, r, 0, DMBP_EVAL_TRUTH_FIRST, false);
    if (r->o.ground_truth) {
        fprintf(f, "\nGround truth (`NAME%s` beside each image): the "
                "positive evidence (+) against the pixels of evidence for "
                "the class, the negative (−) against those of evidence "
                "against it: relevance mass and rank accuracy, pointing "
                "game within %d pixels. Unsigned maps have no − columns; an "
                "image without pixels of a kind does not count in its "
                "columns.\n\n", DMBP_TRUTH_SUFFIX, DMBP_POINTING_TOLERANCE);
        md_rows(f, r, DMBP_EVAL_TRUTH_FIRST, DMBP_EVAL_NUM_METRICS, false);
    }
    if (r->against >= 0) {
        fprintf(f, "\nPaired differences, method − %s, over the same "
                "images (for ↓ columns a negative difference favours the "
                "method); \\* where |mean| > %g s.e.:\n\n",
                name_of(r, r->against), FLAG_SE);
        md_rows(f, r, 0, DMBP_EVAL_TRUTH_FIRST, true);
        if (r->o.ground_truth) {
            fputc('\n', f);
            md_rows(f, r, DMBP_EVAL_TRUTH_FIRST, DMBP_EVAL_NUM_METRICS, true);
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
                dmbp__ev_stat st = dmbp__ev_rho_stat(r, m, s);
                if (st.n)
                    fprintf(f, " %.3f |", st.mean);
                else
                    fputs(" n/a |", f);
            }
            fputc('\n', f);
        }
    }
}

dmbp_status dmbp_eval_run_write(const dmbp_eval_run *r,
                                dmbp_eval_report format, FILE *f)
{
    static void (*const write[])(FILE *, const dmbp_eval_run *) = {
        [DMBP_EVAL_REPORT_TABLE] = write_table,
        [DMBP_EVAL_REPORT_CSV] = write_csv,
        [DMBP_EVAL_REPORT_JSON] = dmbp__ev_write_json,
        [DMBP_EVAL_REPORT_MARKDOWN] = write_markdown,
        [DMBP_EVAL_REPORT_SVG] = dmbp__ev_write_svg};
    if (!r || !f || (unsigned)format >= sizeof write / sizeof *write)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_write: NULL "
                              "argument or report %d unknown", (int)format);
    if (!r->finished)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_write: the run "
                              "is not finished (dmbp_eval_run_finish)");
    write[format](f, r);
    if (ferror(f))
        return dmbp_set_error(DMBP_ERR_IO, "write error: %s",
                              strerror(errno));
    return DMBP_OK;
}

struct report_job {
    const dmbp_eval_run *r;
    dmbp_eval_report format;
};

static dmbp_status write_report_job(const void *ctx, FILE *f)
{
    const struct report_job *j = ctx;
    return dmbp_eval_run_write(j->r, j->format, f);
}

dmbp_status dmbp_eval_run_write_file(const dmbp_eval_run *r,
                                     dmbp_eval_report format,
                                     const char *path)
{
    if (!path)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_eval_run_write_file: "
                              "NULL path");
    /* Whole or not at all, as every writer of the library writes. */
    struct report_job job = {r, format};
    return dmbp__write_whole_from(path, write_report_job, &job);
}
