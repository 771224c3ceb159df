/* The result object: arrays and scalars per image, found by name, and
 * what a method allocates and fills (dmbp__result_alloc). */
#include "base.h"

#include "methods/methods.h"

dmbp_status dmbp__result_alloc(dmbp_result *r, int n_arrays,
                               const char *const *names, int channels,
                               int h, int w, int n_scalars,
                               const char *const *scalar_names)
{
    r->n_arrays = n_arrays;
    r->array_names = names;
    r->ashape.ndim = 3;
    r->ashape.dims[0] = channels;
    r->ashape.dims[1] = h;
    r->ashape.dims[2] = w;
    size_t per = (size_t)channels * h * w;
    r->arrays = dmbp__calloc((size_t)r->n * n_arrays * per, sizeof(float));
    r->n_scalars = n_scalars;
    r->scalar_names = scalar_names;
    r->scalars = dmbp__calloc((size_t)r->n * (n_scalars ? n_scalars : 1),
                              sizeof(double));
    return r->arrays && r->scalars ? DMBP_OK : DMBP_ERR_NOMEM;
}

float *dmbp__result_array(dmbp_result *r, int image, int k)
{
    size_t per = (size_t)dmbp_shape_numel(&r->ashape);
    return r->arrays + ((size_t)image * r->n_arrays + k) * per;
}

void dmbp_result_free(dmbp_result *r)
{
    if (!r)
        return;
    free(r->target);
    free(r->logit);
    free(r->prob);
    free(r->arrays);
    free(r->scalars);
    for (int i = 0; i < r->n_mask_layers; i++)
        free(r->ml_names[i]);
    free(r->ml_names);
    free(r->ml_channels);
    free(r->ml_offset);
    free(r->masks);
    free(r->loss);
    free(r);
}

int dmbp_result_num_images(const dmbp_result *r)
{
    return r ? r->n : 0;
}

dmbp_method dmbp_result_method(const dmbp_result *r)
{
    return r ? r->method : DMBP_METHOD_SALIENCY;
}

static bool image_ok(const dmbp_result *r, int i)
{
    return r && i >= 0 && i < r->n;
}

int dmbp_result_target(const dmbp_result *r, int image)
{
    return image_ok(r, image) ? r->target[image] : -1;
}

float dmbp_result_logit(const dmbp_result *r, int image)
{
    return image_ok(r, image) ? r->logit[image] : NAN;
}

float dmbp_result_prob(const dmbp_result *r, int image)
{
    return image_ok(r, image) ? r->prob[image] : NAN;
}

int dmbp_result_num_arrays(const dmbp_result *r)
{
    return r ? r->n_arrays : 0;
}

const char *dmbp_result_array_name(const dmbp_result *r, int k)
{
    return r && k >= 0 && k < r->n_arrays ? r->array_names[k] : NULL;
}

dmbp_shape dmbp_result_array_shape(const dmbp_result *r)
{
    dmbp_shape none = {0, {0}};
    return r ? r->ashape : none;
}

int64_t dmbp_result_num_masks(const dmbp_result *r)
{
    return r && r->masks ? r->n_masks : 0;
}

const float *dmbp_result_array(const dmbp_result *r, int image, int k)
{
    if (!image_ok(r, image) || k < 0 || k >= r->n_arrays)
        return NULL;
    return dmbp__result_array((dmbp_result *)r, image, k);
}

int dmbp_result_signed(const dmbp_result *r)
{
    return r ? r->signed_map : 0;
}

int dmbp_result_near_zero(const dmbp_result *r, int image)
{
    if (!image_ok(r, image))
        return -1;
    /* The attribution's arrays: DMBP's a_pos, a_neg, nuisance (not its
     * mappings w_pos, w_neg), a baseline's one map. */
    static const char *const parts[] = {"a_pos", "a_neg", "nuisance"};
    size_t per = (size_t)dmbp_shape_numel(&r->ashape);
    double sum = 0;
    for (int k = 0; k < r->n_arrays; k++) {
        bool part = r->method != DMBP_METHOD_DMBP;
        for (size_t j = 0; !part && j < sizeof parts / sizeof *parts; j++)
            part = !strcmp(r->array_names[k], parts[j]);
        const float *a = part ? dmbp__result_array((dmbp_result *)r, image, k)
                              : NULL;
        for (size_t s = 0; a && s < per; s++)
            sum += fabs((double)a[s]);
    }
    double logit = fabs((double)r->logit[image]);
    return sum < DMBP_NEAR_ZERO_RATIO * (logit > 1 ? logit : 1);
}

