/* dmbp explain MODEL IMAGE...: attribution maps as PNG overlays and .npy
 * arrays (the options and the computation are in explain_run.c). */
#include "cli.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int out_of_memory(void)
{
    fprintf(stderr, "dmbp: out of memory\n");
    return EXIT_INTERNAL;
}

/* ------------------------------------------------------------------ */
/* Output names                                                       */
/* ------------------------------------------------------------------ */

/* malloc'ed "<a><b><c>". */
static char *concat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, c, lc + 1);
    }
    return s;
}

/* Image i's output prefix: -o as given for one image, "<o>-<i>" for
 * several, else "<stem>-<method>" in the current directory. */
static char *prefix_for(const char *out, const char *image, int i, int n,
                        dmbp_method method)
{
    char num[16];
    if (out && n == 1)
        return concat3(out, "", "");
    if (out) {
        snprintf(num, sizeof num, "-%d", i + 1);
        return concat3(out, num, "");
    }
    char *stem = cli_stem(image);
    if (!stem)
        return NULL;
    char *s = concat3(stem, "-", dmbp_method_name(method));
    free(stem);
    return s;
}

/* --masks FILE for image i of n: FILE itself for one image, else with
 * "-<i>" before a final ".json" (appended when there is none). */
static char *masks_path_for(const char *file, int i, int n)
{
    if (n == 1)
        return concat3(file, "", "");
    char num[16];
    snprintf(num, sizeof num, "-%d", i + 1);
    size_t len = strlen(file);
    if (len > 5 && !strcasecmp(file + len - 5, ".json")) {
        char *head = malloc(len - 4);
        if (!head)
            return NULL;
        memcpy(head, file, len - 5);
        head[len - 5] = 0;
        char *s = concat3(head, num, file + len - 5);
        free(head);
        return s;
    }
    return concat3(file, num, "");
}

/* ------------------------------------------------------------------ */
/* Writing the results                                                */
/* ------------------------------------------------------------------ */

typedef struct explain_opts {
    cli_args a;
    dmbp_method method;
    const char *out;    /* -o PREFIX */
    const char *masks;  /* --masks FILE */
    bool json;
} explain_opts;

/* One image's output files, in the order they are written. */
enum { OUT_PNG, OUT_POS, OUT_NEG, OUT_MAPPINGS, OUT_NPY, OUT_MASKS, OUT_N };
static const char *const out_kind[OUT_N] = {"png", "pos", "neg", "mappings",
                                             "npy", "masks"};

typedef struct writer {
    const cli_xrun *run;
    int64_t dims[3];    /* the result's C x H x W */
    size_t per;         /* elements of one array */
    float *scratch;     /* 5 arrays: the DMBP .npy, or a channel mean */
    float *zeros;       /* one array of zeros */
    int dmbp_idx[5];    /* w_pos, w_neg, a_pos, a_neg, nuisance */
} writer;

static const char *const dmbp_arrays[5] = {"w_pos", "w_neg", "a_pos",
                                           "a_neg", "nuisance"};

static int writer_init(writer *wr, const cli_xrun *run)
{
    wr->run = run;
    dmbp_shape s = dmbp_result_array_shape(run->r);
    if (s.ndim != 3) {
        fprintf(stderr, "dmbp: internal error: the result's arrays have %d "
                "dimensions, not 3\n", s.ndim);
        return EXIT_INTERNAL;
    }
    memcpy(wr->dims, s.dims, sizeof wr->dims);
    wr->per = (size_t)dmbp_shape_numel(&s);
    if (dmbp_result_method(run->r) == DMBP_METHOD_DMBP) {
        for (int k = 0; k < 5; k++) {
            int j = 0, na = dmbp_result_num_arrays(run->r);
            while (j < na && strcmp(dmbp_result_array_name(run->r, j),
                                    dmbp_arrays[k]))
                j++;
            if (j == na) {
                fprintf(stderr, "dmbp: internal error: the result has no "
                        "array '%s'\n", dmbp_arrays[k]);
                return EXIT_INTERNAL;
            }
            wr->dmbp_idx[k] = j;
        }
    }
    wr->scratch = malloc(5 * wr->per * sizeof(float));
    wr->zeros = calloc(wr->per, sizeof(float));
    if (!wr->scratch || !wr->zeros)
        return out_of_memory();
    return EXIT_OK;
}

static void writer_free(writer *wr)
{
    free(wr->scratch);
    free(wr->zeros);
}

static int scalar_index(const dmbp_result *r, const char *name)
{
    for (int k = 0; k < dmbp_result_num_scalars(r); k++)
        if (!strcmp(dmbp_result_scalar_name(r, k), name))
            return k;
    return -1;
}

