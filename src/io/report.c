/* An HTML report of pictures (dmbp_report_write): one row per image, one
 * column per method, each picture embedded as a data: URI with its
 * caption, then a Markdown file's tables (dmbp eval's) as HTML tables and
 * an SVG file (eval's curves) embedded too; one self-contained file that
 * loads nothing from anywhere. */
#include "base.h"
#include "io/io.h"

#include <errno.h>
#include <stdio.h>

/* 64 MiB: far above any picture dmbp writes (DMBP_RENDER_MAX_SIDE). */
#define DEFAULT_MAX_FILE ((int64_t)64 << 20)
#define DEFAULT_TITLE "dmbp report"

static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G',
                                           '\r', '\n', 0x1a, '\n'};

static void report_defaults(dmbp_report_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->max_file_bytes = DEFAULT_MAX_FILE;
}

void dmbp_report_options_init_sized(dmbp_report_options *o,
                                    size_t struct_size)
{
    dmbp_report_options d;
    report_defaults(&d);
    dmbp__options_init(o, struct_size, &d, DMBP__END(dmbp_report_options,
                                                     max_file_bytes),
                       sizeof d);
}

/* The text being built, grown as needed; on failure ok is false. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool ok;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (!b->ok)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *s2 = realloc(b->s, cap);
        if (!s2) {
            b->ok = false;
            return;
        }
        b->s = s2;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void puts_(sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Text as HTML character data or an attribute value. */
static void esc(sbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++) {
        switch (s[i]) {
        case '&': puts_(b, "&amp;"); break;
        case '<': puts_(b, "&lt;"); break;
        case '>': puts_(b, "&gt;"); break;
        case '"': puts_(b, "&quot;"); break;
        default: put(b, s + i, 1);
        }
    }
}

static void escs(sbuf *b, const char *s)
{
    esc(b, s, strlen(s));
}

/* A whole file, at most max bytes (DMBP_ERR_IO, DMBP_ERR_FORMAT when
 * larger). */
static dmbp_status slurp(const char *path, int64_t max, unsigned char **out,
                         size_t *n)
{
    *out = NULL;
    *n = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dmbp_set_error(DMBP_ERR_IO, "%s: cannot read: %s", path,
                              strerror(errno));
    sbuf b = {.ok = true};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0 && b.ok &&
           (int64_t)(b.len + got) <= max)
        put(&b, chunk, got);
    bool err = ferror(f), big = got > 0 && b.ok;
    fclose(f);
    if (!b.ok) {
        free(b.s);
        return dmbp_set_error(DMBP_ERR_NOMEM, "%s: out of memory", path);
    }
    if (err || big) {
        free(b.s);
        return err ? dmbp_set_error(DMBP_ERR_IO, "%s: read error", path)
                   : dmbp_set_error(DMBP_ERR_FORMAT, "%s: larger than %lld "
                                    "bytes", path, (long long)max);
    }
    *out = (unsigned char *)b.s;
    *n = b.len;
    return DMBP_OK;
}

static void base64(sbuf *b, const unsigned char *p, size_t n)
{
    static const char dig[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        char q[4] = {dig[v >> 18 & 63], dig[v >> 12 & 63],
                     i + 1 < n ? dig[v >> 6 & 63] : '=',
                     i + 2 < n ? dig[v & 63] : '='};
        put(b, q, 4);
    }
}

/* <img> of a file as a data: URI; PNGs are checked by their signature. */
static dmbp_status embed(sbuf *b, const char *path, const char *type,
                         const char *alt, int64_t max)
{
    unsigned char *data;
    size_t n;
    TRY(slurp(path, max, &data, &n));
    if (!strcmp(type, "image/png") &&
        (n < sizeof png_magic || memcmp(data, png_magic, sizeof png_magic))) {
        free(data);
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: not a PNG file", path);
    }
    puts_(b, "<img src=\"data:");
    puts_(b, type);
    puts_(b, ";base64,");
    base64(b, data, n);
    puts_(b, "\" alt=\"");
    escs(b, alt);
    puts_(b, "\">");
    free(data);
    return DMBP_OK;
}

