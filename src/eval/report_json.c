/* The JSON report of an evaluation: every setting by name (the metrics',
 * each method's own), where and when it ran (the library's version, the
 * CPU, the date), and per method the means, curves and paired
 * differences. */
#include "eval.h"

#include <time.h>

/* The fractions of the negative-evidence metrics. */
static const double neg_fractions[3] = DMBP_EVAL_NEG_FRACTIONS;
/* Longest /proc/cpuinfo line read. */
#define CPUINFO_LINE 512

/* ------------------------------------------------------------------ */
/* JSON: the settings and one object per method                       */
/* ------------------------------------------------------------------ */


/* ------------------------------------------------------------------ */
/* Settings by name                                                   */
/* ------------------------------------------------------------------ */

static const char *baseline_name(dmbp_baseline b)
{
    return b == DMBP_BASELINE_BLACK ? "black"
           : b == DMBP_BASELINE_BLUR ? "blur" : "zero";
}

static void kv_int(FILE *f, const char *key, long long v)
{
    fprintf(f, ", \"%s\": %lld", key, v);
}

static void kv_num(FILE *f, const char *key, double v)
{
    fprintf(f, ", \"%s\": ", key);
    dmbp__json_num(f, "", v, 9);
}

static void kv_str(FILE *f, const char *key, const char *v)
{
    fprintf(f, ", \"%s\": ", key);
    if (v)
        dmbp__json_str(f, v);
    else
        fputs("null", f);
}

/* The options method o->method reads, by their names in dmbp_methods.h;
 * seeds as the run sets them (image i: the run's seed + i). */
static void method_settings(FILE *f, const dmbp_eval_run *r,
                            const dmbp_explain_options *o)
{
    static const char *const rules[] = {"midpoint", "trapezoid", "left",
                                        "right"};
    fprintf(f, "{\"max_lanes\": %d, \"fpmath\": \"%s\"", o->max_lanes,
            o->fpmath == DMBP_FPMATH_STRICT ? "strict" : "bf16");
    unsigned long long seed = (unsigned long long)r->o.seed;
    const dmbp_dmbp_options *d = &o->dmbp;
    switch (o->method) {
    case DMBP_METHOD_SALIENCY:
        kv_int(f, "abs", o->saliency.abs);
        break;
    case DMBP_METHOD_IG:
        kv_int(f, "steps", o->ig.steps);
        kv_str(f, "baseline", baseline_name(o->ig.baseline));
        kv_str(f, "rule", (unsigned)o->ig.rule < 4 ? rules[o->ig.rule] : "?");
        break;
    case DMBP_METHOD_SMOOTHGRAD:
        kv_int(f, "samples", o->smoothgrad.samples);
        kv_num(f, "sigma", o->smoothgrad.sigma);
        kv_int(f, "of_gradient", o->smoothgrad.of_gradient);
        fprintf(f, ", \"seed\": %llu", seed);
        break;
    case DMBP_METHOD_GRADCAM:
    case DMBP_METHOD_GRADCAMPP:
    case DMBP_METHOD_SCORECAM:
        kv_str(f, "layer", o->gradcam.layer);
        break;
    case DMBP_METHOD_OCCLUSION:
        kv_int(f, "window", o->occlusion.window);
        kv_int(f, "stride", o->occlusion.stride);
        kv_str(f, "baseline", baseline_name(o->occlusion.baseline));
        break;
    case DMBP_METHOD_RISE:
        kv_int(f, "masks", o->rise.masks);
        kv_int(f, "grid", o->rise.grid);
        kv_num(f, "p", o->rise.p);
        fprintf(f, ", \"seed\": %llu", seed);
        break;
    case DMBP_METHOD_DMBP:
        kv_int(f, "iterations", d->iterations);
        kv_num(f, "lr", d->lr);
        kv_num(f, "init_logit", d->init_logit);
        kv_num(f, "w_completeness", d->w_completeness);
        kv_num(f, "w_sign", d->w_sign);
        kv_num(f, "w_nuisance", d->w_nuisance);
        kv_num(f, "w_evidence", d->w_evidence);
        kv_num(f, "w_sparsity", d->w_sparsity);
        kv_int(f, "samples", d->samples);
        kv_num(f, "sigma", d->sigma);
        fprintf(f, ", \"seed\": %llu", seed);
        kv_num(f, "tol", d->tol);
        kv_int(f, "tol_window", d->tol_window);
        kv_int(f, "path_steps", d->path_steps);
        kv_str(f, "mask_init", d->mask_init == DMBP_MASK_INIT_CONTRIBUTION
                                   ? "contribution" : "constant");
        kv_int(f, "path_refresh", o->dmbp_path_refresh);
        kv_int(f, "fix_negative", o->dmbp_fix_negative);
        break;
    default:
        break;
    }
    fputc('}', f);
}

/* The CPU's "model name" from /proc/cpuinfo, or NULL. */
static char *cpu_model(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return NULL;
    char line[CPUINFO_LINE], *out = NULL;
    while (!out && fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", strlen("model name")) || !colon)
            continue;
        colon++;
        while (*colon == ' ' || *colon == '\t')
            colon++;
        out = dmbp__strdup(colon);
        if (out)
            out[strcspn(out, "\r\n")] = 0;
    }
    fclose(f);
    return out;
}

