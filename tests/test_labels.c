/* Class labels (dmbp_labels_read, dmbp_class_label, dmbp_label_find in
 * dmbp.h): files written here by hand, and the labels models/fmnist_vgg
 * carries (Fashion-MNIST's ten classes, T-shirt/top to Ankle boot). */
#include "testlib.h"

#include <dmbp.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[] = "/tmp/test_labels.XXXXXX";

static void write_labels(const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n && fclose(f) == 0, "write");
}

static void test_read(void)
{
    dmbp_labels *l = NULL;
    static const char text[] = "cat\r\ndog\n\nbird";
    write_labels(text, sizeof text - 1);
    CHECK(dmbp_labels_read(path, 4, &l) == DMBP_OK, "read: %s",
          dmbp_last_error());
    CHECK(dmbp_labels_count(l) == 4 && !strcmp(dmbp_labels_get(l, 0), "cat") &&
              !strcmp(dmbp_labels_get(l, 1), "dog") &&
              !strcmp(dmbp_labels_get(l, 2), "") &&
              !strcmp(dmbp_labels_get(l, 3), "bird") &&
              !dmbp_labels_get(l, 4),
          "lines: CR LF, an empty line, a last line without its end");
    dmbp_labels_free(l);
    CHECK(dmbp_labels_read(path, 5, &l) == DMBP_ERR_FORMAT && !l &&
              strstr(dmbp_last_error(), "4 labels for a model with 5 classes"),
          "too few: %s", dmbp_last_error());
    static const char nul[] = "a\nb\0c\n";
    write_labels(nul, sizeof nul - 1);
    CHECK(dmbp_labels_read(path, 0, &l) == DMBP_ERR_FORMAT &&
              strstr(dmbp_last_error(), "line 2 holds a NUL byte"),
          "NUL: %s", dmbp_last_error());
    char *long_line = malloc(DMBP_LABEL_MAX + 2);
    memset(long_line, 'x', DMBP_LABEL_MAX + 1);
    long_line[DMBP_LABEL_MAX + 1] = '\n';
    write_labels(long_line, DMBP_LABEL_MAX + 2);
    CHECK(dmbp_labels_read(path, 0, &l) == DMBP_ERR_FORMAT &&
              strstr(dmbp_last_error(), "line 1 is longer than"),
          "long: %s", dmbp_last_error());
    write_labels(long_line, DMBP_LABEL_MAX); /* the longest line is fine */
    CHECK(dmbp_labels_read(path, 1, &l) == DMBP_OK &&
              strlen(dmbp_labels_get(l, 0)) == DMBP_LABEL_MAX,
          "the longest line");
    dmbp_labels_free(l);
    free(long_line);
    unlink(path);
    CHECK(dmbp_labels_read(path, 0, &l) == DMBP_ERR_IO, "missing file");
}