/* Write image i's files; paths[k] is NULL for outputs not written. */
static int write_image(writer *wr, int i, const char *image,
                       char *const *paths)
{
    const dmbp_result *r = wr->run->r;
    const dmbp_image *bg = &wr->run->bg[i];
    int c = (int)wr->dims[0], h = (int)wr->dims[1], w = (int)wr->dims[2];
    dmbp_status st;
    if (dmbp_result_method(r) != DMBP_METHOD_DMBP) {
        const float *map = dmbp_result_array(r, i, 0);
        if (dmbp_result_signed(r)) {
            st = dmbp_render_signed(map, map, c, h, w, bg, NULL,
                                    paths[OUT_PNG]);
        } else {
            /* A non-negative map with channels is shown as their mean. */
            const float *flat = map;
            if (c > 1) {
                size_t np = (size_t)h * w;
                for (size_t p = 0; p < np; p++) {
                    double s = 0;
                    for (int ch = 0; ch < c; ch++)
                        s += map[ch * np + p];
                    wr->scratch[p] = (float)(s / c);
                }
                flat = wr->scratch;
            }
            st = dmbp_render_sequential(flat, h, w, bg, NULL, paths[OUT_PNG]);
        }
        if (!st)
            st = dmbp_write_npy(paths[OUT_NPY], map, wr->dims, 3);
        return st ? cli_fail(st) : EXIT_OK;
    }
    const float *a[5];
    for (int k = 0; k < 5; k++)
        a[k] = dmbp_result_array(r, i, wr->dmbp_idx[k]);
    const float *w_pos = a[0], *w_neg = a[1], *a_pos = a[2], *a_neg = a[3];
    st = dmbp_render_signed(a_pos, a_neg, c, h, w, bg, NULL, paths[OUT_PNG]);
    if (!st)
        st = dmbp_render_signed(a_pos, wr->zeros, c, h, w, bg, NULL,
                                paths[OUT_POS]);
    if (!st)
        st = dmbp_render_signed(wr->zeros, a_neg, c, h, w, bg, NULL,
                                paths[OUT_NEG]);
    if (!st)
        st = dmbp_render_mappings(w_pos, w_neg, c, h, w, NULL,
                                  paths[OUT_MAPPINGS]);
    if (!st) {
        for (int k = 0; k < 5; k++)
            memcpy(wr->scratch + k * wr->per, a[k], wr->per * sizeof(float));
        int64_t dims[4] = {5, wr->dims[0], wr->dims[1], wr->dims[2]};
        st = dmbp_write_npy(paths[OUT_NPY], wr->scratch, dims, 4);
    }
    if (st)
        return cli_fail(st);
    if (paths[OUT_MASKS])
        return cli_masks_write(paths[OUT_MASKS], wr->run, i, image);
    return EXIT_OK;
}

static void json_number(double v)
{
    if (isfinite(v))
        printf("%.9g", v);
    else
        printf("null");
}

static void print_image(const cli_xrun *run, int i, const char *image,
                        char *const *paths, bool json)
{
    const dmbp_result *r = run->r;
    int t = dmbp_result_target(r, i);
    const char *label = cli_xrun_label(run, t);
    dmbp_method method = dmbp_result_method(r);
    if (json) {
        printf("{\"image\": ");
        cli_json_str(stdout, image);
        printf(", \"method\": \"%s\", \"target\": %d, \"label\": ",
               dmbp_method_name(method), t);
        if (label)
            cli_json_str(stdout, label);
        else
            printf("null");
        printf(", \"logit\": ");
        json_number(dmbp_result_logit(r, i));
        printf(", \"prob\": ");
        json_number(dmbp_result_prob(r, i));
        printf(", \"outputs\": {");
        for (int k = 0, first = 1; k < OUT_N; k++) {
            if (!paths[k])
                continue;
            printf("%s\"%s\": ", first ? "" : ", ", out_kind[k]);
            cli_json_str(stdout, paths[k]);
            first = 0;
        }
        printf("}, \"scalars\": {");
        for (int k = 0; k < dmbp_result_num_scalars(r); k++) {
            printf("%s", k ? ", " : "");
            cli_json_str(stdout, dmbp_result_scalar_name(r, k));
            printf(": ");
            json_number(dmbp_result_scalar(r, i, k));
        }
        printf("}}\n");
    } else {
        printf("%s: class %d (%s) logit %.4f p=%.4f -> %s", image, t,
               label ? label : "-", dmbp_result_logit(r, i),
               dmbp_result_prob(r, i), paths[OUT_PNG]);
        int k = scalar_index(r, "completeness_gap");
        if (method == DMBP_METHOD_IG && k >= 0)
            printf(" completeness gap %.4g", dmbp_result_scalar(r, i, k));
        if (method == DMBP_METHOD_DMBP) {
            static const char *const shown[3][2] = {
                {"F+", "F_pos"}, {"F-", "F_neg"}, {"Fn", "F_nuisance"}};
            for (int s = 0; s < 3; s++) {
                k = scalar_index(r, shown[s][1]);
                if (k >= 0)
                    printf(" %s %.4g", shown[s][0],
                           dmbp_result_scalar(r, i, k));
            }
        }
        printf("\n");
    }
    fflush(stdout);
}

