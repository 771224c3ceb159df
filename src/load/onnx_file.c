/* Reading a model file: dmbp_model_load.
 *
 * Loading a file does not hand the whole file to protobuf-c (which copies
 * every byte string): a walk over the wire format copies everything but
 * the large raw_data payloads of the graph's initializers into a small
 * "skeleton" that protobuf-c decodes (onnx_load.c), and each payload is
 * read with pread straight into the model's float array (weights.c keeps
 * the file open to read it again). Peak memory while loading is then one
 * copy of the weights, not three (file, protobuf, model). */
#include "model/model.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A model file larger than this is refused before reading it (protobuf
 * itself cannot address more than 2 GiB). */
#define DMBP_MODEL_MAX_BYTES ((size_t)2 << 30)

/* ---- the skeleton -------------------------------------------------------- */

/* ONNX field numbers and wire types on the walked path:
 * ModelProto.graph = 7, GraphProto.initializer = 5, TensorProto.raw_data
 * = 9; wire type 2 is a length-delimited field. */
#define F_MODEL_GRAPH 7
#define F_GRAPH_INITIALIZER 5
#define F_TENSOR_RAW_DATA 9
#define WT_VARINT 0
#define WT_I64 1
#define WT_LEN 2
#define WT_I32 5

typedef struct rd {
    const uint8_t *p, *end;
} rd;

typedef struct out_buf {
    uint8_t *b;
    size_t n, cap;
    bool fail;
} out_buf;

typedef struct walk {
    const uint8_t *base;        /* the file */
    dmbp__payload *pl;
    size_t n_pl, cap_pl;
    size_t n_init;              /* initializers seen */
    bool fail;
} walk;

static bool get_varint(rd *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int s = 0; s < 64 && r->p < r->end; s += 7) {
        uint8_t b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

static void put(out_buf *o, const void *d, size_t n)
{
    if (o->fail)
        return;
    if (o->cap - o->n < n) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap - o->n < n)
            cap *= 2;
        uint8_t *nb = realloc(o->b, cap);
        if (!nb) {
            o->fail = true;
            return;
        }
        o->b = nb;
        o->cap = cap;
    }
    memcpy(o->b + o->n, d, n);
    o->n += n;
}

static void put_varint(out_buf *o, uint64_t v)
{
    uint8_t b[10];
    int n = 0;
    do {
        b[n] = (uint8_t)(v & 0x7f);
        v >>= 7;
        if (v)
            b[n] |= 0x80;
        n++;
    } while (v);
    put(o, b, (size_t)n);
}

/* One field: its number, wire type, the bytes of its value (for LEN: the
 * payload after the length) and the whole field [*start, r->p). */
static bool next_field(rd *r, uint32_t *num, int *wt, const uint8_t **val,
                       uint64_t *len, const uint8_t **start)
{
    *start = r->p;
    uint64_t tag;
    if (!get_varint(r, &tag) || (tag >> 3) == 0 || (tag >> 3) > UINT32_MAX)
        return false;
    *num = (uint32_t)(tag >> 3);
    *wt = (int)(tag & 7);
    uint64_t n;
    switch (*wt) {
    case WT_VARINT:
        *val = r->p;
        return get_varint(r, &n);
    case WT_I64:
        n = 8;
        break;
    case WT_I32:
        n = 4;
        break;
    case WT_LEN:
        if (!get_varint(r, &n))
            return false;
        break;
    default:
        return false; /* groups: not in ONNX; let protobuf-c decide */
    }
    if (n > (uint64_t)(r->end - r->p))
        return false;
    *val = r->p;
    *len = n;
    r->p += n;
    return true;
}

static void tensor(walk *w, rd r, out_buf *o)
{
    bool seen = false;
    while (r.p < r.end && !w->fail) {
        uint32_t num;
        int wt;
        const uint8_t *val, *start;
        uint64_t len = 0;
        if (!next_field(&r, &num, &wt, &val, &len, &start)) {
            w->fail = true;
            return;
        }
        if (num == F_TENSOR_RAW_DATA && wt == WT_LEN &&
            len >= DMBP_WEIGHT_MIN_BYTES) {
            if (seen) { /* two raw_data fields: leave it to protobuf-c */
                w->fail = true;
                return;
            }
            seen = true;
            if (w->n_pl == w->cap_pl) {
                size_t cap = w->cap_pl ? 2 * w->cap_pl : 64;
                dmbp__payload *np = realloc(w->pl, cap * sizeof *np);
                if (!np) {
                    w->fail = true;
                    return;
                }
                w->pl = np;
                w->cap_pl = cap;
            }
            w->pl[w->n_pl++] = (dmbp__payload){
                w->n_init, (uint64_t)(val - w->base), len};
            put_varint(o, (F_TENSOR_RAW_DATA << 3) | WT_LEN);
            put_varint(o, 0);
        } else {
            put(o, start, (size_t)(r.p - start));
        }
    }
}

/* A sub-message re-encoded by fn, with its new length. */
static void sub(walk *w, out_buf *o, uint32_t num, const uint8_t *val,
                uint64_t len, void (*fn)(walk *, rd, out_buf *))
{
    out_buf s = {0};
    fn(w, (rd){val, val + len}, &s);
    if (s.fail)
        w->fail = true;
    put_varint(o, ((uint64_t)num << 3) | WT_LEN);
    put_varint(o, s.n);
    if (s.n)
        put(o, s.b, s.n);
    free(s.b);
}