/* The library, the CPU and the date the run finished (UTC). */
static void environment(FILE *f, const dmbp_eval_run *r)
{
    fputs(", \"library\": {\"name\": \"libdmbp\", \"version\": ", f);
    dmbp__json_str(f, dmbp_version());
    char *cpu = cpu_model();
    fputs("}, \"cpu\": ", f);
    if (cpu)
        dmbp__json_str(f, cpu);
    else
        fputs("null", f);
    free(cpu);
    char date[32] = "";
    struct tm tm;
    time_t t = r->finished_at;
    if (gmtime_r(&t, &tm))
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fputs(", \"date\": ", f);
    dmbp__json_str(f, date);
    fprintf(f, ", \"threads\": %d", dmbp_get_num_threads());
}

static void json_stat(FILE *f, dmbp__ev_stat s)
{
    fputs("{\"mean\": ", f);
    dmbp__json_num(f, "", s.mean, 9);
    fputs(", \"se\": ", f);
    dmbp__json_num(f, "", s.se, 9);
    fprintf(f, ", \"n\": %d}", s.n);
}

static void json_curve(FILE *f, const double *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i)
            fputs(", ", f);
        dmbp__json_num(f, "", v[i], 9);
    }
    fputc(']', f);
}

void dmbp__ev_write_json(FILE *f, const dmbp_eval_run *r)
{
    const dmbp_eval_options *o = &r->eo;
    fputs("{\"model\": ", f);
    dmbp__json_str(f, r->model_name);
    fputs(", \"images\": ", f);
    dmbp__json_str(f, r->images_name);
    fprintf(f, ", \"n\": %d, \"offset\": %d, \"target\": ", r->n,
            r->o.offset);
    if (r->o.target >= 0)
        fprintf(f, "%d", r->o.target);
    else
        fputs(r->o.target == DMBP_EVAL_TARGET_TRUE ? "\"true\"" : "\"auto\"",
              f);
    fputs(", \"seconds\": ", f);
    dmbp__json_num(f, "", r->seconds, 9);
    environment(f, r);
    fprintf(f, ",\n \"settings\": {\"steps\": %d, \"step_pixels\": %d, "
            "\"curve_points\": %d, \"substrate\": \"%s\", "
            "\"insertion_start\": \"%s\", \"negative_fractions\": [%g, %g, "
            "%g], \"regions\": %d, \"region_size\": %d, \"seed\": %llu, "
            "\"randomization_images\": %d, \"ground_truth\": %s, "
            "\"pointing_tolerance\": %d, \"max_lanes\": %d",
            o->step_pixels > 0 ? 0 : o->steps, o->step_pixels, r->points,
            dmbp__ev_substrate_name(o->deletion_substrate),
            dmbp__ev_substrate_name(o->insertion_start),
            neg_fractions[0], neg_fractions[1], neg_fractions[2],
            r->aopc_points - 1, o->region_size, (unsigned long long)o->seed,
            r->rand_images, r->o.ground_truth ? "true" : "false",
            DMBP_POINTING_TOLERANCE, o->max_lanes);
    fputs("},\n \"curve_x\": [", f);
    for (int i = 0; i < r->points; i++)
        fprintf(f, "%s%.9g", i ? ", " : "", dmbp__ev_curve_x(r, i));
    fputs("],\n \"randomization_layers\": [", f);
    for (int s = 0; s < r->stages && r->rand_images > 0; s++) {
        fputs(s ? ", " : "", f);
        dmbp__json_str(f, r->layer_names[s] ? r->layer_names[s] : "");
    }
    fputs("],\n \"methods\": [", f);
    for (int m = 0; m < r->n_methods; m++) {
        const dmbp__ev_method *em = &r->m[m];
        fprintf(f, "%s\n  {\"method\": \"%s\", \"signed\": %s, "
                "\"seconds\": {\"maps\": ", m ? "," : "", dmbp_method_name(em->o.method),
                em->has_negative ? "true" : "false");
        dmbp__json_num(f, "", em->t_explain, 9);
        fputs(", \"metrics\": ", f);
        dmbp__json_num(f, "", em->t_metrics, 9);
        fputs(", \"randomization\": ", f);
        dmbp__json_num(f, "", em->t_rand, 9);
        fputs("},\n   \"settings\": ", f);
        method_settings(f, r, &em->o);
        fputs(",\n   \"metrics\": {", f);
        for (int k = 0; k < dmbp__ev_num_metrics(r); k++) {
            fprintf(f, "%s\"%s\": ", k ? ", " : "", dmbp_eval_metric_name(k));
            json_stat(f, dmbp__ev_metric_stat(r, m, k));
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
            json_stat(f, dmbp__ev_rho_stat(r, m, s));
        }
        fputs("]", f);
        if (r->against >= 0 && m != r->against) {
            fprintf(f, ",\n   \"against\": {\"method\": \"%s\", "
                    "\"metrics\": {", dmbp_method_name(r->m[r->against].o.method));
            for (int k = 0; k < dmbp__ev_num_metrics(r); k++) {
                fprintf(f, "%s\"%s\": ", k ? ", " : "", dmbp_eval_metric_name(k));
                json_stat(f, dmbp__ev_paired_stat(r, m, k));
            }
            fputs("}}", f);
        }
        fputs("}", f);
    }
    fputs("\n ]}\n", f);
}

