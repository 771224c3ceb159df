/* What dmbp explain and dmbp masks share: the method options, and loading
 * + preprocessing + one explainer call over every image. */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cli_check_colormap(const cli_flags *f, dmbp_method method,
                       bool is_signed)
{
    /* --colormap's choices: default, then two diverging, two sequential. */
    if (f->given[CLI_O_COLORMAP] && f->colormap != DMBP_COLORMAP_DEFAULT &&
        is_signed != (f->colormap == DMBP_COLORMAP_SEISMIC ||
                      f->colormap == DMBP_COLORMAP_BWR)) {
        char name[32];
        return cli_usage_error("--colormap %s: --method %s%s draws %s maps: "
                               "use %s (or default)",
                               cli_choice(CLI_O_COLORMAP, f->colormap, name,
                                          sizeof name),
                               dmbp_method_name(method),
                               f->abs && method == DMBP_METHOD_SALIENCY
                                   ? " --abs" : "",
                               is_signed ? "signed" : "non-negative",
                               is_signed ? "seismic or bwr" : "reds or inferno");
    }
    return EXIT_OK;
}

int cli_check_explain(const cli_flags *f, dmbp_method method,
                      const dmbp_model *m)
{
#define GIVEN(ID) (f->given[CLI_O_##ID])
    if (method == DMBP_METHOD_RISE && GIVEN(KEEP) && f->keep > 1)
        return cli_usage_error("--keep '%g': expected a probability above "
                               "0, at most 1", (double)f->keep);
    if (method == DMBP_METHOD_IG && GIVEN(IG_RULE) &&
        f->ig_rule == DMBP_IG_TRAPEZOID && GIVEN(STEPS) && f->steps < 2)
        return cli_usage_error("--ig-rule trapezoid needs --steps 2 or more");
    if (method == DMBP_METHOD_DMBP && GIVEN(PATH_STEPS) &&
        f->path_steps > 0 && GIVEN(SAMPLES) && f->samples > 1)
        return cli_usage_error("--path-steps %d and --samples %d: path DMBP "
                               "and the smoothed variant cannot be combined",
                               f->path_steps, f->samples);
#undef GIVEN
    dmbp_explain_options o;
    int rc = cli_explain_options(f, method, NULL, &o);
    if (rc)
        return rc;
    dmbp_status st = dmbp_explain_check(m, &o);
    if (st == DMBP_ERR_ARG && f->layer)
        return cli_usage_error("--layer: %s", dmbp_last_error());
    if (st == DMBP_ERR_ARG)
        return cli_usage_error("%s", dmbp_last_error());
    return st ? cli_fail(st) : EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* Loading, preprocessing, explaining                                 */
/* ------------------------------------------------------------------ */

void cli_xrun_free(cli_xrun *run)
{
    dmbp_result_free(run->r);
    if (run->bg)
        for (int i = 0; i < run->n; i++)
            dmbp_image_free(&run->bg[i]);
    free(run->bg);
    dmbp_session_free(run->ex);
    dmbp_model_free(run->m);
    cli_names_free(&run->labels);
    cli_targets_free(&run->tg);
    int first = run->first, set_size = run->set_size;
    memset(run, 0, sizeof *run);
    /* Which images of which set: kept for the next prepare. */
    run->first = first;
    run->set_size = set_size;
}

const char *cli_xrun_label(const cli_xrun *run, int cls)
{
    return cli_label(run->m, &run->labels, cls);
}

int cli_xrun_prepare(cli_xrun *run, const char *model, const cli_args *a)
{
    const cli_flags *f = &a->f;
    dmbp_status st = dmbp_model_load(model, &run->m);
    if (!st)
        st = dmbp_session_create(run->m, &run->ex);
    if (st)
        return cli_fail(st);
    if (f->labels) {
        int rc = cli_labels_read(f->labels, dmbp_model_num_classes(run->m),
                                 &run->labels);
        if (rc)
            return rc;
    }
    /* An image set's targets, all of them, before its first image. */
    if (run->set_size > 0)
        return cli_targets_load(f, run->m, &run->labels, run->set_size, true,
                                &run->tg);
    return EXIT_OK;
}

int cli_xrun_images(cli_xrun *run, const char **images, int n,
                    const cli_args *a, dmbp_method method)
{
    const cli_flags *f = &a->f;
    /* A run explains one set at a time: drop the previous one's. */
    dmbp_result_free(run->r);
    run->r = NULL;
    if (run->bg)
        for (int i = 0; i < run->n; i++)
            dmbp_image_free(&run->bg[i]);
    free(run->bg);
    run->bg = NULL;
    run->n = 0;
    dmbp_status st;
    int rc;
    dmbp_preprocess_options pre;
    rc = cli_apply_pre(run->m, f, &pre);
    if (rc)
        return rc;
    dmbp_explain_options o;
    rc = cli_explain_options(f, method, &pre, &o);
    if (rc)
        return rc;

    run->pre = pre;
    run->bg = calloc((size_t)n, sizeof *run->bg);
    int *targets = malloc((size_t)n * sizeof *targets);
    if (!run->bg || !targets) {
        free(targets);
        return cli_oom();
    }
    run->n = n;
    for (int i = 0; i < n && !rc; i++)
        if ((st = cli_load_image(images[i], f, &run->bg[i])))
            rc = cli_fail(st);
    if (!rc && !run->tg.n)
        rc = cli_targets_load(f, run->m, &run->labels, n, true, &run->tg);
    if (!rc)
        rc = cli_targets_for(&run->tg, run->first, n, targets);
    if (rc) {
        free(targets);
        return rc;
    }
    /* Every method's progress on a terminal (an image set's images come
     * one at a time: their line counts the set's). */
    dmbp_progress p;
    dmbp_progress_start(&p, !f->quiet && isatty(2) ? stderr : NULL, method,
                        run->set_size > 0 ? run->first : 0, n,
                        run->set_size > 0 ? run->set_size : n);
    if (p.out) {
        o.progress = dmbp_progress_explain;
        o.progress_user = &p;
    }
    /* Image i of a call draws its noise from seed + i (SmoothGrad, DMBP's
     * smoothed variant): images of a set explained one at a time draw
     * from seed + their index in the set, as in one call of all. */
    if (run->set_size > 0) {
        o.smoothgrad.seed += (uint64_t)run->first;
        o.dmbp.seed += (uint64_t)run->first;
    }
    /* Image sets (set_size > 0) come here one image at a time: the
     * session's plans serve them all. One call alone frees each plan
     * before it makes the next, which keeps its peak memory lower. */
    dmbp_session_keep_plans(run->ex, run->set_size > 0);
    st = dmbp_explain_images(run->ex, run->bg, images, n, &pre, targets, &o,
                             &run->r);
    dmbp_progress_clear(&p);
    free(targets);
    return st ? cli_fail(st) : EXIT_OK;
}
