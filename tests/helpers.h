/* Shared helpers for the cmocka tests. Include after cmocka.h's prerequisites. */
#ifndef HG_TEST_HELPERS_H
#define HG_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "hebbgrad.h"

/* Fails the test with the library's last error when t is NULL. */
hg_tensor *hgt_ok(hg_tensor *t);
/* Fails the test unless status is HG_OK, printing hg_last_error(). */
void hgt_status(hg_status status);
/* Uniform tensor in [lo, hi) from a fixed-seed generator. */
hg_tensor *hgt_rand(int ndim, const int *shape, float lo, float hi, uint64_t seed);
/* Asserts |a_i − b_i| ≤ atol + rtol·|b_i| for every i, naming the first failure. */
void hgt_close(const float *a, const float *b, size_t n, float rtol, float atol);
/* A new folder /tmp/PREFIX_XXXXXX, its path in buf (size >= 64); 0 on success. */
int hgt_tmpdir(char *buf, size_t size, const char *prefix);
/* Remove path and everything below it; 0 on success. */
int hgt_rmtree(const char *path);
/* The whole file as a NUL-terminated string (free it), or NULL. */
char *hgt_read_all(const char *path);
/* "dir/name" in buf. */
const char *hgt_path(const char *dir, const char *name, char *buf, size_t size);
/* Fails unless hg_last_error() mentions a (and b, when not NULL). */
void hgt_error_mentions(const char *a, const char *b);
/* Path of the shared data folder ($HG_SHARED or ../shared). */
const char *hgt_shared_dir(void);

#endif
