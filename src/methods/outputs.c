/* The files `dmbp explain` writes for one image (dmbp_result_write_outputs):
 * the pictures of its map, its arrays as .npy, DMBP's masks, and its
 * result as JSON; the pictures alone from arrays as saved
 * (dmbp_render_pictures, also `dmbp render`'s). */
#include "base.h"
#include "io/io.h" /* dmbp__write_whole */

#include <strings.h>

/* DMBP's arrays in the order of its .npy (dmbp_render.h). */
enum { P_W_POS, P_W_NEG, P_A_POS, P_A_NEG, P_NUISANCE, DMBP_PARTS };
static const char *const dmbp_parts[DMBP_PARTS] = {"w_pos", "w_neg", "a_pos",
                                                   "a_neg", "nuisance"};
static const char *const kinds[DMBP_OUTPUT_COUNT] = {
    "png", "pos", "neg", "mappings", "npy", "masks"};
static const char *const suffixes[DMBP_OUTPUT_MASKS] = {
    ".png", "-pos.png", "-neg.png", "-mappings.png", ".npy"};
/* Numbers in the JSON: 9 significant digits, a float exactly. */
#define JSON_DIGITS 9

static void output_defaults(dmbp_output_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
}

void dmbp_output_options_init_sized(dmbp_output_options *o,
                                    size_t struct_size)
{
    dmbp_output_options d;
    output_defaults(&d);
    dmbp__options_init(o, struct_size, &d, sizeof d, sizeof d);
}

static dmbp_status output_options(const dmbp_output_options *in,
                                  dmbp_output_options *out)
{
    output_defaults(out);
    return dmbp__options_in(in, out, sizeof *out, sizeof *out,
                            "dmbp_output_options");
}

const char *dmbp_output_kind(int k)
{
    return k >= 0 && k < DMBP_OUTPUT_COUNT ? kinds[k] : NULL;
}

size_t dmbp_output_path(dmbp_method method, const char *prefix,
                        const dmbp_output_options *o, int k, char *buf,
                        size_t cap)
{
    bool dmbp = method == DMBP_METHOD_DMBP;
    const char *masks = o && o->struct_size >= DMBP__END(dmbp_output_options,
                                                         masks)
                            ? o->masks : NULL;
    int n = 0;
    if (k == DMBP_OUTPUT_MASKS && dmbp && masks)
        n = snprintf(buf, cap, "%s", masks);
    else if (prefix && k >= 0 && k < DMBP_OUTPUT_MASKS &&
             (dmbp || k == DMBP_OUTPUT_PNG || k == DMBP_OUTPUT_NPY))
        n = snprintf(buf, cap, "%s%s", prefix, suffixes[k]);
    else if (cap)
        buf[0] = 0;
    return n > 0 ? (size_t)n : 0;
}

/* Output k's path, malloc'ed (NULL with DMBP_ERR_NOMEM set; "" when not
 * written). */
static char *path_of(dmbp_method method, const char *prefix,
                     const dmbp_output_options *o, int k)
{
    size_t len = dmbp_output_path(method, prefix, o, k, NULL, 0);
    char *s = dmbp__malloc(len + 1);
    if (s)
        dmbp_output_path(method, prefix, o, k, s, len + 1);
    return s;
}

/* ------------------------------------------------------------------ */
/* The pictures                                                       */
/* ------------------------------------------------------------------ */

static double total(const float *a, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i];
    return s;
}

/* The caption line (dmbp_output_options.caption) into buf. */
static void caption_of(char *buf, size_t cap, int target, const char *label,
                       dmbp_method method, int is_signed,
                       const float *const *parts, size_t per)
{
    int len = label ? snprintf(buf, cap, "%s (%d) %s", label, target,
                               dmbp_method_name(method))
                    : snprintf(buf, cap, "class %d %s", target,
                               dmbp_method_name(method));
    if (len < 0 || (size_t)len >= cap)
        return;
    if (method == DMBP_METHOD_DMBP)
        snprintf(buf + len, cap - (size_t)len, " F+ %.4g F- %.4g Fn %.4g",
                 total(parts[0], per), total(parts[1], per),
                 total(parts[2], per));
    else if (is_signed)
        snprintf(buf + len, cap - (size_t)len, " sum %.4g",
                 total(parts[0], per));
}

/* The map as drawn: a signed pair (*neg non-NULL), or a non-negative
 * one-channel map (several channels averaged into *mean, malloc'ed). */
