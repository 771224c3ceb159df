/* What every file of the library uses: the public API built as the
 * library, errors (error.c), overflow-checked sizes (checked.h) and small
 * utilities (util.c). Not installed; no oneDNN here (src/plan/plan_int.h). */
#ifndef DMBP_BASE_H
#define DMBP_BASE_H

#include "config.h"

#define DMBP_BUILDING_LIBRARY 1
#include "dmbp.h"
#include "dmbp_eval.h"
#include "dmbp_plugin.h"
#include "dmbp_render.h"
#include "dmbp_setrun.h"

#include <math.h>
#include <stddef.h>
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
/* The index of word in "a|b|c", or -1 (the options setters' choices). */
int dmbp__choice(const char *choices, const char *word);
/* JSON text (json.h, json.c). */
#include "json.h"
/* "[2, 3, 224, 224]" into buf. */
const char *dmbp__shape_str(const dmbp_shape *s, char *buf, size_t cap);
bool dmbp__shape_eq(const dmbp_shape *a, const dmbp_shape *b);

/* ---- options structs that survive versions (util.c) ---------------------
 *
 * Every public options struct begins with size_t struct_size, which its
 * _init macro sets to sizeof the struct as the caller's header declared
 * it. Fields are only ever added at the end, so the first struct_size
 * bytes of a caller's struct are the fields that caller knows; the
 * library takes the rest from its defaults. `min` is the size of the
 * struct's first layout with struct_size (libdmbp 0.2.0), `full` what
 * this library knows (sizeof). */
#define DMBP__END(type, field)                                              \
    (offsetof(type, field) + sizeof(((type *)0)->field))

/* def holds the defaults (all `full` bytes, struct_size == full). Copy
 * them to the caller's o, only its first `size` bytes, and set
 * o->struct_size = size; a size outside [min, full] leaves struct_size 0,
 * which every reader refuses. */
void dmbp__options_init(void *o, size_t size, const void *def, size_t min,
                        size_t full);
/* The caller's struct `in` (NULL: the defaults) read into `out`, which
 * holds the defaults on entry: its first in->struct_size bytes copied
 * over them. DMBP_ERR_ARG naming `type` when struct_size is outside
 * [min, full] (0 from a struct not made by the _init macro, or the first
 * bytes of a struct from a header without struct_size). */
dmbp_status dmbp__options_in(const void *in, void *out, size_t min,
                             size_t full, const char *type);
/* For output structs: copy the library's full `res` into the caller's
 * `out`, only the bytes out->struct_size covers (same checks). */
dmbp_status dmbp__options_out(const void *res, void *out, size_t min,
                              size_t full, const char *type);

#endif /* DMBP_BASE_H */
