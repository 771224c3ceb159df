/* What the program prints about a model and a prediction (dmbp_render.h):
 * dmbp_model_describe, dmbp info's text or JSON (with the layers, a
 * reverse plan for one preprocessed image gives every node's output shape
 * and mask site); dmbp_rank_classes and dmbp_write_prediction, dmbp
 * predict's. */
#include "methods.h"

#define INFO_MAX_OP_TYPES 64

static void shape_str(const dmbp_shape *s, char *buf, size_t cap)
{
    size_t k = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < s->ndim && k < cap; i++) {
        if (s->dims[i])
            k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? ", " : "",
                                  (long long)s->dims[i]);
        else
            k += (size_t)snprintf(buf + k, cap - k, "%s?", i ? ", " : "");
    }
    if (k < cap)
        snprintf(buf + k, cap - k, "]");
}

/* Layer i's mask-layer channels in plan p, or 0 if it is not a mask
 * site (the plan names its mask layers by their node's name). */
static int mask_channels(const dmbp_plan *p, const char *node)
{
    for (int k = 0; k < dmbp_plan_num_mask_layers(p); k++) {
        const char *name;
        int ch;
        int64_t off;
        if (!dmbp_plan_mask_layer(p, k, &name, &ch, &off) && name && node &&
            !strcmp(name, node))
            return ch;
    }
    return 0;
}

/* A reverse plan for one image of the preprocessed size: its shapes and
 * mask layers are what explain uses. */
static dmbp_status layers_plan(const dmbp_model *m,
                               const dmbp_preprocess_options *pre,
                               dmbp_plan **p)
{
    dmbp_plan_options po;
    dmbp_plan_options_init(&po);
    dmbp_shape in = dmbp_model_input_shape(m);
    po.reverse = 1;
    if (in.ndim == 4) {
        po.height = in.dims[2] ? (int)in.dims[2] : pre->crop;
        po.width = in.dims[3] ? (int)in.dims[3] : pre->crop;
    }
    return dmbp_plan_create(m, &po, p);
}

static void print_layers(const dmbp_model *m, const dmbp_plan *p, bool json,
                         FILE *out)
{
    char buf[160];
    int n = dmbp_model_num_nodes(m);
    if (json) {
        fprintf(out, ", \"layers\": [");
        for (int i = 0; i < n; i++) {
            dmbp_shape s = dmbp_plan_node_output_shape(p, i);
            fprintf(out, "%s{\"name\": ", i ? ", " : "");
            dmbp__json_str(out, dmbp_model_node_name(m, i));
            fprintf(out, ", \"op\": ");
            dmbp__json_str(out, dmbp_model_node_op(m, i));
            fprintf(out, ", \"shape\": [");
            for (int d = 0; d < s.ndim; d++)
                fprintf(out, "%s%lld", d ? ", " : "", (long long)s.dims[d]);
            int ch = mask_channels(p, dmbp_model_node_name(m, i));
            fprintf(out, "], \"mask_site\": %s, \"feature_map\": %s}",
                   ch ? "true" : "false",
                   dmbp_model_node_traits(m, i) & DMBP_OP_FEATURE_MAP
                       ? "true" : "false");
        }
        fprintf(out, "]");
        return;
    }
    dmbp_shape in = dmbp_plan_input_shape(p);
    shape_str(&in, buf, sizeof buf);
    fprintf(out, "layers      %d, output shapes for an input of %s; mask: a DMBP "
           "mask site and its channels\n", n, buf);
    fprintf(out, "  %-4s %-34s %-14s %-20s %s\n", "#", "name", "op", "output",
           "mask");
    for (int i = 0; i < n; i++) {
        dmbp_shape s = dmbp_plan_node_output_shape(p, i);
        shape_str(&s, buf, sizeof buf);
        int ch = mask_channels(p, dmbp_model_node_name(m, i));
        char mask[32] = "-";
        if (ch)
            snprintf(mask, sizeof mask, "yes (%d)", ch);
        fprintf(out, "  %-4d %-34s %-14s %-20s %s\n", i, dmbp_model_node_name(m, i),
               dmbp_model_node_op(m, i), buf, mask);
    }
}

