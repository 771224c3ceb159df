/* An operator plugin for libdmbp: "Swishx", y = x * sigmoid(beta * x),
 * an element-wise activation with an attribute beta (default 1), with
 * every callback, so that every attribution method works through it.
 *
 * Build (outside the tree):
 *   cc -shared -fPIC -o swish_plugin.so swish_plugin.c \
 *      $(pkg-config --cflags --libs dmbp)
 * Use:
 *   dmbp explain --plugin ./swish_plugin.so model.onnx image.png
 * The model names the op "Swishx" (any domain, e.g. org.dmbp.example).
 *
 * The reverse callbacks get the forward pass's input x, so they recompute
 * the local derivative
 *   f'(x) = s + beta * x * s * (1 - s),  s = sigmoid(beta * x)
 * instead of storing it: backward dx = f'(x) * dy, tangent ty = f'(x) * tx. */
#include <dmbp.h>
#include <dmbp_plugin.h>

#include <math.h>

#define SWISH_DEFAULT_BETA 1.0f

static float sigmoid(float v)
{
    return 1.f / (1.f + expf(-v));
}

static dmbp_status get_beta(const dmbp_node *node, float *beta)
{
    return dmbp_node_attr_float(node, "beta", SWISH_DEFAULT_BETA, beta);
}

static dmbp_status swish_infer(void *user, const dmbp_node *node, int n_in,
                               const dmbp_shape *in, int n_out,
                               dmbp_shape *out)
{
    (void)user;
    float beta;
    if (n_in != 1 || n_out != 1)
        return dmbp_set_error(DMBP_ERR_UNSUPPORTED, "Swishx takes one input "
                              "and gives one output");
    dmbp_status st = get_beta(node, &beta);
    if (st)
        return st;
    out[0] = in[0];
    return DMBP_OK;
}

static dmbp_status swish_forward(void *user, const dmbp_node *node, int n_in,
                                 const dmbp_shape *in_shapes,
                                 const float *const *in, int n_out,
                                 const dmbp_shape *out_shapes,
                                 float *const *out)
{
    (void)user, (void)n_in, (void)n_out, (void)out_shapes;
    float beta;
    dmbp_status st = get_beta(node, &beta);
    if (st)
        return st;
    int64_t n = dmbp_shape_numel(&in_shapes[0]);
    for (int64_t i = 0; i < n; i++)
        out[0][i] = in[0][i] * sigmoid(beta * in[0][i]);
    return DMBP_OK;
}

/* sig * f'(x) into res, element by element. */
static dmbp_status swish_linearised(const dmbp_node *node,
                                   const dmbp_shape *shape, const float *x,
                                   const float *sig, float *res)
{
    float beta;
    dmbp_status st = get_beta(node, &beta);
    if (st)
        return st;
    int64_t n = dmbp_shape_numel(shape);
    for (int64_t i = 0; i < n; i++) {
        float s = sigmoid(beta * x[i]);
        res[i] = sig[i] * (s + beta * x[i] * s * (1.f - s));
    }
    return DMBP_OK;
}

static dmbp_status swish_backward(void *user, const dmbp_node *node,
                                  int n_in, const dmbp_shape *in_shapes,
                                  const float *const *in, int n_out,
                                  const dmbp_shape *out_shapes,
                                  const float *const *out,
                                  const float *const *dout, float *const *din)
{
    (void)user, (void)n_in, (void)n_out, (void)out_shapes, (void)out;
    if (!din[0])
        return DMBP_OK;   /* the input needs no gradient */
    return swish_linearised(node, &in_shapes[0], in[0], dout[0], din[0]);
}

static dmbp_status swish_tangent(void *user, const dmbp_node *node, int n_in,
                                 const dmbp_shape *in_shapes,
                                 const float *const *in, int n_out,
                                 const dmbp_shape *out_shapes,
                                 const float *const *out,
                                 const float *const *tin, float *const *tout)
{
    (void)user, (void)n_in, (void)n_out, (void)out_shapes, (void)out;
    if (!tout[0])
        return DMBP_OK;
    if (!tin[0]) {   /* a constant input: no perturbation */
        int64_t n = dmbp_shape_numel(&in_shapes[0]);
        for (int64_t i = 0; i < n; i++)
            tout[0][i] = 0.f;
        return DMBP_OK;
    }
    return swish_linearised(node, &in_shapes[0], in[0], tin[0], tout[0]);
}

/* What `dmbp --plugin` calls. */
__attribute__((visibility("default"))) dmbp_status dmbp_plugin_register(void)
{
    dmbp_op_def def;
    dmbp_op_def_init(&def);
    def.op_type = "Swishx";
    def.traits = DMBP_OP_GATE;
    def.infer = swish_infer;
    def.forward = swish_forward;
    def.backward = swish_backward;
    def.tangent = swish_tangent;
    return dmbp_op_register(&def);
}
