/* Limits against hostile or huge models (issue #11): the loader is linear
 * in the node count (F6: 100k nodes load in under 2 s of CPU), and the
 * plan memory budget refuses with a size error that names the sizes.
 * The 100k-node model is generated here (2.4 MB, not committed). */
#include "testlib.h"
#include "proto/onnx.pb-c.h"

#include <dmbp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BIG_NODES 100000
/* Issue #11's bound; the quadratic loader took 68 s. */
#define LOAD_CPU_SECONDS_MAX 2.0
#define CLASSES 10

static char *str(const char *fmt, int i)
{
    char buf[64];
    snprintf(buf, sizeof buf, fmt, i);
    return strdup(buf);
}

/* x [1, 1, 4, 4] -> n_chain nodes alternating Relu and Identity (the
 * pass-through nodes are bypassed at load, also in linear time) ->
 * GlobalAveragePool -> Flatten -> Gemm -> logits [1, CLASSES]. */
static uint8_t *big_model(int n_chain, size_t *len)
{
    int n = n_chain + 3;
    Onnx__NodeProto *nodes = calloc((size_t)n, sizeof *nodes);
    Onnx__NodeProto **np = calloc((size_t)n, sizeof *np);
    char **names = calloc((size_t)n_chain + 1, sizeof *names);
    for (int i = 0; i <= n_chain; i++)
        names[i] = i ? str("v%d", i) : strdup("x");
    static char *tail_in[3][3], *tail_out[3];
    static const char *const tail_op[3] = {"GlobalAveragePool", "Flatten",
                                           "Gemm"};
    for (int i = 0; i < n; i++) {
        Onnx__NodeProto init = ONNX__NODE_PROTO__INIT;
        nodes[i] = init;
        np[i] = &nodes[i];
        if (i < n_chain) {
            nodes[i].op_type = (char *)(i % 2 ? "Identity" : "Relu");
            nodes[i].n_input = nodes[i].n_output = 1;
            nodes[i].input = &names[i];
            nodes[i].output = &names[i + 1];
            nodes[i].name = str("n%d", i);
        }
    }
    tail_in[0][0] = names[n_chain];
    tail_out[0] = "gap";
    tail_in[1][0] = "gap";
    tail_out[1] = "flat";
    tail_in[2][0] = "flat";
    tail_in[2][1] = "w";
    tail_in[2][2] = "b";
    tail_out[2] = "logits";
    for (int k = 0; k < 3; k++) {
        Onnx__NodeProto *t = &nodes[n_chain + k];
        t->op_type = (char *)tail_op[k];
        t->n_input = k == 2 ? 3 : 1;
        t->input = tail_in[k];
        t->n_output = 1;
        t->output = &tail_out[k];
    }
    static float w[CLASSES], b[CLASSES];
    static int64_t wdims[2] = {1, CLASSES}, bdims[1] = {CLASSES};
    Onnx__TensorProto tw = ONNX__TENSOR_PROTO__INIT,
                      tb = ONNX__TENSOR_PROTO__INIT;
    tw.name = "w";
    tw.has_data_type = tb.has_data_type = 1;
    tw.data_type = tb.data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tw.n_dims = 2;
    tw.dims = wdims;
    tw.n_float_data = CLASSES;
    tw.float_data = w;
    tb.name = "b";
    tb.n_dims = 1;
    tb.dims = bdims;
    tb.n_float_data = CLASSES;
    tb.float_data = b;
    for (int i = 0; i < CLASSES; i++)
        w[i] = (float)i;
    Onnx__TensorProto *inits[2] = {&tw, &tb};

    Onnx__TensorShapeProto__Dimension d[4], *dp[4];
    for (int i = 0; i < 4; i++) {
        Onnx__TensorShapeProto__Dimension init =
            ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
        d[i] = init;
        d[i].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d[i].dim_value = i < 2 ? 1 : 4;
        dp[i] = &d[i];
    }
    Onnx__TensorShapeProto shape = ONNX__TENSOR_SHAPE_PROTO__INIT;
    shape.n_dim = 4;
    shape.dim = dp;
    Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    tt.has_elem_type = 1;
    tt.elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    tt.shape = &shape;
    Onnx__TypeProto type = ONNX__TYPE_PROTO__INIT;
    type.value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    type.tensor_type = &tt;
    Onnx__ValueInfoProto in = ONNX__VALUE_INFO_PROTO__INIT,
                         out = ONNX__VALUE_INFO_PROTO__INIT;
    in.name = "x";
    in.type = &type;
    out.name = "logits";
    Onnx__ValueInfoProto *ins[1] = {&in}, *outs[1] = {&out};

    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    g.name = "big";
    g.n_node = (size_t)n;
    g.node = np;
    g.n_initializer = 2;
    g.initializer = inits;
    g.n_input = 1;
    g.input = ins;
    g.n_output = 1;
    g.output = outs;
    Onnx__OperatorSetIdProto ops = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    ops.domain = "";
    ops.has_version = 1;
    ops.version = 13;
    Onnx__OperatorSetIdProto *opsp[1] = {&ops};
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    m.has_ir_version = 1;
    m.ir_version = 8;
    m.n_opset_import = 1;
    m.opset_import = opsp;
    m.graph = &g;

    *len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(*len);
    onnx__model_proto__pack(&m, buf);
    for (int i = 0; i < n_chain; i++)
        free(nodes[i].name);
    for (int i = 0; i <= n_chain; i++)
        free(names[i]);
    free(names);
    free(np);
    free(nodes);
    return buf;
}

