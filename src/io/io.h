/* Images in and out: decoding (image_load.c, image.c, jpeg.c), the
 * preprocessing geometry, and the rendering helpers render.c and
 * render_view.c share. */
#ifndef DMBP_IO_H
#define DMBP_IO_H

#include "base.h"

/* ---- image decoders (image.c, jpeg.c; dispatched by image_load.c) ---- */

/* Refuse a width x height image beyond DMBP_IMAGE_MAX_SIDE per side
 * (DMBP_ERR_FORMAT) or beyond o->max_pixels (DMBP_ERR_SHAPE); decoders
 * call it from the header, before allocating pixels. */
dmbp_status dmbp__image_check_size(const char *name, uint64_t width,
                                   uint64_t height,
                                   const dmbp_image_load_options *o);
/* Decode a whole file held in memory into *out (zeroed by the caller).
 * The PNG decoder edits buf in place. */
dmbp_status dmbp__png_decode(unsigned char *buf, size_t size,
                             const char *name,
                             const dmbp_image_load_options *o,
                             dmbp_image *out);
dmbp_status dmbp__jpeg_decode(const unsigned char *buf, size_t size,
                              const char *name,
                              const dmbp_image_load_options *o,
                              dmbp_image *out);

/* The resize and crop dmbp_image_preprocess applies to an h x w image:
 * resized size rh x rw, crop offset (top, left), crop size ch x cw. */
/* A caller's preprocess options read into out (the defaults for the
 * fields its struct_size does not cover); DMBP_ERR_ARG for an unknown
 * struct_size. And the library's full res written back into a caller's
 * struct, only as far as its struct_size. */
dmbp_status dmbp__preprocess_options_in(const dmbp_preprocess_options *in,
                                        dmbp_preprocess_options *out);
dmbp_status dmbp__preprocess_options_out(const dmbp_preprocess_options *res,
                                         dmbp_preprocess_options *out);
dmbp_status dmbp__preprocess_geometry(int h, int w,
                                      const dmbp_preprocess_options *o,
                                      int *rh, int *rw, int *top, int *left,
                                      int *ch, int *cw);

/* ---- rendering (render.c, render_view.c; render_px.c below both) ---- */

unsigned char dmbp__render_byte(double v);          /* [0, 1] to 0..255 */
/* buf written to path whole or not at all (a temporary file renamed over
 * it; render_px.c), also the HTML report's (report.c). */
dmbp_status dmbp__write_whole(const char *path, const void *buf, size_t n);
/* What write(ctx, f) writes, made in memory, then dmbp__write_whole: a
 * failing writer or a full memory leave no file (write's status first;
 * a failed stream is DMBP_ERR_NOMEM). */
typedef dmbp_status (*dmbp__stream_writer)(const void *ctx, FILE *f);
dmbp_status dmbp__write_whole_from(const char *path, dmbp__stream_writer write,
                                   const void *ctx);
double dmbp__percentile(double *v, size_t n, double pct); /* sorts v */
dmbp_status dmbp__write_png_rgb8(const char *path, const unsigned char *rgb,
                                 int height, int width);
int dmbp__render_upscale(int min_side, int height, int width);
void dmbp__render_blit(unsigned char *out, size_t out_w, size_t x0,
                       const unsigned char *panel, int h, int w, int f);
dmbp_status dmbp__render_options(const char *fn,
                                 const dmbp_render_options *o,
                                 dmbp_render_options *out);
dmbp_status dmbp__render_check_size(const char *fn, int channels,
                                    int height, int width);
dmbp_status dmbp__render_check_finite(const char *fn, const char *what,
                                      const float *v, int channels,
                                      int height, int width);
/* Colour a normalised map (values in [-1, 1] when is_signed, else
 * [0, 1]; scale is what 1 stands for, for the colour bar) over the
 * background (map-sized, or the original picture when pre is given),
 * add the colour bar and write the PNG. */
dmbp_status dmbp__render_compose(const char *fn, const char *path,
                                 const double *map, int is_signed,
                                 double scale, int height, int width,
                                 const dmbp_image *background,
                                 const dmbp_preprocess_options *pre,
                                 const dmbp_render_options *o);

/* ---- image sets item by item (setrun.c, setrun_open.c) ---- */

struct dmbp_setrun_paths {
    int n, cap;
    char **v;
};
void dmbp__setrun_paths_free(dmbp_setrun_paths *p);
dmbp_status dmbp__setrun_options_in(const dmbp_setrun_options *in,
                                    dmbp_setrun_options *out);
/* stat() of an item's input: a file, or an IDX set's "PATH#INDEX" (the
 * file PATH); -1 for "-" (standard input) and a missing file. */
struct stat;
int dmbp__input_stat(const char *name, struct stat *sb);
/* len bytes appended to the manifest in one write() and on disk. */
dmbp_status dmbp__setrun_append(const char *path, int fd, const char *buf,
                                size_t len);
/* Open the manifest at path for the set (before any work): done[i] for
 * each item it proves done (resume), the other items' outputs checked,
 * the head appended. *fd_out: the manifest, O_APPEND; *skipped: items
 * done; *changed: items whose input changed since their record. */
dmbp_status dmbp__setrun_manifest(const char *const *inputs, int n,
                                  const dmbp_setrun_options *o,
                                  const char *path, bool *done, int *fd_out,
                                  int *skipped, int *changed);
/* NULL when the fingerprints ((key, value) pairs) are equal, else a
 * malloc'ed "KEY was A, now B; ..." ("none" where one side lacks it). */
char *dmbp__setrun_fp_diff(const char *const *then, int n_then,
                           const char *const *now, int n_now);

#endif /* DMBP_IO_H */
