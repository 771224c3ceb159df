/* dmbp predict MODEL IMAGE...: class, label and probability per image.
 * Images are preprocessed one by one and run through the network in
 * batches (one plan, one forward call per batch). */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PREDICT_DEFAULT_TOP 5
#define PREDICT_DEFAULT_BATCH 8
#define PREDICT_MAX_BATCH 1024
#define LABEL_MAX_LEN 4096

typedef struct labels {
    int n;
    char **text;
} labels;

static void labels_free(labels *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->text[i]);
    free(l->text);
}

static int labels_read(const char *path, labels *l)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "dmbp: %s: cannot open labels: %s\n", path,
                strerror(errno));
        return EXIT_IO;
    }
    char line[LABEL_MAX_LEN];
    int cap = 0;
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            fclose(f);
            fprintf(stderr, "dmbp: %s: line %d is longer than %d bytes\n",
                    path, l->n + 1, LABEL_MAX_LEN - 2);
            return EXIT_FORMAT;
        }
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = 0;
        if (l->n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nt = realloc(l->text, (size_t)cap * sizeof *nt);
            if (!nt) {
                fclose(f);
                fprintf(stderr, "dmbp: out of memory\n");
                return EXIT_INTERNAL;
            }
            l->text = nt;
        }
        l->text[l->n] = strdup(line);
        if (!l->text[l->n]) {
            fclose(f);
            fprintf(stderr, "dmbp: out of memory\n");
            return EXIT_INTERNAL;
        }
        l->n++;
    }
    fclose(f);
    return EXIT_OK;
}

typedef struct predict_opts {
    int top, batch;
    bool json;
    const char *labels_path;
} predict_opts;

static const char *label_of(const dmbp_model *m, const labels *l, int c)
{
    if (l->n)
        return c < l->n ? l->text[c] : NULL;
    return dmbp_model_label(m, c);
}

static void print_result(const dmbp_model *m, const labels *l,
                         const predict_opts *o, const char *image,
                         const float *logits, float *prob, int *order, int k)
{
    dmbp_softmax(logits, k, prob);
    for (int i = 0; i < k; i++)
        order[i] = i;
    /* Selection of the top entries by logit (probabilities of nearly
     * equal logits round to the same float), ties to the lower index. */
    int top = o->top < k ? o->top : k;
    for (int i = 0; i < top; i++) {
        int best = i;
        for (int j = i + 1; j < k; j++)
            if (logits[order[j]] > logits[order[best]] ||
                (logits[order[j]] == logits[order[best]] &&
                 order[j] < order[best]))
                best = j;
        int t = order[i];
        order[i] = order[best];
        order[best] = t;
    }
    if (o->json) {
        printf("{\"image\": ");
        cli_json_str(stdout, image);
        printf(", \"top\": [");
        for (int i = 0; i < top; i++) {
            const char *lab = label_of(m, l, order[i]);
            printf("%s{\"class\": %d, \"label\": ", i ? ", " : "", order[i]);
            if (lab)
                cli_json_str(stdout, lab);
            else
                printf("null");
            printf(", \"prob\": %.9g}", prob[order[i]]);
        }
        printf("], \"logits\": [");
        for (int i = 0; i < k; i++)
            printf("%s%.9g", i ? ", " : "", logits[i]);
        printf("]}\n");
    } else {
        printf("%s\n", image);
        for (int i = 0; i < top; i++) {
            const char *lab = label_of(m, l, order[i]);
            printf("  %5d  %-24s %.4f\n", order[i], lab ? lab : "-",
                   prob[order[i]]);
        }
    }
}

static int parse(int argc, char **argv, cli_args *a, predict_opts *o,
                 const char **model, const char ***images, int *n_images)
{
    int rc = cli_args_parse(CMD_PREDICT, argc, argv, a);
    if (rc)
        return rc;
    const cli_flags *f = &a->f;
    if (f->given[CLI_O_TOP])
        o->top = f->top;
    if (f->given[CLI_O_BATCH]) {
        if (f->batch > PREDICT_MAX_BATCH)
            return cli_usage_error("--batch '%d': expected 1 to %d", f->batch,
                                   PREDICT_MAX_BATCH);
        o->batch = f->batch;
    }
    o->json = f->json;
    o->labels_path = f->labels;
    if (a->n_pos < 1)
        return cli_usage_error("predict: which model?");
    if (a->n_pos < 2)
        return cli_usage_error("predict: no images given");
    *model = a->pos[0];
    *images = a->pos + 1;
    *n_images = a->n_pos - 1;
    return EXIT_OK;
}

typedef struct run {
    dmbp_model *m;
    dmbp_plan *plan;
    int batch;            /* the plan's batch */
    int c, h, w;          /* the plan's image shape */
    float *input;         /* batch x c x h x w */
    float *logits, *prob;
    int *order;
    const char **names;   /* images in the pending batch */
    int pending;
} run;