static void test_big_model(void)
{
    size_t len;
    uint8_t *data = big_model(BIG_NODES, &len);
    dmbp_model *m = NULL;
    clock_t t0 = clock();
    dmbp_status st = dmbp_model_load_memory(data, len, "big.onnx", NULL, &m);
    int live = st ? 0 : dmbp_model_num_nodes(m);
    const char *last = NULL;
    /* Every node by index, as `dmbp info` lists them. */
    for (int i = 0; i < live; i++)
        last = dmbp_model_node_name(m, i);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(st == DMBP_OK, "load %zu bytes: %s", len, dmbp_last_error());
    /* The Identity half is bypassed: Relu nodes and the 3 of the head. */
    CHECK(live == BIG_NODES / 2 + 3, "%d live nodes", live);
    CHECK(last && !strcmp(last, "Gemm_100002"), "last node '%s'",
          last ? last : "(null)");
    CHECK(secs < LOAD_CPU_SECONDS_MAX, "%d nodes (%zu bytes) took %.2f s of "
          "CPU to load and list (at most %.1f)", BIG_NODES + 3, len, secs,
          LOAD_CPU_SECONDS_MAX);
    printf("%d nodes, %zu bytes: load and list %.3f s CPU\n", BIG_NODES + 3,
           len, secs);
    if (!st) {
        float x[16], logits[CLASSES];
        for (int i = 0; i < 16; i++)
            x[i] = (float)i - 7.5f;
        dmbp_plan_options po;
        dmbp_plan_options_init(&po);
        /* The budget: 1 KiB cannot hold the weights. */
        po.max_memory = 1024;
        dmbp_plan *p = NULL;
        st = dmbp_plan_create(m, &po, &p);
        CHECK(st == DMBP_ERR_SHAPE, "1 KiB budget: %s",
              dmbp_status_str(st));
        /* In units that show it (issue #21: "budget of 0 MiB" before). */
        CHECK(strstr(dmbp_last_error(), "budget of 1 KiB") &&
              !strstr(dmbp_last_error(), " 0 MiB"), "message: %s",
              dmbp_last_error());
        dmbp_plan_free(p);
        (void)x;
        (void)logits;
    }
    dmbp_model_free(m);
    free(data);
}

int main(void)
{
    test_big_model();
    return failures != 0;
}