static void free_paths(char **paths)
{
    for (int k = 0; k < OUT_N; k++) {
        free(paths[k]);
        paths[k] = NULL;
    }
}

/* The file names of image i of n, from its prefix (NULL where not
 * written). */
static int make_paths(const explain_opts *e, const char *prefix, int i,
                      int n, char **paths)
{
    static const char *const suffix[OUT_MASKS] = {
        ".png", "-pos.png", "-neg.png", "-mappings.png", ".npy"};
    bool dmbp = e->method == DMBP_METHOD_DMBP;
    for (int k = 0; k < OUT_MASKS; k++)
        if ((dmbp || k == OUT_PNG || k == OUT_NPY) &&
            !(paths[k] = concat3(prefix, suffix[k], "")))
            return out_of_memory();
    if (e->masks && !(paths[OUT_MASKS] = masks_path_for(e->masks, i, n)))
        return out_of_memory();
    return EXIT_OK;
}

/* ------------------------------------------------------------------ */
/* The command                                                        */
/* ------------------------------------------------------------------ */

static int parse(int argc, char **argv, explain_opts *e, const char **model,
                 const char ***images, int *n_images)
{
    int rc = cli_args_parse(CMD_EXPLAIN, argc, argv, &e->a);
    if (rc)
        return rc;
    const cli_flags *f = &e->a.f;
    e->method = DMBP_METHOD_DMBP;
    if (f->given[CLI_O_METHOD]) {
        char name[32];
        if (dmbp_method_from_name(cli_choice(CLI_O_METHOD, f->method, name,
                                             sizeof name), &e->method))
            return cli_usage_error("--method '%s': unknown", name);
    }
    e->out = f->output;
    e->masks = f->masks;
    e->json = f->json;
    if (e->a.n_pos < 1)
        return cli_usage_error("explain: which model?");
    if (e->a.n_pos < 2)
        return cli_usage_error("explain: no images given");
    *model = e->a.pos[0];
    *images = e->a.pos + 1;
    *n_images = e->a.n_pos - 1;
    char what[64];
    snprintf(what, sizeof what, "--method %s", dmbp_method_name(e->method));
    return cli_check_methods(&e->a, 1u << e->method, what);
}

int cmd_explain(int argc, char **argv)
{
    explain_opts e = {.out = NULL};
    const char *model = NULL;
    const char **images = NULL;
    char **prefixes = NULL;
    int n = 0;
    cli_xrun run = {0};
    writer wr = {0};
    int rc = parse(argc, argv, &e, &model, &images, &n);
    if (rc < 0) {
        rc = EXIT_OK; /* --help */
        goto done;
    }
    if (rc)
        goto done;

    /* Before any work: two images must not write the same files, and the
     * files must have somewhere to go. */
    prefixes = calloc((size_t)n, sizeof *prefixes);
    if (!prefixes) {
        rc = out_of_memory();
        goto done;
    }
    for (int i = 0; i < n && !rc; i++) {
        prefixes[i] = prefix_for(e.out, images[i], i, n, e.method);
        if (!prefixes[i]) {
            rc = out_of_memory();
            break;
        }
        for (int j = 0; j < i; j++)
            if (!strcmp(prefixes[i], prefixes[j])) {
                rc = cli_usage_error("%s and %s would both write %s.png "
                                     "(use -o)", images[j], images[i],
                                     prefixes[i]);
                break;
            }
    }
    if (!rc)
        rc = cli_check_writable_dir(prefixes[0]);
    if (!rc && e.masks)
        rc = cli_check_writable_dir(e.masks);
    if (rc)
        goto done;

    rc = cli_xrun_explain(&run, model, images, n, &e.a, e.method);
    if (!rc)
        rc = writer_init(&wr, &run);
    for (int i = 0; i < n && !rc; i++) {
        char *paths[OUT_N] = {NULL};
        rc = make_paths(&e, prefixes[i], i, n, paths);
        if (!rc)
            rc = write_image(&wr, i, images[i], paths);
        if (!rc)
            print_image(&run, i, images[i], paths, e.json);
        free_paths(paths);
    }
done:
    writer_free(&wr);
    cli_xrun_free(&run);
    if (prefixes)
        for (int i = 0; i < n; i++)
            free(prefixes[i]);
    free(prefixes);
    cli_args_free(&e.a);
    return rc;
}
