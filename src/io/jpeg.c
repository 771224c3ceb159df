/* JPEG decoding with libjpeg-turbo, set up as PIL sets it up by default
 * (the library's defaults: accurate integer IDCT JDCT_ISLOW, fancy
 * upsampling; colour converted by the library to RGB, gray kept as is,
 * CMYK/YCCK read as CMYK and converted as PIL's convert("RGB")), so that
 * a PyTorch pipeline reading the same file with PIL sees the same bytes.
 * Pillow links the same libjpeg.so.62 on Debian.
 *
 * The one setjmp of the library lives here (style.md otherwise forbids
 * it). libjpeg reports a fatal error by calling error_exit, which must
 * not return: the only ways out are exit() (its default, unacceptable in a
 * library) or a longjmp. libpng's simplified API hides the same longjmp
 * inside libpng; libjpeg has no such API, so the setjmp is confined to
 * decode_guarded(): every libjpeg call is made there, everything it
 * allocates is reached through the job struct (never through a local
 * modified after setjmp), and the caller frees it on both paths. */
#include "io/io.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#define GRAY_CHANNELS 1
#define RGB_CHANNELS 3
#define CMYK_COMPONENTS 4
#define SAMPLE_MAX 255.0f
#define SAMPLE_MAX_INT 255

/* EXIF: the APP1 payload starts "Exif\0\0", then a TIFF header (byte
 * order "II"/"MM", 42, offset of IFD0); IFD entries are 12 bytes: tag,
 * type, count, value. Orientation is tag 0x0112, a SHORT (type 3). */
#define EXIF_APP1 (JPEG_APP0 + 1)
#define EXIF_HEADER_LEN 6
#define TIFF_HEADER_LEN 8
#define TIFF_MAGIC 42
#define IFD_ENTRY_LEN 12
#define EXIF_TAG_ORIENTATION 0x0112
#define TIFF_TYPE_SHORT 3
#define MARKER_MAX_LEN 0xFFFF
/* Orientation values (TIFF 6.0): where row 0 / column 0 of the stored
 * image belong. 1 is as stored, 8 values in all. */
#define ORIENT_NORMAL 1
#define ORIENT_FLIP_LR 2
#define ORIENT_ROT_180 3
#define ORIENT_FLIP_TB 4
#define ORIENT_TRANSPOSE 5
#define ORIENT_ROT_CW 6
#define ORIENT_TRANSVERSE 7
#define ORIENT_ROT_CCW 8

typedef struct jpeg_job {
    struct jpeg_error_mgr err; /* first: libjpeg hands back its address */
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    int truncated;              /* JWRN_JPEG_EOF: the data ended early */
    struct jpeg_decompress_struct cinfo;
    int created;                /* cinfo needs jpeg_destroy_decompress */
    const unsigned char *buf;
    size_t size;
    const char *name;
    const dmbp_image_load_options *opts;
    unsigned char *row;         /* one decoded scanline */
    float *data;                /* the planar result */
    int channels, width, height;
    int orientation;            /* EXIF, 1..8; 1 when absent */
} jpeg_job;

static void on_error_exit(j_common_ptr c)
{
    jpeg_job *j = (jpeg_job *)(void *)c->err;
    c->err->format_message(c, j->message);
    longjmp(j->jump, 1);
}

/* Warnings and traces: never printed (a library does not write to
 * stderr). Running out of data is the one warning that matters: libjpeg
 * then fills the rest with grey, where PIL says "image file is
 * truncated"; we refuse the file likewise. Other corrupt-data warnings
 * (extraneous bytes before a marker...) leave an image PIL accepts. */
static void on_emit_message(j_common_ptr c, int level)
{
    jpeg_job *j = (jpeg_job *)(void *)c->err;
    if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF)
        j->truncated = 1;
}

static uint32_t rd16(const unsigned char *p, int big)
{
    return big ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0];
}

static uint32_t rd32(const unsigned char *p, int big)
{
    return big ? rd16(p, 1) << 16 | rd16(p + 2, 1)
               : rd16(p + 2, 0) << 16 | rd16(p, 0);
}

/* The Orientation of IFD0 of an EXIF APP1 payload; 1 when absent or
 * unreadable (a malformed EXIF block is not a reason to refuse pixels). */
