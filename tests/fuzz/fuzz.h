/* Shared by the fuzz targets (tests/fuzz/): the libFuzzer entry point, and
 * a helper that puts the input in a file for readers that take paths. */
#ifndef DMBP_FUZZ_H
#define DMBP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Write data to a fresh temporary file; its path in path (cap >= 64).
 * Returns 0 on success. The caller unlinks it. */
static inline int fuzz_file(const uint8_t *data, size_t size,
                            const char *suffix, char *path, size_t cap)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, cap, "%s/dmbp-fuzz-XXXXXX%s", dir && *dir ? dir : "/tmp",
             suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            close(fd);
            unlink(path);
            return -1;
        }
        off += (size_t)w;
    }
    close(fd);
    return 0;
}

#endif