static dmbp_status map_of(dmbp_method method, int is_signed,
                          const float *arrays, int channels, size_t np,
                          const float **pos, const float **neg,
                          int *drawn_channels, float **mean)
{
    size_t per = (size_t)channels * np;
    *mean = NULL;
    *drawn_channels = channels;
    if (method == DMBP_METHOD_DMBP) {
        *pos = arrays + P_A_POS * per;
        *neg = arrays + P_A_NEG * per;
        return DMBP_OK;
    }
    *pos = arrays;
    *neg = is_signed ? arrays : NULL;
    if (is_signed)
        return DMBP_OK;
    *drawn_channels = 1;
    if (channels == 1)
        return DMBP_OK;
    if (!(*mean = dmbp__malloc(np * sizeof **mean)))
        return DMBP_ERR_NOMEM;
    for (size_t p = 0; p < np; p++) {
        double s = 0;
        for (int c = 0; c < channels; c++)
            s += arrays[(size_t)c * np + p];
        (*mean)[p] = (float)(s / channels);
    }
    *pos = *mean;
    return DMBP_OK;
}

static dmbp_status draw(const float *pos, const float *neg, int c, int h,
                        int w, const dmbp_image *orig,
                        const dmbp_preprocess_options *pre,
                        const dmbp_render_options *ro, const char *path)
{
    if (neg)
        return dmbp_render_signed_original(pos, neg, c, h, w, orig, pre, ro,
                                           path);
    return dmbp_render_sequential_original(pos, h, w, orig, pre, ro, path);
}

dmbp_status dmbp_render_pictures(dmbp_method method, int is_signed,
                                 int target, const float *arrays,
                                 int channels, int height, int width,
                                 const dmbp_image *original,
                                 const dmbp_preprocess_options *pre,
                                 const char *prefix,
                                 const dmbp_output_options *o)
{
    static const char fn[] = "dmbp_render_pictures";
    if (!arrays || !prefix || channels <= 0 || height <= 0 || width <= 0)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL arrays or prefix, or "
                              "a size <= 0", fn);
    dmbp_output_options opt;
    TRY(output_options(o, &opt));
    /* The caller's render options over the defaults; the renderers
     * check them, in their own names. */
    dmbp_render_options ro;
    dmbp_render_options_init(&ro);
    if (opt.render)
        TRY(dmbp__options_in(opt.render, &ro,
                             DMBP__END(dmbp_render_options, heatmap_only),
                             sizeof ro,
                             "dmbp_render_options"));
    ro.part = DMBP_RENDER_BOTH;
    ro.caption = NULL;
    size_t np = (size_t)height * (size_t)width, per = np * (size_t)channels;
    bool dmbp = method == DMBP_METHOD_DMBP;
    char caption[DMBP_RENDER_CAPTION_MAX + 1];
    if (opt.caption) {
        const float *parts[3] = {arrays};
        for (int k = 0; dmbp && k < 3; k++)
            parts[k] = arrays + (size_t)(P_A_POS + k) * per;
        caption_of(caption, sizeof caption, target, opt.label, method,
                   is_signed, parts, per);
        ro.caption = caption;
    }
    const float *pos, *neg;
    float *mean;
    int mc;
    char *paths[DMBP_OUTPUT_NPY] = {NULL};
    dmbp_status st = map_of(method, is_signed, arrays, channels, np, &pos,
                            &neg, &mc, &mean);
    for (int k = 0; !st && k < DMBP_OUTPUT_NPY; k++)
        if (!(paths[k] = path_of(method, prefix, &opt, k)))
            st = DMBP_ERR_NOMEM;
    if (!st)
        st = draw(pos, neg, mc, height, width, original, pre, &ro,
                  paths[DMBP_OUTPUT_PNG]);
    if (dmbp) {
        /* -pos and -neg: one part each, on the scale of both. */
        ro.part = DMBP_RENDER_POSITIVE;
        if (!st)
            st = draw(pos, neg, channels, height, width, original, pre, &ro,
                      paths[DMBP_OUTPUT_POS]);
        ro.part = DMBP_RENDER_NEGATIVE;
        if (!st)
            st = draw(pos, neg, channels, height, width, original, pre, &ro,
                      paths[DMBP_OUTPUT_NEG]);
        ro.part = DMBP_RENDER_BOTH;
        ro.caption = NULL;
        if (!st)
            st = dmbp_render_mappings(arrays + P_W_POS * per,
                                      arrays + P_W_NEG * per, channels,
                                      height, width, &ro,
                                      paths[DMBP_OUTPUT_MAPPINGS]);
    }
    for (int k = 0; k < DMBP_OUTPUT_NPY; k++)
        free(paths[k]);
    free(mean);
    return st;
}