static int exif_orientation(const unsigned char *p, size_t n)
{
    static const char exif_id[EXIF_HEADER_LEN] = {'E', 'x', 'i', 'f', 0, 0};
    if (n < EXIF_HEADER_LEN + TIFF_HEADER_LEN ||
        memcmp(p, exif_id, EXIF_HEADER_LEN) != 0)
        return ORIENT_NORMAL;
    const unsigned char *t = p + EXIF_HEADER_LEN;
    size_t tn = n - EXIF_HEADER_LEN;
    int big;
    if (t[0] == 'M' && t[1] == 'M')
        big = 1;
    else if (t[0] == 'I' && t[1] == 'I')
        big = 0;
    else
        return ORIENT_NORMAL;
    if (rd16(t + 2, big) != TIFF_MAGIC)
        return ORIENT_NORMAL;
    uint32_t ifd = rd32(t + 4, big);
    if (ifd > tn || tn - ifd < 2)
        return ORIENT_NORMAL;
    uint32_t count = rd16(t + ifd, big);
    for (uint32_t i = 0; i < count; i++) {
        size_t at = (size_t)ifd + 2 + (size_t)i * IFD_ENTRY_LEN;
        if (at > tn || tn - at < IFD_ENTRY_LEN)
            break;
        if (rd16(t + at, big) != EXIF_TAG_ORIENTATION)
            continue;
        if (rd16(t + at + 2, big) != TIFF_TYPE_SHORT)
            return ORIENT_NORMAL;
        /* A SHORT value sits in the first two bytes of the value field. */
        uint32_t v = rd16(t + at + 8, big);
        return v >= ORIENT_NORMAL && v <= ORIENT_ROT_CCW ? (int)v
                                                         : ORIENT_NORMAL;
    }
    return ORIENT_NORMAL;
}

/* PIL's convert("RGB") from CMYK (Convert.c cmyk2rgb), applied to PIL's
 * CMYK, which is libjpeg's output inverted ("CMYK;I": Adobe writes
 * inverted CMYK). With c' = 255 - c stored: nk = 255 - k' = k, and
 * R = nk - round(c' * nk / 255). */
static int cmyk_channel(int stored_c, int stored_k)
{
    int c = SAMPLE_MAX_INT - stored_c, nk = stored_k;
    int tmp = c * nk + 128; /* PIL's MULDIV255 */
    int v = nk - (((tmp >> 8) + tmp) >> 8);
    return v < 0 ? 0 : v > SAMPLE_MAX_INT ? SAMPLE_MAX_INT : v;
}

/* Everything that calls libjpeg. Returns DMBP_OK or a status whose error
 * is set; j->message holds libjpeg's text when it gave up. */
static dmbp_status decode_guarded(jpeg_job *j)
{
    struct jpeg_decompress_struct *ci = &j->cinfo;
    if (setjmp(j->jump))
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: %s JPEG (libjpeg: %s)",
                              j->name,
                              j->truncated ? "truncated"
                                           : "truncated or corrupt",
                              j->message);
    ci->err = jpeg_std_error(&j->err);
    j->err.error_exit = on_error_exit;
    j->err.emit_message = on_emit_message;
    jpeg_create_decompress(ci);
    j->created = 1;
    jpeg_mem_src(ci, j->buf, (unsigned long)j->size);
    if (j->opts->exif_rotate)
        jpeg_save_markers(ci, EXIF_APP1, MARKER_MAX_LEN);
    jpeg_read_header(ci, TRUE);

    dmbp_status st = dmbp__image_check_size(j->name, ci->image_width,
                                            ci->image_height, j->opts);
    if (st)
        return st;
    switch (ci->num_components) {
    case GRAY_CHANNELS:
        ci->out_color_space = JCS_GRAYSCALE;
        j->channels = GRAY_CHANNELS;
        break;
    case RGB_CHANNELS:
        ci->out_color_space = JCS_RGB;
        j->channels = RGB_CHANNELS;
        break;
    case CMYK_COMPONENTS:
        /* Without Adobe's marker nothing says whether the samples are
         * inverted (Adobe) or not (the JPEG standard's reading); PIL
         * guesses Adobe's convention, which is wrong for other writers. */
        if (!ci->saw_Adobe_marker)
            return dmbp_set_error(DMBP_ERR_FORMAT,
                                  "%s: CMYK JPEG without an Adobe marker: "
                                  "its colour polarity is unknown",
                                  j->name);
        ci->out_color_space = JCS_CMYK;
        j->channels = RGB_CHANNELS;
        break;
    default:
        return dmbp_set_error(DMBP_ERR_FORMAT,
                              "%s: JPEG with %d components (only 1, 3 and "
                              "4 are images)",
                              j->name, ci->num_components);
    }
    if (j->opts->exif_rotate)
        for (jpeg_saved_marker_ptr m = ci->marker_list; m; m = m->next)
            if (m->marker == EXIF_APP1) {
                j->orientation = exif_orientation(m->data, m->data_length);
                break;
            }

    jpeg_start_decompress(ci);
    j->width = (int)ci->output_width;
    j->height = (int)ci->output_height;
    size_t np = (size_t)j->width * (size_t)j->height;
    j->row = malloc((size_t)j->width * (size_t)ci->output_components);
    j->data = malloc(np * (size_t)j->channels * sizeof(float));
    if (!j->row || !j->data)
        return dmbp_set_error(DMBP_ERR_NOMEM,
                              "%s: out of memory for a %dx%d image", j->name,
                              j->width, j->height);
    while (ci->output_scanline < ci->output_height) {
        size_t y = ci->output_scanline;
        JSAMPROW rows[1] = {j->row};
        if (jpeg_read_scanlines(ci, rows, 1) != 1)
            break; /* only with a suspending source; not jpeg_mem_src */
        float *d = j->data + y * (size_t)j->width;
        const unsigned char *s = j->row;
        if (ci->out_color_space == JCS_CMYK) {
            for (int x = 0; x < j->width; x++, s += CMYK_COMPONENTS)
                for (int c = 0; c < RGB_CHANNELS; c++)
                    d[(size_t)c * np + (size_t)x] =
                        (float)cmyk_channel(s[c], s[RGB_CHANNELS]) /
                        SAMPLE_MAX;
        } else {
            for (int x = 0; x < j->width; x++)
                for (int c = 0; c < j->channels; c++)
                    d[(size_t)c * np + (size_t)x] =
                        (float)*s++ / SAMPLE_MAX;
        }
        if (j->truncated)
            break;
    }
    if (j->truncated || ci->output_scanline < ci->output_height)
        return dmbp_set_error(DMBP_ERR_FORMAT,
                              "%s: truncated JPEG (the data ends after row "
                              "%u of %u)",
                              j->name, (unsigned)ci->output_scanline,
                              (unsigned)ci->output_height);
    jpeg_finish_decompress(ci);
    if (j->truncated)
        return dmbp_set_error(DMBP_ERR_FORMAT,
                              "%s: truncated JPEG (the data ends before its "
                              "end marker)",
                              j->name);
    return DMBP_OK;
}