static void test_find(void)
{
    dmbp_model *m = tl_model("models/fmnist_vgg.onnx");
    if (!m)
        return;
    int cls = -1;
    const char *near = "x";
    CHECK(dmbp_label_find(m, NULL, 0, "Sandal", &cls, &near) == DMBP_OK &&
              cls == 5 && !near,
          "Sandal: %d", cls);
    CHECK(dmbp_label_find(m, NULL, 0, "ankle BOOT", &cls, NULL) == DMBP_OK &&
              cls == 9,
          "case ignored: %d", cls);
    /* Two edits from "Sandal": a suggestion, and the message says it. */
    CHECK(dmbp_label_find(m, NULL, 0, "Sandel", &cls, &near) ==
                  DMBP_ERR_ARG &&
              near && !strcmp(near, "Sandal") && cls == -1 &&
              strstr(dmbp_last_error(), "did you mean 'Sandal'?"),
          "Sandel: %s", dmbp_last_error());
    CHECK(dmbp_label_find(m, NULL, 0, "Sneakr", &cls, &near) ==
                  DMBP_ERR_ARG &&
              near && !strcmp(near, "Sneaker"),
          "Sneakr: %s", near ? near : "(none)");
    CHECK(dmbp_label_find(m, NULL, 0, "xyz", &cls, &near) == DMBP_ERR_ARG &&
              !near && !strstr(dmbp_last_error(), "did you mean"),
          "xyz: nothing near: %s", dmbp_last_error());
    /* The caller's labels replace the model's. */
    const char *mine[10] = {"a", "b", "c", "d", "e", "f", "g", "h", "Dup",
                            "dup"};
    CHECK(dmbp_class_label(m, mine, 10, 2) &&
              !strcmp(dmbp_class_label(m, mine, 10, 2), "c") &&
              !strcmp(dmbp_class_label(m, NULL, 0, 2), "Pullover") &&
              !dmbp_class_label(m, mine, 10, 10),
          "class labels");
    CHECK(dmbp_label_find(m, mine, 10, "Dup", &cls, NULL) == DMBP_OK &&
              cls == 8,
          "exact match before case: %d", cls);
    const char *dup[10] = {"a", "b", "c", "Dup", "e", "f", "g", "Dup", "i",
                           "j"};
    CHECK(dmbp_label_find(m, dup, 10, "Dup", &cls, NULL) == DMBP_ERR_ARG &&
              strstr(dmbp_last_error(), "classes 3 and 7 are both labelled"),
          "ambiguous: %s", dmbp_last_error());
    CHECK(dmbp_label_find(NULL, NULL, 0, "a", &cls, NULL) == DMBP_ERR_ARG,
          "NULL model");
    dmbp_model_free(m);
}

/* dmbp_target_parse: each form of a target, and the refusals saying
 * what is expected. */
static void test_target(void)
{
    dmbp_model *m = NULL;
    CHECK(dmbp_model_load(test_path("models/fmnist_vgg.onnx"), &m) ==
              DMBP_OK, "load: %s", dmbp_last_error());
    if (!m)
        return;
    static const struct {
        const char *spec;
        int want;
    } ok[] = {{"auto", -1}, {"top:1", -1}, {"top:3", -3}, {"top:+2", -2},
              {"7", 7}, {"0", 0}, {"Sandal", 5}, {"ankle boot", 9},
              {"label:Bag", 8}};
    for (size_t k = 0; k < sizeof ok / sizeof *ok; k++) {
        int t = 99;
        dmbp_status st = dmbp_target_parse(m, NULL, 0, ok[k].spec, &t);
        CHECK(!st && t == ok[k].want, "'%s': %d (%s), want %d", ok[k].spec,
              t, st ? dmbp_last_error() : "ok", ok[k].want);
    }
    static const struct {
        const char *spec, *says;
    } bad[] = {{"top:11", "top:K needs K from 1 to 10"},
               {"top:0", "top:K needs K"},
               {"10", "a class from 0 to 9"},
               {"Sandel", "did you mean 'Sandal'?"},
               {"label:3", "label:NAME for a label"}};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        int t;
        dmbp_status st = dmbp_target_parse(m, NULL, 0, bad[k].spec, &t);
        CHECK(st == DMBP_ERR_ARG && strstr(dmbp_last_error(), bad[k].says),
              "'%s' accepted or told otherwise: %s", bad[k].spec,
              dmbp_last_error());
    }
    /* The caller's labels, a number among them only as label:NAME. */
    const char *mine[10] = {"a", "b", "3", "d", "e", "f", "g", "h", "i", "j"};
    int t;
    CHECK(!dmbp_target_parse(m, mine, 10, "label:3", &t) && t == 2 &&
              !dmbp_target_parse(m, mine, 10, "3", &t) && t == 3,
          "a label that reads as a number: %d", t);
    dmbp_model_free(m);
}

int main(void)
{
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    close(fd);
    test_read();
    test_find();
    test_target();
    unlink(path);
    printf("test_labels: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