/* ------------------------------------------------------------------ */
/* One image of a result                                              */
/* ------------------------------------------------------------------ */

/* Image i's arrays in the .npy's layout: DMBP's five gathered into
 * *owned (malloc'ed), else the map itself. */
static dmbp_status arrays_of(const dmbp_result *r, int i, size_t per,
                             const float **arrays, float **owned)
{
    *owned = NULL;
    if (dmbp_result_method(r) != DMBP_METHOD_DMBP) {
        *arrays = dmbp_result_array(r, i, 0);
        return DMBP_OK;
    }
    if (!(*owned = dmbp__malloc(DMBP_PARTS * per * sizeof **owned)))
        return DMBP_ERR_NOMEM;
    for (int k = 0; k < DMBP_PARTS; k++) {
        int j = dmbp_result_find_array(r, dmbp_parts[k]);
        if (j < 0)
            return dmbp_set_error(DMBP_ERR_INTERNAL, "the result has no "
                                  "array '%s'", dmbp_parts[k]);
        memcpy(*owned + k * per, dmbp_result_array(r, i, j),
               per * sizeof **owned);
    }
    *arrays = *owned;
    return DMBP_OK;
}

static dmbp_status check_result(const char *fn, const dmbp_result *r,
                                int image, dmbp_shape *s)
{
    if (!r || image < 0 || image >= dmbp_result_num_images(r))
        return dmbp_set_error(DMBP_ERR_ARG, "%s: no result, or image %d out "
                              "of range", fn, image);
    *s = dmbp_result_array_shape(r);
    if (s->ndim != 3)
        return dmbp_set_error(DMBP_ERR_INTERNAL, "%s: the result's arrays "
                              "have %d dimensions, not 3", fn, s->ndim);
    return DMBP_OK;
}

struct masks_job {
    const dmbp_result *r;
    int i;
    const char *image_name;
};

static dmbp_status write_masks_job(const void *ctx, FILE *f)
{
    const struct masks_job *j = ctx;
    return dmbp_result_write_masks_json(j->r, j->i, j->image_name, f);
}

dmbp_status dmbp_result_write_masks_file(const dmbp_result *r, int i,
                                         const char *image_name,
                                         const char *path)
{
    if (!path)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_result_write_masks_file: "
                              "NULL path");
    struct masks_job job = {r, i, image_name};
    return dmbp__write_whole_from(path, write_masks_job, &job);
}

static void json_members(FILE *f, const dmbp_result *r, int i,
                         const dmbp_output_options *o, const char *prefix,
                         const float *map, size_t per)
{
    dmbp_method method = dmbp_result_method(r);
    fprintf(f, "\"method\": \"%s\", \"target\": %d, \"label\": ",
            dmbp_method_name(method), dmbp_result_target(r, i));
    if (o->label)
        dmbp__json_str(f, o->label);
    else
        fputs("null", f);
    dmbp__json_num(f, ", \"logit\": ", dmbp_result_logit(r, i), JSON_DIGITS);
    dmbp__json_num(f, ", \"prob\": ", dmbp_result_prob(r, i), JSON_DIGITS);
    if (dmbp_result_near_zero(r, i) == 1)
        fputs(", \"near_zero\": true", f);
    if (method != DMBP_METHOD_DMBP) /* DMBP: its scalars */
        dmbp__json_num(f, ", \"F\": ", total(map, per), JSON_DIGITS);
    fputs(", \"outputs\": {", f);
    for (int k = 0, first = 1; k < DMBP_OUTPUT_COUNT; k++) {
        char *p = path_of(method, prefix, o, k);
        if (p && *p) {
            fprintf(f, "%s\"%s\": ", first ? "" : ", ", kinds[k]);
            dmbp__json_str(f, p);
            first = 0;
        }
        free(p);
    }
    fputs("}, \"scalars\": {", f);
    for (int k = 0; k < dmbp_result_num_scalars(r); k++) {
        fputs(k ? ", " : "", f);
        dmbp__json_str(f, dmbp_result_scalar_name(r, k));
        dmbp__json_num(f, ": ", dmbp_result_scalar(r, i, k), JSON_DIGITS);
    }
    fputc('}', f);
}

