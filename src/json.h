/* json.h - JSON text, written and read back (json.c): the library's and
 * the program's one copy. Needs only the C library, so that the dmbp
 * program, which sees no other internal header, compiles json.c too. */
#ifndef DMBP_JSON_H
#define DMBP_JSON_H

#include <stdio.h>

/* sep, then v with digits significant digits (null when not finite). */
void dmbp__json_num(FILE *f, const char *sep, double v, int digits);
/* s as a string literal ('"', '\\' and control characters escaped). */
void dmbp__json_str(FILE *f, const char *s);
/* Past spaces, tabs, CRs and LFs. */
const char *dmbp__json_skip_ws(const char *p);
/* The string literal at p (after whitespace), malloc'ed into *out; the
 * end returned. NULL (and *out NULL) if it is not one: malformed, a raw
 * control character, an unknown escape, \u0000 (it would cut the
 * string), a lone surrogate, or out of memory. */
const char *dmbp__json_parse_str(const char *p, char **out);

#endif
