/* Image sets (dmbp_image_set, dmbp.h): a directory, a list file and
 * idx:FILE, checked against files this test writes by hand (an IDX3 file
 * of 3 images of 2 x 3 bytes and the IDX1 labels beside it) and against
 * the shipped samples; Fashion-MNIST's test set when it is installed
 * (its first labels, 9 2 1 1, from the dataset's documentation). */
#include "testlib.h"

#include <dmbp.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IDX_N 3
#define IDX_ROWS 2
#define IDX_COLS 3
#define FMNIST "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"

static char dir[] = "/tmp/test_imageset.XXXXXX";

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n && fclose(f) == 0, "write %s",
          path);
}

static void be32(unsigned char *b, unsigned v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

static void test_dir_and_list(void)
{
    dmbp_image_set *s = NULL;
    char samples[512], first[512], last[512], bag[512], coat[512];
    snprintf(samples, sizeof samples, "%s", test_path("models/samples"));
    snprintf(first, sizeof first, "%s/ankle_boot.png", samples);
    snprintf(last, sizeof last, "%s/tshirt.png", samples);
    snprintf(bag, sizeof bag, "%s/bag.png", samples);
    snprintf(coat, sizeof coat, "%s/coat.png", samples);
    CHECK(dmbp_image_set_open(samples, &s) == DMBP_OK, "dir: %s",
          dmbp_last_error());
    CHECK(dmbp_image_set_count(s) == 10, "samples: %d images",
          dmbp_image_set_count(s));
    CHECK(s && !strcmp(dmbp_image_set_name(s, 0), first) &&
              !strcmp(dmbp_image_set_name(s, 9), last),
          "samples sorted by name");
    CHECK(dmbp_image_set_true_class(s, 0) == -1 && !dmbp_image_set_is_idx(s),
          "no true classes, not idx");
    dmbp_image img = {0};
    CHECK(dmbp_image_set_load(s, 1, NULL, &img) == DMBP_OK &&
              img.height == 28 && img.width == 28,
          "load bag.png");
    dmbp_image_free(&img);
    CHECK(dmbp_image_set_load(s, 10, NULL, &img) == DMBP_ERR_ARG,
          "load past the end");
    dmbp_image_set_free(s);

    char list[256], text[1200];
    snprintf(list, sizeof list, "%s/list.txt", dir);
    snprintf(text, sizeof text, "# two images\r\n%s\r\n\n%s\n", bag, coat);
    write_file(list, text, strlen(text));
    CHECK(dmbp_image_set_open(list, &s) == DMBP_OK, "list: %s",
          dmbp_last_error());
    CHECK(dmbp_image_set_count(s) == 2 &&
              !strcmp(dmbp_image_set_name(s, 0), bag) &&
              !strcmp(dmbp_image_set_name(s, 1), coat),
          "list: names without CR, comments and blank lines");
    /* A set grows: the directory's images after the list's. */
    CHECK(dmbp_image_set_add_dir(s, samples) == DMBP_OK &&
              dmbp_image_set_count(s) == 12,
          "add_dir");
    dmbp_image_set_free(s);
    CHECK(dmbp_image_set_open(bag, &s) == DMBP_ERR_ARG &&
              !s,
          "a PNG as a list");
    CHECK(dmbp_image_set_open("no/such/dir", &s) == DMBP_ERR_IO,
          "missing path");
    CHECK(dmbp_image_set_is_image_name("a.JPEG") &&
              !dmbp_image_set_is_image_name("a.truth.png") &&
              !dmbp_image_set_is_image_name(".hidden.png") &&
              !dmbp_image_set_is_image_name("a.txt"),
          "image names");
}

static void test_idx(void)
{
    unsigned char images[16 + IDX_N * IDX_ROWS * IDX_COLS];
    be32(images, 0x803);
    be32(images + 4, IDX_N);
    be32(images + 8, IDX_ROWS);
    be32(images + 12, IDX_COLS);
    for (int k = 0; k < IDX_N * IDX_ROWS * IDX_COLS; k++)
        images[16 + k] = (unsigned char)(k * 15);
    unsigned char labels[8 + IDX_N] = {0, 0, 8, 1, 0, 0, 0, IDX_N, 7, 0, 3};
    char ip[256], lp[256], spec[300];
    snprintf(ip, sizeof ip, "%s/x-images-idx3-ubyte", dir);
    snprintf(lp, sizeof lp, "%s/x-labels-idx1-ubyte", dir);
    write_file(ip, images, sizeof images);
    write_file(lp, labels, sizeof labels);
    snprintf(spec, sizeof spec, "idx:%s", ip);
    dmbp_image_set *s = NULL;
    CHECK(dmbp_image_set_open(spec, &s) == DMBP_OK, "idx: %s",
          dmbp_last_error());
    CHECK(dmbp_image_set_count(s) == IDX_N && dmbp_image_set_is_idx(s),
          "idx: count");
    char want[300];
    snprintf(want, sizeof want, "%s#2", ip);
    CHECK(s && !strcmp(dmbp_image_set_name(s, 2), want), "idx: name %s",
          s ? dmbp_image_set_name(s, 2) : "");
    CHECK(dmbp_image_set_true_class(s, 0) == 7 &&
              dmbp_image_set_true_class(s, 1) == 0 &&
              dmbp_image_set_true_class(s, 2) == 3,
          "idx: true classes from the labels file beside it");
    dmbp_image img = {0};
    CHECK(dmbp_image_set_load(s, 1, NULL, &img) == DMBP_OK &&
              img.channels == 1 && img.height == IDX_ROWS &&
              img.width == IDX_COLS,
          "idx: load");
    for (int p = 0; img.data && p < IDX_ROWS * IDX_COLS; p++)
        CHECK(img.data[p] == (float)((6 + p) * 15) / 255.0f,
              "idx: pixel %d is %g", p, (double)img.data[p]);
    dmbp_image_free(&img);
    dmbp_image_set_free(s);

    /* Labels of another count; a truncated file; another magic. */
    labels[7] = IDX_N + 1;
    write_file(lp, labels, sizeof labels);
    CHECK(dmbp_image_set_open(spec, &s) == DMBP_ERR_FORMAT &&
              strstr(dmbp_last_error(), "not the IDX1 labels"),
          "labels of another count: %s", dmbp_last_error());
    unlink(lp);
    write_file(ip, images, sizeof images - 1);
    CHECK(dmbp_image_set_open(spec, &s) == DMBP_ERR_FORMAT &&
              strstr(dmbp_last_error(), "truncated"),
          "truncated: %s", dmbp_last_error());
    be32(images, 0x801);
    write_file(ip, images, sizeof images);
    CHECK(dmbp_image_set_open(spec, &s) == DMBP_ERR_FORMAT &&
              strstr(dmbp_last_error(), "not an IDX3 file"),
          "magic: %s", dmbp_last_error());
    CHECK(dmbp_image_set_open("idx:", &s) == DMBP_ERR_ARG, "idx: alone");
    unlink(ip);
}

static void test_fashion_mnist(void)
{
    if (access(FMNIST, R_OK) != 0) {
        printf("test_imageset: %s not installed: not tested\n", FMNIST);
        return;
    }
    dmbp_image_set *s = NULL;
    CHECK(dmbp_image_set_open("idx:" FMNIST, &s) == DMBP_OK, "fmnist: %s",
          dmbp_last_error());
    static const int first[4] = {9, 2, 1, 1};
    CHECK(dmbp_image_set_count(s) == 10000, "fmnist: %d images",
          dmbp_image_set_count(s));
    for (int i = 0; i < 4; i++)
        CHECK(dmbp_image_set_true_class(s, i) == first[i],
              "fmnist: label %d is %d", i, dmbp_image_set_true_class(s, i));
    dmbp_image_set_free(s);
}

int main(void)
{
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_dir_and_list();
    test_idx();
    test_fashion_mnist();
    char list[256];
    snprintf(list, sizeof list, "%s/list.txt", dir);
    unlink(list);
    rmdir(dir);
    printf("test_imageset: %d checks, %d failures\n", checks, failures);
    return failures != 0;
}
