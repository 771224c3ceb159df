/* Weight storage: a large weight tensor is held once, not once by the
 * model and again by every plan.
 *
 * A weight that only layers with weights (DMBP_OP_WEIGHTS) read as their
 * input 1 is "releasable": plans pin it while they are built, copy it
 * into their own layouts or use it in place (then they keep the pin
 * until they are freed), and once a plan has been built the model drops
 * its own reference. The plain array is freed when nothing pins it, and
 * read again from the model file (kept open, checked by size, time and a
 * hash of the bytes) when a later plan or the randomisation check needs
 * it. Loading (onnx_file.c) reads each payload straight into the
 * model's array. See DEVELOPERS.md, "Weight storage". */
#include "model/model.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

int dmbp__pread_all(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return errno ? errno : EIO;
        if (r == 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

uint64_t dmbp__weight_hash(const void *data, size_t n)
{
    /* Word-wise multiply-xorshift: fast enough to run at memory speed;
     * it detects a changed file, it is no defence against an attacker
     * (who could change the file before we load it anyway). */
    const uint8_t *p = data;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, p + i, 8);
        h = (h ^ x) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h ^ (h >> 29);
}

/* ---- the store ----------------------------------------------------------- */

static dmbp_model *mut(const dmbp_model *m)
{
    /* Plans see the model as const: the store is the one part that
     * changes, under the model's lock. */
    return (dmbp_model *)m;
}

dmbp_status dmbp__weights_init(dmbp_model *m)
{
    m->wfd = -1;
    if (pthread_mutex_init(&m->wlock, NULL))
        return dmbp_set_error(DMBP_ERR_NOMEM, "cannot create a lock");
    m->wlock_ok = true;
    return DMBP_OK;
}

void dmbp__weights_free(dmbp_model *m)
{
    if (!m->wlock_ok) /* dmbp__weights_init never ran */
        return;
    if (m->wfd >= 0)
        close(m->wfd);
    m->wfd = -1;
    pthread_mutex_destroy(&m->wlock);
    m->wlock_ok = false;
}

static size_t value_bytes(const dmbp__value *v)
{
    return (size_t)dmbp_shape_numel(&v->shape) * sizeof(float);
}

void dmbp__weights_finish(dmbp_model *m)
{
    bool any = false;
    for (int i = 0; i < m->n_values; i++) {
        dmbp__value *v = &m->values[i];
        if (!v->has_src || !v->f)
            continue;
        /* A weight nothing reads any more (the unfolded weights of a
         * convolution that absorbed a BatchNormalization) is freed. */
        if (v->consumers == 0 && i != m->output && i != m->logits) {
            free(v->f);
            v->f = NULL;
            v->has_src = false;
            continue;
        }
        int readers = 0;
        for (int k = 0; k < m->n_nodes; k++) {
            const dmbp_node *n = &m->nodes[k];
            if (n->dead)
                continue;
            for (int j = 0; j < n->n_in; j++)
                if (n->in[j] == i)
                    readers += j == 1 && dmbp__op_is(n, DMBP_OP_WEIGHTS)
                                   ? 1 : -m->n_nodes;
        }
        v->releasable = readers > 0;
        any |= v->releasable;
    }
    if (!any && m->wfd >= 0) {
        close(m->wfd);
        m->wfd = -1;
    }
}

bool dmbp__weight_releasable(const dmbp_model *m, int v)
{
    pthread_mutex_lock(&mut(m)->wlock);
    bool r = m->values[v].releasable;
    pthread_mutex_unlock(&mut(m)->wlock);
    return r;
}

/* Read value v's bytes again from the model file. Under the lock. */
static dmbp_status reread(dmbp_model *m, dmbp__value *v)
{
    size_t n = value_bytes(v);
    struct stat st;
    if (m->wfd < 0 || fstat(m->wfd, &st) != 0 || st.st_size != m->wsize ||
        st.st_mtim.tv_sec != m->wmtime.tv_sec ||
        st.st_mtim.tv_nsec != m->wmtime.tv_nsec)
        return dmbp_set_error(DMBP_ERR_IO, "%s: the file changed since the "
                              "model was loaded (weight '%s' is read from "
                              "it again); load the model again", m->name,
                              v->name);
    float *f = dmbp__malloc(n ? n : 1);
    if (!f)
        return DMBP_ERR_NOMEM;
    int e = dmbp__pread_all(m->wfd, f, n, v->src_off);
    if (e) {
        free(f);
        return dmbp_set_error(DMBP_ERR_IO, "%s: reading weight '%s' again "
                              "failed: %s", m->name, v->name,
                              e < 0 ? "short file" : strerror(e));
    }
    if (dmbp__weight_hash(f, n) != v->src_hash) {
        free(f);
        return dmbp_set_error(DMBP_ERR_IO, "%s: the file changed since the "
                              "model was loaded (weight '%s' differs); load "
                              "the model again", m->name, v->name);
    }
    v->f = f;
    return DMBP_OK;
}

dmbp_status dmbp__weight_pin(const dmbp_model *cm, int vi, bool *pinned)
{
    dmbp_model *m = mut(cm);
    dmbp__value *v = &m->values[vi];
    dmbp_status st = DMBP_OK;
    *pinned = false;
    pthread_mutex_lock(&m->wlock);
    if (v->releasable) {
        if (!v->f)
            st = reread(m, v);
        if (!st) {
            v->pins++;
            *pinned = true;
        }
    }
    pthread_mutex_unlock(&m->wlock);
    return st;
}

/* Free v's array if nothing holds it. Under the lock. */
static void maybe_free(dmbp__value *v)
{
    if (v->releasable && v->dropped && v->pins == 0) {
        free(v->f);
        v->f = NULL;
    }
}

void dmbp__weight_unpin(const dmbp_model *cm, int vi)
{
    dmbp_model *m = mut(cm);
    pthread_mutex_lock(&m->wlock);
    dmbp__value *v = &m->values[vi];
    if (v->pins > 0)
        v->pins--;
    maybe_free(v);
    pthread_mutex_unlock(&m->wlock);
}

void dmbp__weight_drop(const dmbp_model *cm, int vi)
{
    dmbp_model *m = mut(cm);
    pthread_mutex_lock(&m->wlock);
    dmbp__value *v = &m->values[vi];
    v->dropped = true;
    maybe_free(v);
    pthread_mutex_unlock(&m->wlock);
}

const float *dmbp__weight_keep(const dmbp_model *cm, int vi)
{
    dmbp_model *m = mut(cm);
    pthread_mutex_lock(&m->wlock);
    dmbp__value *v = &m->values[vi];
    const float *f = NULL;
    /* A pointer handed out through the public API must stay valid as
     * long as the model: such a weight is kept from now on. */
    if (v->f || (v->releasable && !reread(m, v))) {
        v->releasable = false;
        f = v->f;
    }
    pthread_mutex_unlock(&m->wlock);
    return f;
}
