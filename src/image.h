/* Image decoding and preprocessing geometry (image.c, jpeg.c,
 * image_load.c). */
#ifndef DMBP_IMAGE_H
#define DMBP_IMAGE_H

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

#endif /* DMBP_IMAGE_H */