dmbp_status dmbp_result_write_outputs(const dmbp_result *r, int image,
                                      const dmbp_image *original,
                                      const dmbp_preprocess_options *pre,
                                      const char *prefix,
                                      const dmbp_output_options *o,
                                      FILE *json)
{
    static const char fn[] = "dmbp_result_write_outputs";
    dmbp_shape s;
    TRY(check_result(fn, r, image, &s));
    if (!prefix)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: prefix is NULL", fn);
    dmbp_output_options opt;
    TRY(output_options(o, &opt));
    dmbp_method method = dmbp_result_method(r);
    if (opt.masks && method != DMBP_METHOD_DMBP)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: masks asked of a %s "
                              "result (DMBP's only)", fn,
                              dmbp_method_name(method));
    size_t per = (size_t)dmbp_shape_numel(&s);
    const float *arrays;
    float *owned;
    dmbp_status st = arrays_of(r, image, per, &arrays, &owned);
    if (!st)
        st = dmbp_render_pictures(method, dmbp_result_signed(r),
                                  dmbp_result_target(r, image), arrays,
                                  (int)s.dims[0], (int)s.dims[1],
                                  (int)s.dims[2], original, pre, prefix,
                                  &opt);
    char *npy = st ? NULL : path_of(method, prefix, &opt, DMBP_OUTPUT_NPY);
    if (!st && !npy)
        st = DMBP_ERR_NOMEM;
    if (!st) {
        int64_t dims[4] = {DMBP_PARTS, s.dims[0], s.dims[1], s.dims[2]};
        bool dmbp = method == DMBP_METHOD_DMBP;
        st = dmbp_write_npy(npy, arrays, dmbp ? dims : dims + 1,
                            dmbp ? 4 : 3);
    }
    if (!st && opt.masks)
        st = dmbp_result_write_masks_file(r, image, opt.image_name,
                                              opt.masks);
    if (!st && json)
        json_members(json, r, image, &opt, prefix, arrays, per);
    free(npy);
    free(owned);
    return st;
}

dmbp_status dmbp_result_render_scale(const dmbp_result *r, int image,
                                     const dmbp_render_options *ro,
                                     double *scale)
{
    dmbp_shape s;
    TRY(check_result("dmbp_result_render_scale", r, image, &s));
    size_t per = (size_t)dmbp_shape_numel(&s);
    size_t np = (size_t)s.dims[1] * (size_t)s.dims[2];
    const float *arrays, *pos, *neg;
    float *owned, *mean = NULL;
    int mc;
    dmbp_status st = arrays_of(r, image, per, &arrays, &owned);
    if (!st)
        st = map_of(dmbp_result_method(r), dmbp_result_signed(r), arrays,
                    (int)s.dims[0], np, &pos, &neg, &mc, &mean);
    if (!st)
        st = dmbp_render_scale(pos, neg, mc, (int)s.dims[1], (int)s.dims[2],
                               ro, scale);
    free(mean);
    free(owned);
    return st;
}

dmbp_status dmbp_result_shared_scale(const dmbp_result *r,
                                     const dmbp_render_options *ro,
                                     double *scale)
{
    if (!r || !scale)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_result_shared_scale: "
                              "NULL argument");
    double most = 0;
    for (int i = 0; i < dmbp_result_num_images(r); i++) {
        double s;
        TRY(dmbp_result_render_scale(r, i, ro, &s));
        most = s > most ? s : most;
    }
    *scale = most; /* may be ro->scale: written last */
    return DMBP_OK;
}

/* ---- names (dmbp explain's) --------------------------------------------- */

/* Extensions a stem drops. */
static const char *const image_ext[] = {".png", ".jpg", ".jpeg"};
/* Numbers in PREFIX-NN-<stem> have at least this many digits. */
#define PREFIX_DIGITS 2
#define PREFIX_EXTRA 64

char *dmbp_output_stem(const char *image)
{
    if (!image) {
        dmbp_set_error(DMBP_ERR_ARG, "dmbp_output_stem: NULL");
        return NULL;
    }
    if (!strcmp(image, "-"))
        return dmbp__strdup("stdin");
    const char *base = strrchr(image, '/');
    base = base ? base + 1 : image;
    size_t len = strlen(base);
    for (size_t k = 0; k < sizeof image_ext / sizeof *image_ext; k++) {
        size_t lx = strlen(image_ext[k]);
        if (len > lx && !strcasecmp(base + len - lx, image_ext[k])) {
            len -= lx;
            break;
        }
    }
    char *s = strndup(base, len);
    if (!s)
        dmbp_set_error(DMBP_ERR_NOMEM, "out of memory");
    return s;
}

