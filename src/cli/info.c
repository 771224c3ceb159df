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

int cmd_info(int argc, char **argv)
{
    cli_args a;
    int rc = cli_args_parse(CMD_INFO, argc, argv, &a);
    if (!rc && a.n_pos < 1)
        rc = cli_usage_error("info: which model?");
    if (!rc && a.n_pos > 1)
        rc = cli_usage_error("info: one model at a time");
    const char *path = rc ? NULL : a.pos[0];
    bool json = a.f.json;
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
        cli_json_str(stdout, path);
        printf(", \"producer\": ");
        cli_json_str(stdout, dmbp_model_producer(m));
        printf(", \"opset\": %d, \"input\": {\"name\": ", dmbp_model_opset(m));
        cli_json_str(stdout, dmbp_model_input_name(m));
        printf(", \"shape\": [");
        for (int i = 0; i < in.ndim; i++)
            printf("%s%lld", i ? ", " : "", (long long)in.dims[i]);
        printf("]}, \"output\": {\"name\": ");
        cli_json_str(stdout, dmbp_model_output_name(m));
        printf(", \"classes\": %d, \"softmax\": %s}, \"params\": %lld, "
               "\"ops\": {", classes,
               dmbp_model_has_softmax(m) ? "true" : "false",
               (long long)dmbp_model_num_params(m));
        for (int k = 0; k < nt; k++) {
            printf("%s", k ? ", " : "");
            cli_json_str(stdout, types[k]);
            printf(": %d", counts[k]);
        }
        printf("}, \"preprocess\": {\"resize\": %d, \"crop\": %d, "
               "\"channels\": %d, \"mean\": [%g, %g, %g], "
               "\"std\": [%g, %g, %g]}, \"labels\": [",
               pre.resize, pre.crop, pre.channels, pre.mean[0], pre.mean[1],
               pre.mean[2], pre.std[0], pre.std[1], pre.std[2]);
        for (int c = 0; c < classes && dmbp_model_label(m, c); c++) {
            printf("%s", c ? ", " : "");
            cli_json_str(stdout, dmbp_model_label(m, c));
        }
        printf("]}\n");
    } else {
        printf("model       %s\n", path);
        printf("producer    %s\n", dmbp_model_producer(m));
        printf("opset       %d\n", dmbp_model_opset(m));
        printf("input       %s %s (? = dynamic)\n", dmbp_model_input_name(m),
               ins);
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
    }
    dmbp_model_free(m);
    return EXIT_OK;
}
