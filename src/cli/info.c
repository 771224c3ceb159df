/* dmbp info MODEL: what the model takes and what it is made of. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

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
static int layers_plan(const dmbp_model *m, const dmbp_preprocess_options *pre,
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
    dmbp_status st = dmbp_plan_create(m, &po, p);
    return st ? cli_fail(st) : EXIT_OK;
}

static void print_layers(const dmbp_model *m, const dmbp_plan *p, bool json)
{
    char buf[160];
    int n = dmbp_model_num_nodes(m);
    if (json) {
        printf(", \"layers\": [");
        for (int i = 0; i < n; i++) {
            dmbp_shape s = dmbp_plan_node_output_shape(p, i);
            printf("%s{\"name\": ", i ? ", " : "");
            dmbp__json_str(stdout, dmbp_model_node_name(m, i));
            printf(", \"op\": ");
            dmbp__json_str(stdout, dmbp_model_node_op(m, i));
            printf(", \"shape\": [");
            for (int d = 0; d < s.ndim; d++)
                printf("%s%lld", d ? ", " : "", (long long)s.dims[d]);
            int ch = mask_channels(p, dmbp_model_node_name(m, i));
            printf("], \"mask_site\": %s, \"feature_map\": %s}",
                   ch ? "true" : "false",
                   dmbp_model_node_traits(m, i) & DMBP_OP_FEATURE_MAP
                       ? "true" : "false");
        }
        printf("]");
        return;
    }
    dmbp_shape in = dmbp_plan_input_shape(p);
    shape_str(&in, buf, sizeof buf);
    printf("layers      %d, output shapes for an input of %s; mask: a DMBP "
           "mask site and its channels\n", n, buf);
    printf("  %-4s %-34s %-14s %-20s %s\n", "#", "name", "op", "output",
           "mask");
    for (int i = 0; i < n; i++) {
        dmbp_shape s = dmbp_plan_node_output_shape(p, i);
        shape_str(&s, buf, sizeof buf);
        int ch = mask_channels(p, dmbp_model_node_name(m, i));
        char mask[32] = "-";
        if (ch)
            snprintf(mask, sizeof mask, "yes (%d)", ch);
        printf("  %-4d %-34s %-14s %-20s %s\n", i, dmbp_model_node_name(m, i),
               dmbp_model_node_op(m, i), buf, mask);
    }
}

int cmd_info(int argc, char **argv)
{
    cli_args a;
    int rc = cli_args_parse(CMD_INFO, argc, argv, &a);
    if (!rc && a.n_pos < 1)
        rc = cli_usage_error("info: which model?");
    if (!rc && a.n_pos > 1)
        rc = cli_usage_error("info: one model at a time");
    const char *path = rc ? NULL : a.pos[0];
    bool json = a.f.json, layers = a.f.layers;
    cli_args_free(&a);
    if (rc)
        return rc < 0 ? EXIT_OK : rc;
    dmbp_model *m;
    dmbp_status st = dmbp_model_load(path, &m);
    if (st)
        return cli_fail(st);
    dmbp_preprocess_options pre;
    st = dmbp_model_preprocess_defaults(m, &pre);
    if (st) {
        dmbp_model_free(m);
        return cli_fail(st);
    }
    dmbp_plan *plan = NULL;
    if (layers && (rc = layers_plan(m, &pre, &plan))) {
        dmbp_model_free(m);
        return rc;
    }
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
        printf("{\"model\": ");
        dmbp__json_str(stdout, path);
        printf(", \"producer\": ");
        dmbp__json_str(stdout, dmbp_model_producer(m));
        printf(", \"opset\": %d, \"input\": {\"name\": ", dmbp_model_opset(m));
        dmbp__json_str(stdout, dmbp_model_input_name(m));
        printf(", \"shape\": [");
        for (int i = 0; i < in.ndim; i++)
            printf("%s%lld", i ? ", " : "", (long long)in.dims[i]);
        printf("]}, \"output\": {\"name\": ");
        dmbp__json_str(stdout, dmbp_model_output_name(m));
        printf(", \"classes\": %d, \"softmax\": %s}, \"params\": %lld, "
               "\"ops\": {", classes,
               dmbp_model_has_softmax(m) ? "true" : "false",
               (long long)dmbp_model_num_params(m));
        for (int k = 0; k < nt; k++) {
            printf("%s", k ? ", " : "");
            dmbp__json_str(stdout, types[k]);
            printf(": %d", counts[k]);
        }
        printf("}, \"preprocess\": {\"resize\": %d, \"crop\": %d, "
               "\"channels\": %d, \"mean\": [%g, %g, %g], "
               "\"std\": [%g, %g, %g]}, \"labels\": [",
               pre.resize, pre.crop, pre.channels, pre.mean[0], pre.mean[1],
               pre.mean[2], pre.std[0], pre.std[1], pre.std[2]);
        for (int c = 0; c < classes && dmbp_model_label(m, c); c++) {
            printf("%s", c ? ", " : "");
            dmbp__json_str(stdout, dmbp_model_label(m, c));
        }
        printf("]");
        if (plan)
            print_layers(m, plan, true);
        printf("}\n");
    } else {
        printf("model       %s\n", path);
        printf("producer    %s\n", dmbp_model_producer(m));
        printf("opset       %d\n", dmbp_model_opset(m));
        bool dynamic = false;
        for (int d = 0; d < in.ndim; d++)
            dynamic = dynamic || !in.dims[d];
        printf("input       %s %s%s\n", dmbp_model_input_name(m), ins,
               dynamic ? " (? = dynamic)" : "");
        printf("output      %s, %d classes%s\n", dmbp_model_output_name(m),
               classes, dmbp_model_has_softmax(m)
                            ? " (after a final Softmax: its input is used "
                              "as the logits)"
                            : "");
        printf("parameters  %lld\n", (long long)dmbp_model_num_params(m));
        printf("ops        ");
        for (int k = 0; k < nt; k++)
            printf(" %s %d%s", types[k], counts[k], k + 1 < nt ? "," : "");
        printf("\n");
        printf("preprocess  resize %d, crop %d, %d channel%s, mean %g %g %g, "
               "std %g %g %g\n", pre.resize, pre.crop, pre.channels,
               pre.channels == 1 ? "" : "s", pre.mean[0], pre.mean[1],
               pre.mean[2], pre.std[0], pre.std[1], pre.std[2]);
        if (dmbp_model_label(m, 0)) {
            printf("labels     ");
            for (int c = 0; c < classes && dmbp_model_label(m, c); c++)
                printf(" %s%s", dmbp_model_label(m, c),
                       c + 1 < classes ? "," : "");
            printf("\n");
        }
        for (int i = 0; i < dmbp_model_num_metadata(m); i++) {
            const char *k, *v;
            dmbp_model_metadata(m, i, &k, &v);
            if (strcmp(k, DMBP_META_LABELS))
                printf("metadata    %s = %s\n", k, v);
        }
        if (plan)
            print_layers(m, plan, false);
    }
    dmbp_plan_free(plan);
    dmbp_model_free(m);
    return EXIT_OK;
}
