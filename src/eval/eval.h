/* Argument checks shared by the map functions (metrics.c,
 * groundtruth.c). */
#ifndef DMBP__EVAL_H
#define DMBP__EVAL_H

#include "base.h"

/* ---- argument checks of the map functions (metrics.c) ------------------- */

/* A c x h x w map: every size >= 1, at most 2^30 values (DMBP_ERR_ARG
 * naming fn). */
dmbp_status dmbp__check_map_sizes(const char *fn, int c, int h, int w);
/* Every v[0..n) finite (DMBP_ERR_NONFINITE naming fn, what and the index). */
dmbp_status dmbp__check_finite(const char *fn, const char *what,
                               const float *v, int64_t n);

#endif /* DMBP__EVAL_H */
