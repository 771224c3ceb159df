/* Rendering helpers shared by render.c and render_view.c. */
#ifndef DMBP__RENDER_INTERNAL_H
#define DMBP__RENDER_INTERNAL_H

#include "base.h"

/* ---- rendering (render.c, render_view.c) ----------------------------- */

unsigned char dmbp__render_byte(double v);          /* [0, 1] to 0..255 */
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

#endif /* DMBP__RENDER_INTERNAL_H */
