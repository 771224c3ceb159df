/* DMBP's learned masks of a result as JSON (what `dmbp masks` writes), and
 * the filters whose masks are largest. */
#include "base.h"

/* Significant digits of a mask value: a float exactly. */
#define MASK_DIGITS 9

dmbp_status dmbp_result_write_masks_json(const dmbp_result *r, int image,
                                         const char *image_name, FILE *f)
{
    const float *set[2] = {r ? dmbp_result_masks(r, image, 0) : NULL,
                           r ? dmbp_result_masks(r, image, 1) : NULL};
    if (!f || !set[0] || !set[1])
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_result_write_masks_json: "
                              "NULL, image %d out of range or no masks (not "
                              "a DMBP result)", image);
    fputs("{\"image\": ", f);
    dmbp__json_str(f, image_name ? image_name : "");
    fprintf(f, ", \"target\": %d, \"layers\": [",
            dmbp_result_target(r, image));
    for (int l = 0; l < dmbp_result_num_mask_layers(r); l++) {
        const char *name;
        int channels;
        int64_t offset;
        TRY(dmbp_result_mask_layer(r, l, &name, &channels, &offset));
        fprintf(f, "%s{\"name\": ", l ? ", " : "");
        dmbp__json_str(f, name);
        fprintf(f, ", \"channels\": %d", channels);
        for (int s = 0; s < 2; s++) {
            fprintf(f, ", \"%s\": [", s ? "m_neg" : "m_pos");
            for (int k = 0; k < channels; k++)
                dmbp__json_num(f, k ? ", " : "", set[s][offset + k],
                               MASK_DIGITS);
            fputc(']', f);
        }
        fputc('}', f);
    }
    fputs("]}\n", f);
    return ferror(f) ? dmbp_set_error(DMBP_ERR_IO, "write error") : DMBP_OK;
}

int dmbp_result_top_masks(const dmbp_result *r, int image, int layer,
                          int set, int k, int *idx)
{
    const char *name;
    int n;
    int64_t off;
    const float *m = r && (set == 0 || set == 1)
                         ? dmbp_result_masks(r, image, set) : NULL;
    if (!m || !idx || k < 0 ||
        dmbp_result_mask_layer(r, layer, &name, &n, &off))
        return -1;
    m += off;
    if (k > n)
        k = n;
    /* Selection: the largest not yet taken, ties to the lower index (a
     * channel is taken when it appears in idx[0..j)). */
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            bool taken = false;
            for (int q = 0; q < j && !taken; q++)
                taken = idx[q] == i;
            if (!taken && (best < 0 || m[i] > m[best]))
                best = i;
        }
        idx[j] = best;
    }
    return k;
}
