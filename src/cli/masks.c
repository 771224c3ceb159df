/* dmbp masks MODEL IMAGE: DMBP's learned filter masks as JSON, and which
 * filters carry the positive and the negative evidence. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MASKS_DEFAULT_TOP 5

static void json_number(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputs("null", f);
}

static void json_masks(FILE *f, const cli_xrun *run, int image,
                       const char *image_name)
{
    const dmbp_result *r = run->r;
    fputs("{\"image\": ", f);
    cli_json_str(f, image_name);
    fprintf(f, ", \"target\": %d, \"layers\": [",
            dmbp_result_target(r, image));
    const float *set[2] = {dmbp_result_masks(r, image, 0),
                           dmbp_result_masks(r, image, 1)};
    for (int l = 0; l < dmbp_result_num_mask_layers(r); l++) {
        const char *name;
        int channels;
        int64_t offset;
        if (dmbp_result_mask_layer(r, l, &name, &channels, &offset))
            continue; /* l is in range: cannot fail */
        fprintf(f, "%s{\"name\": ", l ? ", " : "");
        cli_json_str(f, name);
        fprintf(f, ", \"channels\": %d", channels);
        for (int s = 0; s < 2; s++) {
            fprintf(f, ", \"%s\": [", s ? "m_neg" : "m_pos");
            for (int k = 0; k < channels; k++) {
                if (k)
                    fputs(", ", f);
                json_number(f, set[s][offset + k]);
            }
            fputc(']', f);
        }
        fputc('}', f);
    }
    fputs("]}\n", f);
}

/* Written to a temporary file beside path, renamed over it once complete:
 * a failure leaves neither a partial file nor the temporary one. */
typedef struct masks_ctx {
    const cli_xrun *run;
    int image;
    const char *image_name;
} masks_ctx;

static void write_masks(FILE *f, const void *ctx)
{
    const masks_ctx *c = ctx;
    json_masks(f, c->run, c->image, c->image_name);
}

int cli_masks_write(const char *path, const cli_xrun *run, int image,
                    const char *image_name)
{
    masks_ctx c = {run, image, image_name};
    return cli_write_atomic(path, write_masks, &c);
}

/* The k largest of v[0..n), ties to the lower index, into idx. */
static int top_k(const float *v, int n, int k, int *idx, char *taken)
{
    memset(taken, 0, (size_t)n);
    if (k > n)
        k = n;
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!taken[i] && (best < 0 || v[i] > v[best]))
                best = i;
        taken[best] = 1;
        idx[j] = best;
    }
    return k;
}

static int print_top(const cli_xrun *run, int top)
{
    const dmbp_result *r = run->r;
    int max_ch = 0, nl = dmbp_result_num_mask_layers(r);
    for (int l = 0; l < nl; l++) {
        const char *name;
        int ch;
        int64_t off;
        if (!dmbp_result_mask_layer(r, l, &name, &ch, &off) && ch > max_ch)
            max_ch = ch;
    }
    int *idx = malloc((size_t)(max_ch ? max_ch : 1) * sizeof *idx);
    char *taken = malloc((size_t)(max_ch ? max_ch : 1));
    if (!idx || !taken) {
        free(idx);
        free(taken);
        fprintf(stderr, "dmbp: out of memory\n");
        return EXIT_INTERNAL;
    }
    for (int l = 0; l < nl; l++) {
        const char *name;
        int ch;
        int64_t off;
        if (dmbp_result_mask_layer(r, l, &name, &ch, &off))
            continue;
        printf("%s (%d channels)\n", name, ch);
        for (int s = 0; s < 2; s++) {
            const float *m = dmbp_result_masks(r, 0, s) + off;
            int k = top_k(m, ch, top, idx, taken);
            printf("  %s", s ? "m-" : "m+");
            for (int j = 0; j < k; j++)
                printf("  %d:%.4f", idx[j], m[idx[j]]);
            printf("\n");
        }
    }
    free(idx);
    free(taken);
    return EXIT_OK;
}

int cmd_masks(int argc, char **argv)
{
    cli_args a;
    const char *model = NULL, *image = NULL, *out = NULL;
    int top = MASKS_DEFAULT_TOP;
    char *path = NULL;
    cli_xrun run = {0};
    int rc = cli_args_parse(CMD_MASKS, argc, argv, &a);
    if (!rc && a.n_pos < 1)
        rc = cli_usage_error("masks: which model?");
    if (!rc && a.n_pos < 2)
        rc = cli_usage_error("masks: no image given");
    if (!rc && a.n_pos > 2)
        rc = cli_usage_error("masks: one image at a time");
    if (!rc)
        rc = cli_check_methods(&a, MB(DMBP), "masks (DMBP)");
    if (rc) {
        cli_args_free(&a);
        return rc < 0 ? EXIT_OK : rc;
    }
    model = a.pos[0];
    image = a.pos[1];
    out = a.f.out;
    if (a.f.given[CLI_O_TOP])
        top = a.f.top;
    if (out) {
        path = strdup(out);
    } else {
        char *stem = cli_stem(image);
        if (stem) {
            size_t len = strlen(stem) + sizeof "-masks.json";
            path = malloc(len);
            if (path)
                snprintf(path, len, "%s-masks.json", stem);
        }
        free(stem);
    }
    if (!path) {
        fprintf(stderr, "dmbp: out of memory\n");
        return EXIT_INTERNAL;
    }
    rc = cli_check_writable_dir(path);
    if (!rc)
        rc = cli_xrun_explain(&run, model, &image, 1, &a, DMBP_METHOD_DMBP);
    if (!rc)
        rc = cli_masks_write(path, &run, 0, image);
    if (!rc) {
        int t = dmbp_result_target(run.r, 0);
        const char *label = cli_xrun_label(&run, t);
        printf("%s: class %d (%s) logit %.4f p=%.4f -> %s\n", image, t,
               label ? label : "-", dmbp_result_logit(run.r, 0),
               dmbp_result_prob(run.r, 0), path);
        rc = print_top(&run, top);
    }
    cli_xrun_free(&run);
    free(path);
    cli_args_free(&a);
    return rc;
}
