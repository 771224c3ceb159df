/* dmbp_eval_options_set (dmbp_eval.h): a metric option by the name dmbp
 * eval gives it (its --NAME without the dashes), its value as text: the
 * one path from eval's command line to dmbp_eval_options. */
#include "eval/eval.h"

#include <errno.h>
#include <limits.h>

dmbp_status dmbp_eval_options_set(dmbp_eval_options *o, const char *name,
                                  const char *value)
{
    static const char fn[] = "dmbp_eval_options_set";
    if (!o || !name || !value)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL", fn);
    if (o->struct_size < EVAL_OPTIONS_MIN || o->struct_size > sizeof *o)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: struct_size %zu: not a "
                              "dmbp_eval_options of dmbp_eval_options_init",
                              fn, o->struct_size);
    static const char *const ints[] = {"curve-steps", "step-pixels",
                                       "regions", "region-size",
                                       "max-lanes"};
    int *const field[] = {&o->steps, &o->step_pixels, &o->regions,
                          &o->region_size, &o->max_lanes};
    char *end = NULL;
    errno = 0;
    for (size_t k = 0; k < sizeof ints / sizeof *ints; k++) {
        if (strcmp(name, ints[k]))
            continue;
        long v = strtol(value, &end, 10);
        if (end == value || *end || errno || v < INT_MIN || v > INT_MAX)
            return dmbp_set_error(DMBP_ERR_ARG, "%s: %s '%s': not a whole "
                                  "number", fn, name, value);
        *field[k] = (int)v;
        return DMBP_OK;
    }
    if (!strcmp(name, "seed")) {
        unsigned long long v = strtoull(value, &end, 10);
        /* strtoull would negate a '-'. */
        if (*value < '0' || *value > '9' || *end || errno)
            return dmbp_set_error(DMBP_ERR_ARG, "%s: seed '%s': not a "
                                  "whole number from 0 to %llu", fn, value,
                                  (unsigned long long)UINT64_MAX);
        o->seed = (uint64_t)v;
        return DMBP_OK;
    }
    /* The substrates in the order of each option's choices. */
    static const char *const subs[2] = {"zero|blur|mean", "blur|zero|mean"};
    static const dmbp_substrate sub[2][3] = {
        {DMBP_SUBSTRATE_ZERO, DMBP_SUBSTRATE_BLUR, DMBP_SUBSTRATE_MEAN},
        {DMBP_SUBSTRATE_BLUR, DMBP_SUBSTRATE_ZERO, DMBP_SUBSTRATE_MEAN}};
    int ins = !strcmp(name, "insertion-start");
    if (!ins && strcmp(name, "substrate"))
        return dmbp_set_error(DMBP_ERR_ARG, "%s: no option '%s'", fn, name);
    int c = dmbp__choice(subs[ins], value);
    if (c < 0)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: %s '%s': expected one of "
                              "%s", fn, name, value, subs[ins]);
    if (ins)
        o->insertion_start = sub[ins][c];
    else
        o->deletion_substrate = sub[ins][c];
    return DMBP_OK;
}
