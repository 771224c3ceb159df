/* What every file of the library uses: the public API built as the
 * library, errors (error.c), overflow-checked sizes (checked.h) and small
 * utilities (util.c). Not installed; no oneDNN here (src/plan_dnnl.h). */
#ifndef DMBP_BASE_H
#define DMBP_BASE_H

#include "config.h"

#define DMBP_BUILDING_LIBRARY 1
#include "dmbp.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors (error.c) ------------------------------------------------ */

dmbp_status dmbp__prefix_error(dmbp_status status, const char *prefix);

/* Evaluate a status-returning call; on failure return its status. */
#define TRY(call)                                                           \
    do {                                                                    \
        dmbp_status try_st_ = (call);                                       \
        if (try_st_ != DMBP_OK)                                             \
            return try_st_;                                                 \
    } while (0)

/* ---- small utilities (util.c) ----------------------------------------- */

#include "checked.h"


/* Apply dmbp_set_num_threads to the calling thread: every public entry
 * point that computes calls it first (OpenMP's thread count is per
 * thread). */
void dmbp__threads_apply(void);
void *dmbp__malloc(size_t n);            /* sets DMBP_ERR_NOMEM on NULL */
void *dmbp__calloc(size_t n, size_t size);
char *dmbp__strdup(const char *s);
/* "[2, 3, 224, 224]" into buf. */
const char *dmbp__shape_str(const dmbp_shape *s, char *buf, size_t cap);
bool dmbp__shape_eq(const dmbp_shape *a, const dmbp_shape *b);

#endif /* DMBP_BASE_H */
