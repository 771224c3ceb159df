/* JSON text written and read back: one copy for the library (the reports
 * of an evaluation, DMBP's masks, an evaluated image's numbers) and the
 * program (its manifests), which compiles this file too (json.h). */
#include "json.h"

#include <math.h>
#include <stdlib.h>

void dmbp__json_num(FILE *f, const char *sep, double v, int digits)
{
    fputs(sep, f);
    if (isfinite(v))
        fprintf(f, "%.*g", digits, v);
    else
        fputs("null", f);
}

void dmbp__json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*c < 0x20)
                fprintf(f, "\\u%04x", *c);
            else
                fputc(*c, f);
        }
    }
    fputc('"', f);
}

const char *dmbp__json_skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

static void put_utf8(char **o, unsigned long u)
{
    char *s = *o;
    if (u < 0x80) {
        *s++ = (char)u;
    } else if (u < 0x800) {
        *s++ = (char)(0xc0 | u >> 6);
        *s++ = (char)(0x80 | (u & 0x3f));
    } else if (u < 0x10000) {
        *s++ = (char)(0xe0 | u >> 12);
        *s++ = (char)(0x80 | ((u >> 6) & 0x3f));
        *s++ = (char)(0x80 | (u & 0x3f));
    } else {
        *s++ = (char)(0xf0 | u >> 18);
        *s++ = (char)(0x80 | ((u >> 12) & 0x3f));
        *s++ = (char)(0x80 | ((u >> 6) & 0x3f));
        *s++ = (char)(0x80 | (u & 0x3f));
    }
    *o = s;
}

/* Four hex digits at p, or -1. */
static long hex4(const char *p)
{
    long u = 0;
    for (int k = 0; k < 4; k++) {
        char h = p[k];
        int d = h >= '0' && h <= '9' ? h - '0'
                : h >= 'a' && h <= 'f' ? h - 'a' + 10
                : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
        if (d < 0)
            return -1;
        u = u * 16 + d;
    }
    return u;
}

/* UTF-16 surrogates: a high one must be followed by a low one. */
#define SURROGATE_HIGH 0xd800
#define SURROGATE_LOW 0xdc00
#define SURROGATE_END 0xe000

const char *dmbp__json_parse_str(const char *p, char **out)
{
    *out = NULL;
    p = dmbp__json_skip_ws(p);
    if (*p != '"')
        return NULL;
    const char *q = ++p;
    while (*q && *q != '"')
        q += (*q == '\\' && q[1]) ? 2 : 1;
    if (*q != '"')
        return NULL;
    /* Every escape is at least as long as the bytes it stands for. */
    char *s = malloc((size_t)(q - p) + 1), *o = s;
    if (!s)
        return NULL;
    while (p < q) {
        if ((unsigned char)*p < 0x20)
            goto bad; /* raw control characters are not JSON */
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        p++;
        char c = *p++;
        switch (c) {
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case '"': case '\\': case '/': *o++ = c; break;
        case 'u': {
            long u = q - p >= 4 ? hex4(p) : -1;
            if (u <= 0) /* malformed, or a NUL that would cut the name */
                goto bad;
            p += 4;
            if (u >= SURROGATE_LOW && u < SURROGATE_END)
                goto bad;
            if (u >= SURROGATE_HIGH && u < SURROGATE_LOW) {
                long lo = q - p >= 6 && p[0] == '\\' && p[1] == 'u'
                              ? hex4(p + 2) : -1;
                if (lo < SURROGATE_LOW || lo >= SURROGATE_END)
                    goto bad;
                p += 6;
                u = 0x10000 + ((u - SURROGATE_HIGH) << 10) +
                    (lo - SURROGATE_LOW);
            }
            put_utf8(&o, (unsigned long)u);
            break;
        }
        default: goto bad;
        }
    }
    *o = 0;
    *out = s;
    return q + 1;
bad:
    free(s);
    return NULL;
}
