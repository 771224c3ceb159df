/* check.h - the assertion every C test uses: on failure print where and
 * why, count it, and go on (main returns non-zero if anything failed). */
#ifndef DMBP_TESTS_CHECK_H
#define DMBP_TESTS_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);            \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
            failures++;                                                      \
        }                                                                    \
    } while (0)

#endif