int dmbp_result_num_scalars(const dmbp_result *r)
{
    return r ? r->n_scalars : 0;
}

const char *dmbp_result_scalar_name(const dmbp_result *r, int k)
{
    return r && k >= 0 && k < r->n_scalars ? r->scalar_names[k] : NULL;
}

double dmbp_result_scalar(const dmbp_result *r, int image, int k)
{
    if (!image_ok(r, image) || k < 0 || k >= r->n_scalars)
        return NAN;
    return r->scalars[(size_t)image * r->n_scalars + k];
}

int dmbp_result_find_array(const dmbp_result *r, const char *name)
{
    for (int k = 0; r && name && k < r->n_arrays; k++)
        if (!strcmp(r->array_names[k], name))
            return k;
    return -1;
}

int dmbp_result_find_scalar(const dmbp_result *r, const char *name)
{
    for (int k = 0; r && name && k < r->n_scalars; k++)
        if (!strcmp(r->scalar_names[k], name))
            return k;
    return -1;
}

/* "a, b, c" of n names into buf. */
static const char *name_list(const char *const *names, int n, char *buf,
                             size_t cap)
{
    buf[0] = 0;
    for (int k = 0; k < n; k++) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s%s", k ? ", " : "", names[k]);
    }
    return buf;
}

#define NAME_LIST_CAP 512

dmbp_status dmbp_result_find(const dmbp_result *r, int image,
                             const char *name, dmbp_tensor_view *out)
{
    if (!r || !name || !out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_result_find: NULL %s",
                              !r ? "result" : !name ? "name" : "out");
    memset(out, 0, sizeof *out);
    out->value = NAN;
    if (!image_ok(r, image))
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_result_find: image %d is "
                              "out of range (the result has %d)", image,
                              r->n);
    int k = dmbp_result_find_array(r, name);
    if (k >= 0) {
        out->name = r->array_names[k];
        out->data = dmbp_result_array(r, image, k);
        out->shape = r->ashape;
        return DMBP_OK;
    }
    k = dmbp_result_find_scalar(r, name);
    if (k >= 0) {
        out->name = r->scalar_names[k];
        out->value = dmbp_result_scalar(r, image, k);
        return DMBP_OK;
    }
    char arrays[NAME_LIST_CAP], scalars[NAME_LIST_CAP];
    return dmbp_set_error(DMBP_ERR_ARG, "dmbp_result_find: a %s result has "
                          "no '%s' (arrays: %s; scalars: %s)",
                          r->method_name, name,
                          name_list(r->array_names, r->n_arrays, arrays,
                                    sizeof arrays),
                          r->n_scalars ? name_list(r->scalar_names,
                                                   r->n_scalars, scalars,
                                                   sizeof scalars)
                                       : "none");
}

int dmbp_result_num_mask_layers(const dmbp_result *r)
{
    return r ? r->n_mask_layers : 0;
}

dmbp_status dmbp_result_mask_layer(const dmbp_result *r, int layer,
                                   const char **name, int *channels,
                                   int64_t *offset)
{
    if (!r || layer < 0 || layer >= r->n_mask_layers)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_result_mask_layer: no "
                              "layer %d", layer);
    if (name)
        *name = r->ml_names[layer];
    if (channels)
        *channels = r->ml_channels[layer];
    if (offset)
        *offset = r->ml_offset[layer];
    return DMBP_OK;
}

const float *dmbp_result_masks(const dmbp_result *r, int image, int set)
{
    if (!image_ok(r, image) || !r->masks || set < 0 || set > 1)
        return NULL;
    return r->masks + ((size_t)image * 2 + set) * (size_t)r->n_masks;
}

int dmbp_result_num_iterations(const dmbp_result *r)
{
    return r ? r->n_iters : 0;
}

const float *dmbp_result_loss_curve(const dmbp_result *r, int image)
{
    if (!image_ok(r, image) || !r->loss)
        return NULL;
    return r->loss + (size_t)image * r->n_iters;
}