dmbp_status dmbp_model_describe(const dmbp_model *m, const char *name,
                                int layers, int json, FILE *out)
{
    if (!m || !name || !out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_model_describe: NULL "
                              "argument");
    dmbp_preprocess_options pre;
    dmbp_plan *plan = NULL;
    TRY(dmbp_model_preprocess_defaults(m, &pre));
    if (layers)
        TRY(layers_plan(m, &pre, &plan));
    const char *types[INFO_MAX_OP_TYPES];
    int counts[INFO_MAX_OP_TYPES], nt = 0;
    for (int i = 0; i < dmbp_model_num_nodes(m); i++) {
        const char *op = dmbp_model_node_op(m, i);
        int k = 0;
        while (k < nt && strcmp(types[k], op))
            k++;
        if (k == nt && nt < INFO_MAX_OP_TYPES) {
            types[nt] = op;
            counts[nt++] = 0;
        }
        if (k < nt)
            counts[k]++;
    }
    dmbp_shape in = dmbp_model_input_shape(m);
    char ins[160];
    shape_str(&in, ins, sizeof ins);
    int classes = dmbp_model_num_classes(m);
    if (json) {
        fprintf(out, "{\"model\": ");
        dmbp__json_str(out, name);
        fprintf(out, ", \"producer\": ");
        dmbp__json_str(out, dmbp_model_producer(m));
        fprintf(out, ", \"opset\": %d, \"input\": {\"name\": ", dmbp_model_opset(m));
        dmbp__json_str(out, dmbp_model_input_name(m));
        fprintf(out, ", \"shape\": [");
        for (int i = 0; i < in.ndim; i++)
            fprintf(out, "%s%lld", i ? ", " : "", (long long)in.dims[i]);
        fprintf(out, "]}, \"output\": {\"name\": ");
        dmbp__json_str(out, dmbp_model_output_name(m));
        fprintf(out, ", \"classes\": %d, \"softmax\": %s}, \"params\": %lld, "
               "\"ops\": {", classes,
               dmbp_model_has_softmax(m) ? "true" : "false",
               (long long)dmbp_model_num_params(m));
        for (int k = 0; k < nt; k++) {
            fprintf(out, "%s", k ? ", " : "");
            dmbp__json_str(out, types[k]);
            fprintf(out, ": %d", counts[k]);
        }
        fprintf(out, "}, \"preprocess\": {\"resize\": %d, \"crop\": %d, "
               "\"channels\": %d, \"mean\": [%g, %g, %g], "
               "\"std\": [%g, %g, %g]}, \"labels\": [",
               pre.resize, pre.crop, pre.channels, pre.mean[0], pre.mean[1],
               pre.mean[2], pre.std[0], pre.std[1], pre.std[2]);
        for (int c = 0; c < classes && dmbp_model_label(m, c); c++) {
            fprintf(out, "%s", c ? ", " : "");
            dmbp__json_str(out, dmbp_model_label(m, c));
        }
        fprintf(out, "]");
        if (plan)
            print_layers(m, plan, true, out);
        fprintf(out, "}\n");
    } else {
        fprintf(out, "model       %s\n", name);
        fprintf(out, "producer    %s\n", dmbp_model_producer(m));
        fprintf(out, "opset       %d\n", dmbp_model_opset(m));
        bool dynamic = false;
        for (int d = 0; d < in.ndim; d++)
            dynamic = dynamic || !in.dims[d];
        fprintf(out, "input       %s %s%s\n", dmbp_model_input_name(m), ins,
               dynamic ? " (? = dynamic)" : "");
        fprintf(out, "output      %s, %d classes%s\n", dmbp_model_output_name(m),
               classes, dmbp_model_has_softmax(m)
                            ? " (after a final Softmax: its input is used "
                              "as the logits)"
                            : "");
        fprintf(out, "parameters  %lld\n", (long long)dmbp_model_num_params(m));
        fprintf(out, "ops        ");
        for (int k = 0; k < nt; k++)
            fprintf(out, " %s %d%s", types[k], counts[k], k + 1 < nt ? "," : "");
        fprintf(out, "\n");
        fprintf(out, "preprocess  resize %d, crop %d, %d channel%s, mean %g %g %g, "
               "std %g %g %g\n", pre.resize, pre.crop, pre.channels,
               pre.channels == 1 ? "" : "s", pre.mean[0], pre.mean[1],
               pre.mean[2], pre.std[0], pre.std[1], pre.std[2]);
        if (dmbp_model_label(m, 0)) {
            fprintf(out, "labels     ");
            for (int c = 0; c < classes && dmbp_model_label(m, c); c++)
                fprintf(out, " %s%s", dmbp_model_label(m, c),
                       c + 1 < classes ? "," : "");
            fprintf(out, "\n");
        }
        for (int i = 0; i < dmbp_model_num_metadata(m); i++) {
            const char *k, *v;
            dmbp_model_metadata(m, i, &k, &v);
            if (strcmp(k, DMBP_META_LABELS))
                fprintf(out, "metadata    %s = %s\n", k, v);
        }
        if (plan)
            print_layers(m, plan, false, out);
    }
    dmbp_plan_free(plan);
    return ferror(out) ? dmbp_set_error(DMBP_ERR_IO, "%s: write error",
                                        name)
                       : DMBP_OK;
}

