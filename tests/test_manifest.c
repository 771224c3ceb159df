/* Manifest lines read back (dmbp_manifest_parse in dmbp.h), against
 * lines written here by hand: a record's input, status, outputs and the
 * input's size and mtime; a set's keys and values in order; escapes and a
 * surrogate pair decoded; a line read only as far as its length; and each
 * kind of bad line refused (an "ok" record without outputs, an unknown
 * status, a NUL byte, a raw control character, \u0000, a lone surrogate,
 * nesting deeper than DMBP_MANIFEST_MAX_DEPTH, text after the object, a
 * set line with other members, a count that is not a whole number). */
#include "testlib.h"

#include <dmbp.h>

#include <stdlib.h>
#include <string.h>

static dmbp_manifest_kind parse(const char *line, dmbp_manifest_line **l)
{
    return dmbp_manifest_parse(line, strlen(line), l);
}

static void expect_bad(const char *line, size_t len, const char *why)
{
    dmbp_manifest_line *l = (dmbp_manifest_line *)&l;
    CHECK(dmbp_manifest_parse(line, len, &l) == DMBP_MANIFEST_BAD && !l,
          "%s accepted: %.80s", why, line);
    dmbp_manifest_line_free(l);
}

/* {"input": "x", "status": "ok", "outputs": {}, "deep": [[[...]]]} */
static char *nested(int depth)
{
    size_t cap = 64 + 2 * (size_t)depth;
    char *s = malloc(cap);
    int n = snprintf(s, cap, "{\"input\": \"x\", \"status\": \"ok\", "
                     "\"outputs\": {}, \"deep\": ");
    for (int i = 0; i < depth; i++)
        s[n++] = '[';
    for (int i = 0; i < depth; i++)
        s[n++] = ']';
    s[n++] = '}';
    s[n] = 0;
    return s;
}