/* Index of s in v[0..n) (NULL-safe), or -1. */
static int find(const char *const *v, int n, const char *s)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], s))
            return i;
    return -1;
}

/* Markdown's inline text: **bold** and `code` (dmbp eval's), the rest
 * escaped. */
static void md_inline(sbuf *b, const char *s, size_t n)
{
    bool strong = false, code = false;
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        bool star = i + 1 < n && s[i] == '*' && s[i + 1] == '*';
        if (!star && s[i] != '`')
            continue;
        esc(b, s + from, i - from);
        if (star) {
            puts_(b, strong ? "</strong>" : "<strong>");
            strong = !strong;
            i++;
        } else {
            puts_(b, code ? "</code>" : "<code>");
            code = !code;
        }
        from = i + 1;
    }
    esc(b, s + from, n - from);
    if (code)
        puts_(b, "</code>");
    if (strong)
        puts_(b, "</strong>");
}

/* One cell of a Markdown table row ("| a | b |") as <th>/<td>. */
static void md_row(sbuf *b, const char *line, size_t len, bool head)
{
    puts_(b, "<tr>");
    size_t i = 1; /* after the leading '|' */
    while (i < len) {
        size_t j = i;
        while (j < len && line[j] != '|')
            j++;
        if (j >= len)
            break; /* text after the last '|' */
        size_t a = i, z = j;
        while (a < z && line[a] == ' ')
            a++;
        while (z > a && line[z - 1] == ' ')
            z--;
        puts_(b, head ? "<th>" : "<td>");
        md_inline(b, line + a, z - a);
        puts_(b, head ? "</th>" : "</td>");
        i = j + 1;
    }
    puts_(b, "</tr>\n");
}

/* "|---|:--:|" */
static bool md_rule(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!strchr("|-: ", line[i]))
            return false;
    return len > 0;
}

/* dmbp eval's Markdown: tables as <table>, headings, the rest as <p>. */
static void markdown(sbuf *b, const char *text, size_t n)
{
    bool in_table = false;
    for (size_t p = 0; p < n;) {
        size_t e = p;
        while (e < n && text[e] != '\n')
            e++;
        const char *line = text + p;
        size_t len = e - p;
        if (len && line[len - 1] == '\r')
            len--;
        bool row = len > 1 && line[0] == '|';
        if (row && !in_table) {
            puts_(b, "<table class=\"eval\">\n");
            in_table = true;
            /* The first row is the header when a rule follows it. */
            size_t e2 = e < n ? e + 1 : e, z = e2;
            while (z < n && text[z] != '\n')
                z++;
            md_row(b, line, len, md_rule(text + e2, z - e2));
        } else if (row && md_rule(line, len)) {
            /* the header's rule */
        } else if (row) {
            md_row(b, line, len, false);
        } else {
            if (in_table)
                puts_(b, "</table>\n");
            in_table = false;
            size_t h = 0;
            while (h < len && line[h] == '#')
                h++;
            if (len > h) {
                puts_(b, h ? "<h3>" : "<p>");
                md_inline(b, line + h + (h && line[h] == ' '),
                          len - h - (h && line[h] == ' '));
                puts_(b, h ? "</h3>\n" : "</p>\n");
            }
        }
        p = e + 1;
    }
    if (in_table)
        puts_(b, "</table>\n");
}

static const char style[] =
    "body{font-family:sans-serif;margin:1em}"
    "table{border-collapse:collapse;margin:1em 0}"
    "th,td{border:1px solid #ccc;padding:4px;vertical-align:top}"
    "table.maps img{max-width:320px;display:block}"
    "figure{margin:0}figcaption{font-size:small}"
    "table.eval td{text-align:right}";

