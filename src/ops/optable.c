/* The op table: built-in entries (src/ops/) and those a program registers
 * through dmbp_op_register. */
#include "ops/ops.h"

#include <pthread.h>
#include <stddef.h>

static const dmbp__op_entry *const builtin[] = {
    &dmbp__op_conv,        &dmbp__op_relu,     &dmbp__op_leakyrelu,
    &dmbp__op_clip,        &dmbp__op_maxpool,  &dmbp__op_averagepool,
    &dmbp__op_globalaveragepool, &dmbp__op_batchnorm, &dmbp__op_gemm,
    &dmbp__op_matmul,      &dmbp__op_add,      &dmbp__op_concat,
    &dmbp__op_pad,         &dmbp__op_flatten,  &dmbp__op_reshape,
    &dmbp__op_dropout,     &dmbp__op_identity, &dmbp__op_softmax,
    &dmbp__op_sigmoid,     &dmbp__op_hardsigmoid, &dmbp__op_hardswish,
    &dmbp__op_tanh,        &dmbp__op_erf,      &dmbp__op_sqrt,
    &dmbp__op_pow,         &dmbp__op_mul,      &dmbp__op_sub,
    &dmbp__op_div,         &dmbp__op_reducemean, &dmbp__op_transpose,
    &dmbp__op_slice,       &dmbp__op_squeeze,  &dmbp__op_unsqueeze,
    &dmbp__op_layernorm,
};
#define N_BUILTIN ((int)(sizeof builtin / sizeof builtin[0]))

/* Registered entries live until the process ends: models keep pointers
 * to them. */
static dmbp__op_entry **user_ops;
static int n_user_ops;
static char *op_list_cache;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;

const dmbp__op_entry *dmbp__op_find(const char *type)
{
    for (int i = 0; i < N_BUILTIN; i++)
        if (!strcmp(builtin[i]->type, type))
            return builtin[i];
    const dmbp__op_entry *found = NULL;
    pthread_mutex_lock(&table_lock);
    for (int i = 0; i < n_user_ops && !found; i++)
        if (!strcmp(user_ops[i]->type, type))
            found = user_ops[i];
    pthread_mutex_unlock(&table_lock);
    return found;
}

/* Smallest struct_size a header can have set (0.1's layout). */
#define OP_DEF_V2_MIN (offsetof(dmbp_op_def, struct_size) + sizeof(size_t))
/* Traits a plugin may declare: the others need hooks (channel_affine,
 * mask sites on weights, BN folding into the weights) that the plugin
 * interface does not have. */
#define PLUGIN_TRAITS                                                       \
    (DMBP_OP_GATE | DMBP_OP_LAYOUT | DMBP_OP_POOL | DMBP_OP_FEATURE_MAP |   \
     DMBP_OP_PASSTHROUGH | DMBP_OP_OUTPUT_NORMALIZER)

void dmbp_op_def_init_sized(dmbp_op_def *def, size_t struct_size)
{
    if (!def || struct_size < OP_DEF_V2_MIN)
        return;
    memset(def, 0, struct_size);
    def->struct_size = struct_size;
}

/* Register the first `size` bytes of def_in (the rest taken as zero). */
static dmbp_status op_register(const dmbp_op_def *def_in, size_t size)
{
    dmbp_op_def def;
    memset(&def, 0, sizeof def);
    memcpy(&def, def_in, size);
    def.struct_size = sizeof def;
    if (!def.op_type || !def.op_type[0] || !def.infer || !def.forward)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_op_register: op_type, "
                              "infer and forward are required");
    if (!def.backward != !def.tangent)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_op_register: op %s has "
                              "only one of backward and tangent (give both "
                              "or neither)", def.op_type);
    if (def.traits & ~(unsigned)PLUGIN_TRAITS)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_op_register: op %s: "
                              "traits 0x%x are not available to plugins "
                              "(allowed: 0x%x)", def.op_type,
                              def.traits & ~(unsigned)PLUGIN_TRAITS,
                              (unsigned)PLUGIN_TRAITS);
    if (dmbp__op_find(def.op_type))
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_op_register: op %s is "
                              "already in the table", def.op_type);
    dmbp__op_entry *e = dmbp__calloc(1, sizeof *e);
    char *type = dmbp__strdup(def.op_type);
    if (!e || !type) {
        free(e);
        free(type);
        return DMBP_ERR_NOMEM;
    }
    *e = dmbp__op_user;
    e->type = type;
    e->user = true;
    e->def = def;
    e->def.op_type = type;
    e->traits = def.traits;
    if (!def.backward) {
        /* Predicts; the reverse engine names the node when a method
         * needs its reverse passes. */
        e->backward = NULL;
        e->tangent = NULL;
    }
    if (!def.relevance)
        e->lrp = NULL; /* no rule: `lrp` names the node */
    pthread_mutex_lock(&table_lock);
    dmbp__op_entry **nu = realloc(user_ops, (size_t)(n_user_ops + 1) * sizeof *nu);
    if (!nu) {
        pthread_mutex_unlock(&table_lock);
        free(e);
        free(type);
        return dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    }
    user_ops = nu;
    user_ops[n_user_ops++] = e;
    free(op_list_cache);
    op_list_cache = NULL;
    pthread_mutex_unlock(&table_lock);
    return DMBP_OK;
}

dmbp_status dmbp_op_register_sized(const dmbp_op_def *def)
{
    if (!def)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_op_register: NULL def");
    if (def->struct_size < OP_DEF_V2_MIN)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_op_register: struct_size "
                              "%zu: make the definition with "
                              "dmbp_op_def_init", def->struct_size);
    if (def->struct_size > sizeof *def)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_op_register: struct_size "
                              "%zu: the op was built against a newer libdmbp "
                              "(this one knows %zu bytes)", def->struct_size,
                              sizeof *def);
    return op_register(def, def->struct_size);
}

const char *dmbp_op_list(void)
{
    pthread_mutex_lock(&table_lock);
    if (!op_list_cache) {
        size_t len = 1;
        for (int i = 0; i < N_BUILTIN; i++)
            len += strlen(builtin[i]->type) + 2;
        for (int i = 0; i < n_user_ops; i++)
            len += strlen(user_ops[i]->type) + 2;
        op_list_cache = malloc(len);
        if (op_list_cache) {
            op_list_cache[0] = 0;
            for (int i = 0; i < N_BUILTIN + n_user_ops; i++) {
                const char *t = i < N_BUILTIN ? builtin[i]->type
                                              : user_ops[i - N_BUILTIN]->type;
                if (i)
                    strcat(op_list_cache, ", ");
                strcat(op_list_cache, t);
            }
        }
    }
    const char *r = op_list_cache ? op_list_cache : "";
    pthread_mutex_unlock(&table_lock);
    return r;
}