int main(void)
{
    dmbp_manifest_line *l = NULL;
    const char *rec = "{\"input\": \"a \\\"b\\\"\\\\c\\u00e9\\ud83d\\ude00.png\", "
                      "\"status\": \"ok\", \"outputs\": {\"png\": \"o/a.png\", "
                      "\"npy\": \"o/a.npy\"}, \"input_size\": 1234, "
                      "\"input_mtime_ns\": 1700000000123456789, \"target\": 3,"
                      " \"scalars\": {\"F\": 1.5, \"x\": [1, {\"y\": null}]}, "
                      "\"near_zero\": true}";
    CHECK(parse(rec, &l) == DMBP_MANIFEST_ITEM && l, "record: not an item");
    CHECK(l && !strcmp(dmbp_manifest_input(l),
                       "a \"b\"\\c\xc3\xa9\xf0\x9f\x98\x80.png"),
          "input '%s'", l ? dmbp_manifest_input(l) : "");
    CHECK(dmbp_manifest_item_status(l) == DMBP_MANIFEST_OK, "status");
    CHECK(dmbp_manifest_num_outputs(l) == 2 &&
              !strcmp(dmbp_manifest_output(l, 0), "o/a.png") &&
              !strcmp(dmbp_manifest_output(l, 1), "o/a.npy") &&
              dmbp_manifest_output(l, 2) == NULL,
          "outputs");
    long long size = 0, mtime = 0;
    CHECK(dmbp_manifest_input_stat(l, &size, &mtime) == 1 && size == 1234 &&
              mtime == 1700000000123456789LL,
          "stat %lld %lld", size, mtime);
    CHECK(dmbp_manifest_num_keys(l) == 0 && !dmbp_manifest_key(l, 0),
          "a record has no keys");
    dmbp_manifest_line_free(l);

    CHECK(parse("{\"input\": \"b\", \"status\": \"failed\", \"exit_status\": 4,"
                " \"error\": \"b: not a PNG\"}", &l) == DMBP_MANIFEST_ITEM &&
              dmbp_manifest_item_status(l) == DMBP_MANIFEST_FAILED &&
              dmbp_manifest_num_outputs(l) == 0 &&
              dmbp_manifest_input_stat(l, NULL, NULL) == 0,
          "failed record");
    dmbp_manifest_line_free(l);
    CHECK(parse(" {\"status\": \"claimed\", \"input\": \"c\", \"outputs\": "
                "{\"json\": \"c.json\"}} ", &l) == DMBP_MANIFEST_ITEM &&
              dmbp_manifest_item_status(l) == DMBP_MANIFEST_CLAIMED &&
              !strcmp(dmbp_manifest_input(l), "c"),
          "claimed record, members in another order, spaces around");
    dmbp_manifest_line_free(l);

    CHECK(parse("{\"set\": {\"version\": \"0.2.0\", \"model\": \"fnv1a64:ab\","
                " \"--method\": \"gxi\"}}", &l) == DMBP_MANIFEST_SET &&
              dmbp_manifest_num_keys(l) == 3 &&
              !strcmp(dmbp_manifest_key(l, 2), "--method") &&
              !strcmp(dmbp_manifest_value(l, 2), "gxi") &&
              !strcmp(dmbp_manifest_value(l, 0), "0.2.0") &&
              !dmbp_manifest_input(l) && dmbp_manifest_item_status(l) == -1,
          "set line");
    dmbp_manifest_line_free(l);

    /* Only len bytes are read: the record ends before the junk. */
    const char *buf = "{\"input\": \"d\", \"status\": \"failed\"}GARBAGE";
    CHECK(dmbp_manifest_parse(buf, strlen(buf) - 7, &l) ==
                  DMBP_MANIFEST_ITEM &&
              !strcmp(dmbp_manifest_input(l), "d"),
          "length");
    dmbp_manifest_line_free(l);

    char *ok = nested(DMBP_MANIFEST_MAX_DEPTH - 1);
    CHECK(parse(ok, &l) == DMBP_MANIFEST_ITEM, "depth %d refused",
          DMBP_MANIFEST_MAX_DEPTH - 1);
    dmbp_manifest_line_free(l);
    char *deep = nested(DMBP_MANIFEST_MAX_DEPTH + 1);
    expect_bad(deep, strlen(deep), "too deep");
    free(ok);
    free(deep);

    const char *bad[][2] = {
        {"{\"input\": \"e\", \"status\": \"ok\"}", "ok without outputs"},
        {"{\"input\": \"e\", \"status\": \"done\", \"outputs\": {}}",
         "unknown status"},
        {"{\"status\": \"failed\"}", "no input"},
        {"{\"input\": \"e\tf\", \"status\": \"failed\"}", "raw tab"},
        {"{\"input\": \"e\\u0000f\", \"status\": \"failed\"}", "\\u0000"},
        {"{\"input\": \"e\\ud83d\", \"status\": \"failed\"}", "lone high"},
        {"{\"input\": \"e\\ude00\", \"status\": \"failed\"}", "lone low"},
        {"{\"input\": \"e\\q\", \"status\": \"failed\"}", "unknown escape"},
        {"{\"input\": \"e\", \"status\": \"failed\"} x", "text after"},
        {"{\"input\": \"e\", \"status\": \"failed\"", "unclosed"},
        {"{\"set\": {\"a\": \"b\"}, \"input\": \"e\"}", "set and input"},
        {"{\"set\": {\"a\": 1}}", "a set value not a string"},
        {"{\"input\": \"e\", \"status\": \"failed\", \"input_size\": -1}",
         "negative size"},
        {"{\"input\": \"e\", \"status\": \"failed\", \"input_size\": 1.5}",
         "fractional size"},
        {"[\"input\", \"e\"]", "an array"},
        {"", "empty"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        expect_bad(bad[k][0], strlen(bad[k][0]), bad[k][1]);
    const char nul[] = "{\"input\": \"e\", \"status\": \"failed\"}";
    char with_nul[sizeof nul];
    memcpy(with_nul, nul, sizeof nul);
    with_nul[12] = 0;
    expect_bad(with_nul, sizeof nul - 1, "a NUL byte");
    expect_bad(NULL, 0, "NULL");
    dmbp_manifest_line_free(NULL);
    printf("test_manifest: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