/* The source pixel of output pixel (x, y) for an EXIF orientation, as
 * PIL's ImageOps.exif_transpose transposes (w, h: the stored size). */
static void orient_source(int orientation, int w, int h, int x, int y,
                          int *sx, int *sy)
{
    switch (orientation) {
    case ORIENT_FLIP_LR: *sx = w - 1 - x; *sy = y; break;
    case ORIENT_ROT_180: *sx = w - 1 - x; *sy = h - 1 - y; break;
    case ORIENT_FLIP_TB: *sx = x; *sy = h - 1 - y; break;
    case ORIENT_TRANSPOSE: *sx = y; *sy = x; break;
    case ORIENT_ROT_CW: *sx = y; *sy = h - 1 - x; break;
    case ORIENT_TRANSVERSE: *sx = w - 1 - y; *sy = h - 1 - x; break;
    case ORIENT_ROT_CCW: *sx = w - 1 - y; *sy = x; break;
    default: *sx = x; *sy = y; break;
    }
}

static dmbp_status apply_orientation(jpeg_job *j)
{
    if (j->orientation == ORIENT_NORMAL)
        return DMBP_OK;
    int w = j->width, h = j->height;
    int swap = j->orientation >= ORIENT_TRANSPOSE;
    int ow = swap ? h : w, oh = swap ? w : h;
    size_t np = (size_t)w * (size_t)h;
    float *res = malloc(np * (size_t)j->channels * sizeof(float));
    if (!res)
        return dmbp_set_error(DMBP_ERR_NOMEM,
                              "%s: out of memory rotating a %dx%d image",
                              j->name, w, h);
    for (int c = 0; c < j->channels; c++) {
        const float *src = j->data + (size_t)c * np;
        float *dst = res + (size_t)c * np;
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                int sx, sy;
                orient_source(j->orientation, w, h, x, y, &sx, &sy);
                dst[(size_t)y * (size_t)ow + (size_t)x] =
                    src[(size_t)sy * (size_t)w + (size_t)sx];
            }
    }
    free(j->data);
    j->data = res;
    j->width = ow;
    j->height = oh;
    return DMBP_OK;
}

dmbp_status dmbp__jpeg_decode(const unsigned char *buf, size_t size,
                              const char *name,
                              const dmbp_image_load_options *o,
                              dmbp_image *out)
{
    /* On the heap: jmp_buf and the decompressor are large, and the struct
     * must outlive the longjmp target's frame only by being the caller's. */
    jpeg_job *j = calloc(1, sizeof *j);
    if (!j)
        return dmbp_set_error(DMBP_ERR_NOMEM, "%s: out of memory", name);
    j->buf = buf;
    j->size = size;
    j->name = name;
    j->opts = o;
    j->orientation = ORIENT_NORMAL;
    dmbp_status st = decode_guarded(j);
    if (j->created)
        jpeg_destroy_decompress(&j->cinfo);
    free(j->row);
    if (!st)
        st = apply_orientation(j);
    if (st) {
        free(j->data);
    } else {
        out->channels = j->channels;
        out->height = j->height;
        out->width = j->width;
        out->data = j->data;
    }
    free(j);
    return st;
}
