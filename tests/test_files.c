/* Atomic writes and mkdir -p (io/files.h): a committed write replaces the
 * file, a failed one leaves it and no PATH.tmp behind; folders are made
 * with their parents, and a folder under a file is refused by name. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers.h"

static char tmpdir[64];

static int setup(void **state) {
  (void)state;
  return hgt_tmpdir(tmpdir, sizeof tmpdir, "hg_files");
}

static int teardown(void **state) {
  (void)state;
  return hgt_rmtree(tmpdir);
}

static void write_text(const char *path, const char *text, hg_status outcome) {
  hg_atomic_file a;
  hgt_status(hg_atomic_open(&a, path, "test"));
  fputs(text, a.f);
  assert_int_equal(hg_atomic_commit(&a, outcome, "test"), outcome);
}

static void test_atomic_write(void **state) {
  (void)state;
  char path[128], tmp[160];
  hgt_path(tmpdir, "a.txt", path, sizeof path);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  write_text(path, "first", HG_OK);
  write_text(path, "second, abandoned", HG_ERR_NUMERIC);
  char *text = hgt_read_all(path);
  assert_string_equal(text, "first");
  free(text);
  assert_int_not_equal(access(tmp, F_OK), 0);
  write_text(path, "third", HG_OK);
  text = hgt_read_all(path);
  assert_string_equal(text, "third");
  free(text);
}

static void test_atomic_open_names_the_file(void **state) {
  (void)state;
  char path[160];
  snprintf(path, sizeof path, "%s/missing/b.txt", tmpdir);
  hg_atomic_file a;
  assert_int_equal(hg_atomic_open(&a, path, "writer"), HG_ERR_IO);
  hgt_error_mentions("writer", "missing/b.txt.tmp");
}

static void test_make_dirs(void **state) {
  (void)state;
  char path[160], file[128];
  snprintf(path, sizeof path, "%s/x/y/z", tmpdir);
  hgt_status(hg_make_dirs(path));
  hgt_status(hg_make_dirs(path)); /* already there */
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  hgt_path(tmpdir, "plain", file, sizeof file);
  write_text(file, "", HG_OK);
  snprintf(path, sizeof path, "%s/plain/sub", tmpdir);
  assert_int_equal(hg_make_dirs(path), HG_ERR_IO);
  hgt_error_mentions("cannot create directory", "plain/sub");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_atomic_write),
      cmocka_unit_test(test_atomic_open_names_the_file),
      cmocka_unit_test(test_make_dirs),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