static void graph(walk *w, rd r, out_buf *o)
{
    while (r.p < r.end && !w->fail) {
        uint32_t num;
        int wt;
        const uint8_t *val, *start;
        uint64_t len = 0;
        if (!next_field(&r, &num, &wt, &val, &len, &start)) {
            w->fail = true;
            return;
        }
        if (num == F_GRAPH_INITIALIZER && wt == WT_LEN) {
            sub(w, o, num, val, len, tensor);
            w->n_init++;
        } else {
            put(o, start, (size_t)(r.p - start));
        }
    }
}

int dmbp__onnx_skeleton(const uint8_t *file, size_t size, uint8_t **skel,
                        size_t *skel_size, dmbp__payload **pl, size_t *n_pl)
{
    walk w = {file, NULL, 0, 0, 0, false};
    out_buf o = {0};
    rd r = {file, file + size};
    bool graph_seen = false;
    while (r.p < r.end && !w.fail) {
        uint32_t num;
        int wt;
        const uint8_t *val, *start;
        uint64_t len = 0;
        if (!next_field(&r, &num, &wt, &val, &len, &start)) {
            w.fail = true;
            break;
        }
        if (num == F_MODEL_GRAPH && wt == WT_LEN) {
            /* Two graph fields would be merged by protobuf: initializer
             * numbering would no longer be ours. */
            if (graph_seen) {
                w.fail = true;
                break;
            }
            graph_seen = true;
            sub(&w, &o, num, val, len, graph);
        } else {
            put(&o, start, (size_t)(r.p - start));
        }
    }
    if (w.fail || o.fail) {
        free(o.b);
        free(w.pl);
        return -1;
    }
    *skel = o.b;
    *skel_size = o.n;
    *pl = w.pl;
    *n_pl = w.n_pl;
    return 0;
}

/* ---- loading a file ------------------------------------------------------ */

static dmbp_status read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dmbp_set_error(DMBP_ERR_IO, "%s: cannot open: %s", path,
                              strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return dmbp_set_error(DMBP_ERR_IO, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > DMBP_MODEL_MAX_BYTES) {
        fclose(f);
        return dmbp_set_error(DMBP_ERR_FORMAT,
                              "%s: %lld bytes is larger than an ONNX file "
                              "can be (2 GiB)", path, (long long)st.st_size);
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return dmbp_set_error(DMBP_ERR_NOMEM, "%s: out of memory reading "
                              "%zu bytes", path, n);
    }
    if (n && fread(buf, 1, n, f) != n) {
        free(buf);
        fclose(f);
        return dmbp_set_error(DMBP_ERR_IO, "%s: read error", path);
    }
    fclose(f);
    *data = buf;
    *size = n;
    return DMBP_OK;
}

/* The whole file through protobuf-c, as dmbp_model_load_memory does. */
static dmbp_status load_whole(const char *path, const char *dir,
                              dmbp_model **out)
{
    uint8_t *data = NULL;
    size_t size = 0;
    TRY(read_file(path, &data, &size));
    dmbp_status st = dmbp_model_load_memory(data, size, path, dir, out);
    free(data);
    return st;
}

dmbp_status dmbp_model_load(const char *path, dmbp_model **out)
{
    if (!path || !out)
        return dmbp_set_error(DMBP_ERR_ARG, "dmbp_model_load: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dmbp_set_error(DMBP_ERR_IO, "%s: cannot open: %s", path,
                              strerror(errno));
    struct stat fst;
    if (fstat(fd, &fst) != 0 || !S_ISREG(fst.st_mode)) {
        close(fd);
        return dmbp_set_error(DMBP_ERR_IO, "%s: not a regular file", path);
    }
    if ((size_t)fst.st_size > DMBP_MODEL_MAX_BYTES) {
        close(fd);
        return dmbp_set_error(DMBP_ERR_FORMAT,
                              "%s: %lld bytes is larger than an ONNX file "
                              "can be (2 GiB)", path, (long long)fst.st_size);
    }
    if (fst.st_size == 0) {
        close(fd);
        return dmbp_set_error(DMBP_ERR_FORMAT, "%s: empty file, not an ONNX "
                              "model", path);
    }
    /* External data lives beside the model file. */
    char *dir = dmbp__strdup(path);
    if (!dir) {
        close(fd);
        return DMBP_ERR_NOMEM;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = 0;
    else
        strcpy(dir, ".");
    /* Walk the file through a read-only mapping (only the headers are
     * touched), decode the skeleton, read the payloads with pread. */
    size_t size = (size_t)fst.st_size;
    uint8_t *skel = NULL;
    size_t skel_size = 0, n_pl = 0;
    dmbp__payload *pl = NULL;
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int walked = -1;
    if (map != MAP_FAILED) {
        walked = dmbp__onnx_skeleton(map, size, &skel, &skel_size, &pl,
                                     &n_pl);
        munmap(map, size);
    }
    dmbp_status st;
    if (walked != 0) {
        close(fd);
        st = load_whole(path, dir, out);
    } else {
        st = dmbp__load_decoded(skel, skel_size, path, dir, pl, n_pl, fd, out);
        if (!st) {
            (*out)->wfd = fd;
            (*out)->wsize = fst.st_size;
            (*out)->wmtime = fst.st_mtim;
            dmbp__weights_finish(*out);
        } else {
            close(fd);
        }
    }
    free(skel);
    free(pl);
    free(dir);
    return st;
}

/* ---- hashing ------------------------------------------------------------- */

