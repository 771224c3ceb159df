/* npy_close GOT EXPECTED TOL: exit 0 when both .npy files hold float32
 * arrays of the same shape with max |got - expected| <= TOL * max
 * |expected| (the tolerance the library's other fixture tests use); else
 * print the difference and exit 1. For the shell tests. */
#include "npy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: npy_close GOT EXPECTED TOL\n");
        return 2;
    }
    float *a = NULL, *b = NULL;
    int64_t da[NPY_MAX_DIMS], db[NPY_MAX_DIMS];
    int na = 0, nb = 0;
    if (npy_read_f32(argv[1], &a, da, &na) ||
        npy_read_f32(argv[2], &b, db, &nb)) {
        fprintf(stderr, "npy_close: cannot read %s or %s\n", argv[1],
                argv[2]);
        return 1;
    }
    int64_t n = npy_numel(da, na);
    if (n != npy_numel(db, nb)) {
        fprintf(stderr, "npy_close: %lld elements, expected %lld\n",
                (long long)n, (long long)npy_numel(db, nb));
        return 1;
    }
    double maxref = 0, maxdiff = 0;
    for (int64_t i = 0; i < n; i++) {
        maxref = fmax(maxref, fabs(b[i]));
        double d = fabs((double)a[i] - b[i]);
        maxdiff = isfinite(a[i]) ? fmax(maxdiff, d) : INFINITY;
    }
    double tol = atof(argv[3]);
    free(a);
    free(b);
    if (!(maxdiff <= tol * maxref) || maxref == 0) {
        fprintf(stderr, "npy_close: %s: max diff %g, max |expected| %g, "
                "tolerance %g\n", argv[1], maxdiff, maxref, tol);
        return 1;
    }
    return 0;
}