void dmbp_rank_classes(const float *logits, int k, int top, float *prob,
                       int *order)
{
    dmbp_softmax(logits, k, prob);
    for (int i = 0; i < k; i++)
        order[i] = i;
    for (int i = 0; i < top && i < k; i++) {
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
}

dmbp_status dmbp_write_prediction(FILE *f, int json, const char *image,
                                  const float *logits, int k, int top,
                                  const dmbp_model *m,
                                  const char *const *labels, int n_labels)
{
    if (!f || !image || !logits || k < 1 || !m)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_write_prediction: NULL "
                              "argument or no classes");
    float *prob = dmbp__malloc((size_t)k * sizeof *prob);
    int *order = dmbp__malloc((size_t)k * sizeof *order);
    if (!prob || !order) {
        free(prob);
        free(order);
        return DMBP_ERR_NOMEM;
    }
    top = top < k ? top : k;
    dmbp_rank_classes(logits, k, top, prob, order);
    if (json) {
        fprintf(f, "{\"image\": ");
        dmbp__json_str(f, image);
        fprintf(f, ", \"top\": [");
        for (int i = 0; i < top; i++) {
            const char *lab = dmbp_class_label(m, labels, n_labels, order[i]);
            fprintf(f, "%s{\"class\": %d, \"label\": ", i ? ", " : "",
                    order[i]);
            if (lab)
                dmbp__json_str(f, lab);
            else
                fprintf(f, "null");
            fprintf(f, ", \"prob\": %.9g}", prob[order[i]]);
        }
        fprintf(f, "], \"logits\": [");
        for (int i = 0; i < k; i++)
            fprintf(f, "%s%.9g", i ? ", " : "", logits[i]);
        fprintf(f, "]}\n");
    } else {
        fprintf(f, "%s\n", image);
        for (int i = 0; i < top; i++) {
            const char *lab = dmbp_class_label(m, labels, n_labels, order[i]);
            fprintf(f, "  %5d  %-24s %.4f\n", order[i], lab ? lab : "-",
                    prob[order[i]]);
        }
    }
    free(prob);
    free(order);
    return ferror(f) ? dmbp_set_error(DMBP_ERR_IO, "%s: write error", image)
                     : DMBP_OK;
}

/* "saliency, gxi, ... or lrp": every method's name. */
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

/* The longest method name read. */
#define METHOD_NAME_MAX 32
#define ALL_METHODS_MAX 256

dmbp_status dmbp_method_list_parse(const char *list, const char *what,
                                   dmbp_method *out, int *n)
{
    if (!list || !out || !n)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_method_list_parse: NULL");
    what = what ? what : "methods";
    char names[ALL_METHODS_MAX];
    all_methods(names, sizeof names);
    *n = 0;
    for (const char *c = list;;) {
        const char *end = strchr(c, ',');
        size_t len = end ? (size_t)(end - c) : strlen(c);
        char name[METHOD_NAME_MAX];
        dmbp_method m;
        if (len == 0)
            return dmbp_set_error(DMBP_ERR_ARG, "%s '%s': an empty method "
                                  "name", what, list);
        snprintf(name, sizeof name, "%.*s",
                 (int)(len < sizeof name - 1 ? len : sizeof name - 1), c);
        if (len >= sizeof name || dmbp_method_from_name(name, &m))
            return dmbp_set_error(DMBP_ERR_ARG, "%s: unknown method '%.*s' "
                                  "(expected %s)", what, (int)len, c, names);
        for (int k = 0; k < *n; k++)
            if (out[k] == m)
                return dmbp_set_error(DMBP_ERR_ARG, "%s: %s is listed twice",
                                      what, name);
        if (*n == DMBP_NUM_METHODS)
            return dmbp_set_error(DMBP_ERR_ARG, "%s: too many", what);
        out[(*n)++] = m;
        if (!end)
            return DMBP_OK;
        c = end + 1;
    }
}