dmbp_status dmbp_report_write(const char *path, const dmbp_report_cell *cells,
                              int n, const dmbp_report_options *in)
{
    static const char fn[] = "dmbp_report_write";
    if (!path || (n > 0 && !cells) || n < 0)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: NULL path or cells, or "
                              "n < 0", fn);
    dmbp_report_options o;
    report_defaults(&o);
    TRY(dmbp__options_in(in, &o, DMBP__END(dmbp_report_options,
                                           max_file_bytes),
                         sizeof o, "dmbp_report_options"));
    if (o.max_file_bytes < 1)
        return dmbp_set_error(DMBP_ERR_ARG, "%s: max_file_bytes %lld: must "
                              "be >= 1", fn, (long long)o.max_file_bytes);
    for (int i = 0; i < n; i++)
        if (!cells[i].image || !cells[i].method)
            return dmbp_set_error(DMBP_ERR_ARG, "%s: cell %d has no image "
                                  "or method", fn, i);
    /* Rows and columns in order of first appearance. */
    const char **rows = dmbp__calloc((size_t)n + 1, sizeof *rows);
    const char **cols = dmbp__calloc((size_t)n + 1, sizeof *cols);
    int nr = 0, nc = 0;
    if (!rows || !cols) {
        free(rows);
        free(cols);
        return DMBP_ERR_NOMEM; /* dmbp__calloc set the message */
    }
    for (int i = 0; i < n; i++) {
        if (find(rows, nr, cells[i].image) < 0)
            rows[nr++] = cells[i].image;
        if (find(cols, nc, cells[i].method) < 0)
            cols[nc++] = cells[i].method;
    }
    const char *title = o.title ? o.title : DEFAULT_TITLE;
    sbuf b = {.ok = true};
    puts_(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
              "charset=\"utf-8\">\n<title>");
    escs(&b, title);
    puts_(&b, "</title>\n<style>");
    puts_(&b, style);
    puts_(&b, "</style>\n</head>\n<body>\n<h1>");
    escs(&b, title);
    puts_(&b, "</h1>\n");
    dmbp_status st = DMBP_OK;
    if (n > 0) {
        puts_(&b, "<table class=\"maps\">\n<tr><th>image</th>");
        for (int c = 0; c < nc; c++) {
            puts_(&b, "<th>");
            escs(&b, cols[c]);
            puts_(&b, "</th>");
        }
        puts_(&b, "</tr>\n");
    }
    for (int r = 0; r < nr && !st; r++) {
        puts_(&b, "<tr><th>");
        escs(&b, rows[r]);
        puts_(&b, "</th>");
        for (int c = 0; c < nc && !st; c++) {
            puts_(&b, "<td>");
            /* The last cell given for the pair wins. */
            const dmbp_report_cell *cell = NULL;
            for (int i = 0; i < n; i++)
                if (!strcmp(cells[i].image, rows[r]) &&
                    !strcmp(cells[i].method, cols[c]))
                    cell = &cells[i];
            if (cell && cell->picture) {
                char alt[512];
                snprintf(alt, sizeof alt, "%s, %s", rows[r], cols[c]);
                puts_(&b, "<figure>");
                st = embed(&b, cell->picture, "image/png", alt,
                           o.max_file_bytes);
                if (cell->caption) {
                    puts_(&b, "<figcaption>");
                    escs(&b, cell->caption);
                    puts_(&b, "</figcaption>");
                }
                puts_(&b, "</figure>");
            }
            puts_(&b, "</td>");
        }
        puts_(&b, "</tr>\n");
    }
    if (n > 0)
        puts_(&b, "</table>\n");
    if (!st && (o.tables || o.plot))
        puts_(&b, "<h2>Evaluation</h2>\n");
    if (!st && o.tables) {
        unsigned char *md;
        size_t len;
        st = slurp(o.tables, o.max_file_bytes, &md, &len);
        if (!st)
            markdown(&b, (const char *)md, len);
        free(md);
    }
    if (!st && o.plot) {
        puts_(&b, "<p>");
        st = embed(&b, o.plot, "image/svg+xml", "deletion and insertion "
                   "curves", o.max_file_bytes);
        puts_(&b, "</p>\n");
    }
    puts_(&b, "</body>\n</html>\n");
    if (!st && !b.ok)
        st = dmbp_set_error(DMBP_ERR_NOMEM, "%s: out of memory", fn);
    if (!st)
        st = dmbp__write_whole(path, b.s, b.len);
    free(b.s);
    free(rows);
    free(cols);
    return st;
}