static int flush(run *r, const labels *l, const predict_opts *o, int k)
{
    if (!r->pending)
        return EXIT_OK;
    size_t per = (size_t)r->c * r->h * r->w;
    /* A short last batch repeats its last image; those results are not
     * printed. */
    for (int i = r->pending; i < r->batch; i++)
        memcpy(r->input + i * per, r->input + (r->pending - 1) * per,
               per * sizeof(float));
    dmbp_status st = dmbp_plan_forward(r->plan, r->input, r->logits);
    if (st)
        return cli_fail(st);
    for (int i = 0; i < r->pending; i++)
        print_result(r->m, l, o, r->names[i], r->logits + (size_t)i * k,
                     r->prob, r->order, k);
    fflush(stdout);
    r->pending = 0;
    return EXIT_OK;
}

static int ensure_plan(run *r, const dmbp_image *x, int batch)
{
    if (r->plan && r->c == x->channels && r->h == x->height &&
        r->w == x->width)
        return EXIT_OK;
    dmbp_plan_free(r->plan);
    r->plan = NULL;
    free(r->input);
    r->input = NULL;
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    po.batch = batch;
    po.height = x->height;
    po.width = x->width;
    dmbp_shape decl = dmbp_model_input_shape(r->m);
    if (decl.ndim == 4 && decl.dims[1] && decl.dims[1] != x->channels) {
        fprintf(stderr, "dmbp: the model takes %lld channels, the "
                "preprocessed image has %d\n", (long long)decl.dims[1],
                x->channels);
        return EXIT_SHAPE;
    }
    dmbp_status st = dmbp_plan_create(r->m, &po, &r->plan);
    if (st)
        return cli_fail(st);
    r->batch = batch;
    r->c = x->channels;
    r->h = x->height;
    r->w = x->width;
    r->input = malloc((size_t)batch * r->c * r->h * r->w * sizeof(float));
    if (!r->input) {
        fprintf(stderr, "dmbp: out of memory\n");
        return EXIT_INTERNAL;
    }
    return EXIT_OK;
}

int cmd_predict(int argc, char **argv)
{
    predict_opts o = {PREDICT_DEFAULT_TOP, PREDICT_DEFAULT_BATCH, false, NULL};
    cli_args a;
    const char *model = NULL;
    const char **images = NULL;
    int n_images = 0;
    labels l = {0};
    run r = {0};
    int rc = parse(argc, argv, &a, &o, &model, &images, &n_images);
    dmbp_preprocess_options pre;
    if (rc < 0) {
        rc = EXIT_OK; /* --help */
        goto done;
    }
    if (rc)
        goto done;
    dmbp_status st = dmbp_model_load(model, &r.m);
    if (st) {
        rc = cli_fail(st);
        goto done;
    }
    rc = cli_apply_pre(r.m, &a.f, &pre);
    if (rc)
        goto done;
    int k = dmbp_model_num_classes(r.m);
    if (o.labels_path) {
        rc = labels_read(o.labels_path, &l);
        if (rc)
            goto done;
        if (l.n < k) {
            fprintf(stderr, "dmbp: %s: %d labels for a model with %d "
                    "classes\n", o.labels_path, l.n, k);
            rc = EXIT_FORMAT;
            goto done;
        }
    }
    int batch = n_images < o.batch ? n_images : o.batch;
    r.logits = malloc((size_t)batch * k * sizeof(float));
    r.prob = malloc((size_t)k * sizeof(float));
    r.order = malloc((size_t)k * sizeof(int));
    r.names = calloc((size_t)batch, sizeof *r.names);
    if (!r.logits || !r.prob || !r.order || !r.names) {
        fprintf(stderr, "dmbp: out of memory\n");
        rc = EXIT_INTERNAL;
        goto done;
    }
    for (int i = 0; i < n_images && !rc; i++) {
        dmbp_image img = {0}, x = {0};
        st = dmbp_image_load_png(images[i], &img);
        if (!st)
            st = dmbp_image_preprocess(&img, &pre, &x);
        dmbp_image_free(&img);
        if (st) {
            /* Print what was already computed, then the error. */
            dmbp_status err = st;
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", dmbp_last_error());
            if (r.plan)
                flush(&r, &l, &o, k);
            rc = cli_fail(dmbp_set_error(err, "%s", msg));
            break;
        }
        if (r.plan && (r.c != x.channels || r.h != x.height ||
                       r.w != x.width))
            rc = flush(&r, &l, &o, k);
        if (!rc)
            rc = ensure_plan(&r, &x, batch);
        if (!rc) {
            size_t per = (size_t)r.c * r.h * r.w;
            memcpy(r.input + r.pending * per, x.data, per * sizeof(float));
            r.names[r.pending++] = images[i];
            if (r.pending == r.batch)
                rc = flush(&r, &l, &o, k);
        }
        dmbp_image_free(&x);
    }
    if (!rc)
        rc = flush(&r, &l, &o, k);
done:
    dmbp_plan_free(r.plan);
    dmbp_model_free(r.m);
    free(r.input);
    free(r.logits);
    free(r.prob);
    free(r.order);
    free(r.names);
    labels_free(&l);
    cli_args_free(&a);
    return rc;
}