char *dmbp_output_prefix(const char *dir, const char *prefix,
                         const char *image, int i, int n, dmbp_method method)
{
    if (prefix && n == 1)
        return dmbp__strdup(prefix);
    char *stem = dmbp_output_stem(image);
    if (!stem)
        return NULL;
    int digits = PREFIX_DIGITS;
    for (int m = n; m >= 100; m /= 10)
        digits++;
    const char *d = dir ? dir : "";
    size_t cap = strlen(d) + strlen(stem) + PREFIX_EXTRA +
                 (prefix ? strlen(prefix) : 0);
    char *s = dmbp__malloc(cap);
    if (s) {
        char num[16];
        snprintf(num, sizeof num, "%0*d", digits & 15, i + 1);
        if (prefix)
            snprintf(s, cap, "%s-%s-%s", prefix, num, stem);
        else
            snprintf(s, cap, "%s%s%s-%s", d, dir && strcmp(d, "/") ? "/" : "",
                     stem, dmbp_method_name(method));
    }
    free(stem);
    return s;
}

char *dmbp_output_masks_path(const char *file, int i, int n)
{
    size_t len = file ? strlen(file) : 0;
    char *s = file ? dmbp__malloc(len + 16) : NULL;
    if (!s)
        return NULL;
    if (n == 1) {
        memcpy(s, file, len + 1);
        return s;
    }
    /* "-<i>" before a final ".json", appended when there is none. */
    bool json = len > 5 && !strcasecmp(file + len - 5, ".json");
    size_t head = json ? len - 5 : len;
    snprintf(s, len + 16, "%.*s-%d%s", (int)head, file, i + 1,
             json ? file + head : "");
    return s;
}

/* ---- lines (dmbp explain's and dmbp masks') -------------------------- */

dmbp_status dmbp_result_write_line(const dmbp_result *r, int image,
                                   const char *name, const char *label,
                                   const char *path, int details, FILE *f)
{
    if (!r || !name || !path || !f || image < 0 ||
        image >= dmbp_result_num_images(r))
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_result_write_line: NULL "
                              "argument or image %d out of range", image);
    int t = dmbp_result_target(r, image);
    dmbp_method method = dmbp_result_method(r);
    fprintf(f, "%s: class %d (%s) logit %.4f p=%.4f -> %s", name, t,
            label ? label : "-", dmbp_result_logit(r, image),
            dmbp_result_prob(r, image), path);
    int k = dmbp_result_find_scalar(r, "completeness_gap");
    if (details && method == DMBP_METHOD_IG && k >= 0)
        fprintf(f, " completeness gap %.4g", dmbp_result_scalar(r, image, k));
    static const char *const shown[3][2] = {
        {"F+", "F_pos"}, {"F-", "F_neg"}, {"Fn", "F_nuisance"}};
    for (int s = 0; details && method == DMBP_METHOD_DMBP && s < 3; s++) {
        k = dmbp_result_find_scalar(r, shown[s][1]);
        if (k >= 0)
            fprintf(f, " %s %.4g", shown[s][0], dmbp_result_scalar(r, image, k));
    }
    if (details && dmbp_result_near_zero(r, image) == 1)
        fprintf(f, " warning: the map is near zero (sum of |map| below %g x "
                "max(|logit|, 1)): its picture shows noise at full strength",
                DMBP_NEAR_ZERO_RATIO);
    return ferror(f) ? dmbp_set_error(DMBP_ERR_IO, "%s: write error", name)
                     : DMBP_OK;
}

dmbp_status dmbp_result_write_top_masks(const dmbp_result *r, int image,
                                        int top, FILE *f)
{
    if (!r || !f || image < 0 || image >= dmbp_result_num_images(r))
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_result_write_top_masks: "
                              "NULL argument or image %d out of range",
                              image);
    int *idx = dmbp__malloc((size_t)(top > 0 ? top : 1) * sizeof *idx);
    if (!idx)
        return DMBP_ERR_NOMEM;
    for (int l = 0; l < dmbp_result_num_mask_layers(r); l++) {
        const char *name;
        int ch;
        int64_t off;
        if (dmbp_result_mask_layer(r, l, &name, &ch, &off))
            continue;
        fprintf(f, "%s (%d channels)\n", name, ch);
        for (int s = 0; s < 2; s++) {
            const float *m = dmbp_result_masks(r, image, s) + off;
            int k = dmbp_result_top_masks(r, image, l, s, top, idx);
            fprintf(f, "  %s", s ? "m-" : "m+");
            for (int j = 0; j < k; j++)
                fprintf(f, "  %d:%.4f", idx[j], m[idx[j]]);
            fprintf(f, "\n");
        }
    }
    free(idx);
    return ferror(f) ? dmbp_set_error(DMBP_ERR_IO, "write error") : DMBP_OK;
}
