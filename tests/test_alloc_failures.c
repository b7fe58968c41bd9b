/* Allocation-failure injection: linked with -Wl,--wrap for malloc, calloc,
 * realloc, aligned_alloc and strdup (CMakeLists.txt), so the library's own
 * allocations can be made to fail. For a training step, a checkpoint save
 * and load and a sweep cell, the n-th allocation fails for n = 1, 2, ...
 * until the operation makes fewer than n: every failure must come back as
 * an error (no crash; under ASan, no leak), the net must still train
 * afterwards, and no half-written file may be left. */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/helpers.h"

static atomic_long countdown; /* > 0: the allocation that brings it to 0 fails */
static atomic_long calls;

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__real_aligned_alloc(size_t align, size_t size);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
void *__wrap_aligned_alloc(size_t align, size_t size);
char *__wrap_strdup(const char *s);

/* Does this allocation fail? */
static bool injected(void) {
  atomic_fetch_add(&calls, 1);
  if (atomic_load(&countdown) <= 0 || atomic_fetch_sub(&countdown, 1) != 1) return false;
  errno = ENOMEM;
  return true;
}

void *__wrap_malloc(size_t size) { return injected() ? NULL : __real_malloc(size); }
void *__wrap_calloc(size_t n, size_t size) { return injected() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t size) { return injected() ? NULL : __real_realloc(p, size); }
void *__wrap_aligned_alloc(size_t align, size_t size) {
  return injected() ? NULL : __real_aligned_alloc(align, size);
}
char *__wrap_strdup(const char *s) { return injected() ? NULL : __real_strdup(s); }

/* Arm the n-th allocation from now to fail; returns whether it was reached. */
static void arm(long n) {
  atomic_store(&calls, 0);
  atomic_store(&countdown, n);
}

static bool fired(void) {
  bool hit = atomic_load(&countdown) == 0;
  atomic_store(&countdown, 0);
  return hit;
}

/* Runs op with the n-th allocation failing, for n = 1, 2, ... until op makes
 * fewer allocations than n; op returns its status; check (may be NULL) looks
 * at the state after each try. Returns the number of failures injected. */
static int sweep(const char *what, hg_status (*op)(void *), void (*check)(void *, hg_status), void *ctx) {
  int injected_failures = 0;
  for (long n = 1; n < 100000; n++) {
    arm(n);
    hg_status s = op(ctx);
    bool hit = fired();
    if (check) check(ctx, s);
    if (!hit) {
      if (s != HG_OK) fail_msg("%s: failed with no failure injected: %s", what, hg_last_error());
      print_message("%s: %d allocations, each failed once, all reported\n", what, injected_failures);
      return injected_failures;
    }
    injected_failures++;
    if (s == HG_OK) fail_msg("%s: allocation %ld failed but the call reported success", what, n);
  }
  fail_msg("%s: did not finish", what);
  return 0;
}

enum { BATCH = 4 };

typedef struct step_ctx {
  hg_net *net;
  hg_trainer *trainer;
  hg_tensor *x;
  int labels[BATCH];
} step_ctx;

static hg_status one_step(void *p) {
  step_ctx *c = p;
  return hg_trainer_step(c->trainer, c->x, c->labels, BATCH, HG_PHASE_JOINT, NULL);
}

/* A step with a Hebbian conv layer under a backprop classifier. */
static void test_training_step(void **state) {
  (void)state;
  step_ctx c = {.net = hg_net_new(1)};
  hg_net *net = c.net;
  hgt_status(hg_net_add(net, hg_layer_conv2d("conv1", 3, 4, 3, 1, 0, false, &net->rng)));
  hgt_status(hg_net_add(net, hg_layer_relu("relu1")));
  hgt_status(hg_net_add(net, hg_layer_batch_norm("bn1", 4, true, 0.1f, 1e-5f)));
  hgt_status(hg_net_add(net, hg_layer_flatten("flatten")));
  hgt_status(hg_net_add(net, hg_layer_linear("fc2", 4 * 5 * 5, 3, true, &net->rng)));
  hgt_status(hg_net_finalize(net));
  hgt_status(hg_net_set_modes(net, "H-B"));
  hg_plasticity p;
  hgt_status(hg_plasticity_parse("instar/e-soft-wta:0.5/mean", &p));
  hg_trainer_opts o = {.backprop = hg_sgd_opts(0.05f, 0.9f, 0, false), .hebb_lr = 0.05f};
  c.trainer = hg_trainer_new(net, &p, &o);
  assert_non_null(c.trainer);
  c.x = hgt_rand(HG_SHAPE(BATCH, 3, 7, 7), -1, 1, 2);
  for (int i = 0; i < BATCH; i++) c.labels[i] = i % 3;
  hgt_status(one_step(&c)); /* warm: kernels built, buffers cached */
  assert_true(sweep("training step", one_step, NULL, &c) > 0);
  hgt_status(one_step(&c)); /* and it still trains */
  hg_tensor_free(c.x);
  hg_trainer_free(c.trainer);
  hg_net_free(net);
  hg_plasticity_release(&p);
}

typedef struct file_ctx {
  char path[128];
  hg_tensor *t;
  long size0; /* of the file before the sweep */
} file_ctx;

static long size_of(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static hg_status save(void *p) {
  file_ctx *c = p;
  const char *names[1] = {"w"}, *keys[1] = {"format"}, *values[1] = {"test/1"};
  return hg_checkpoint_save(c->path, 1, names, &c->t, 1, keys, values);
}

/* After each try: the file is the old one or the whole new one, no .tmp is left. */
static void file_intact(void *p, hg_status s) {
  file_ctx *c = p;
  char tmp[160];
  snprintf(tmp, sizeof tmp, "%s.tmp", c->path);
  assert_int_not_equal(access(tmp, F_OK), 0);
  if (s != HG_OK) assert_int_equal(size_of(c->path), c->size0);
}

static hg_status load(void *p) {
  file_ctx *c = p;
  hg_checkpoint *ck = hg_checkpoint_open(c->path);
  hg_tensor *t = ck ? hg_checkpoint_tensor(ck, "w") : NULL;
  hg_status s = t ? HG_OK : hg_last_status();
  hg_tensor_free(t);
  hg_checkpoint_close(ck);
  return s;
}

static void test_checkpoint_save_and_load(void **state) {
  (void)state;
  char dir[] = "/tmp/hg_alloc_XXXXXX";
  assert_non_null(mkdtemp(dir));
  file_ctx c = {.t = hgt_rand(HG_SHAPE(3, 5), -1, 1, 3)};
  snprintf(c.path, sizeof c.path, "%s/w.safetensors", dir);
  hgt_status(save(&c)); /* an old file to keep */
  c.size0 = size_of(c.path);
  sweep("checkpoint save", save, file_intact, &c);
  sweep("checkpoint load", load, NULL, &c);
  hg_tensor_free(c.t);
  assert_int_equal(hgt_rmtree(dir), 0);
}

static hg_status cell_round_trip(void *p) {
  file_ctx *c = p;
  hg_sweep_cell cell = {.config = "HB-G", .method = "wta", .seed = 1, .test_top1 = 0.5, .val_top1 = 0.4};
  hg_status s = hg_sweep_cell_append(c->path, &cell);
  hg_sweep_cells cells = {0};
  if (s == HG_OK) s = hg_sweep_cells_read(c->path, &cells);
  hg_sweep_cells_free(&cells);
  return s;
}

static void test_sweep_cell(void **state) {
  (void)state;
  char dir[] = "/tmp/hg_alloc_XXXXXX";
  assert_non_null(mkdtemp(dir));
  file_ctx c = {0};
  snprintf(c.path, sizeof c.path, "%s/cells.jsonl", dir);
  sweep("sweep cell", cell_round_trip, NULL, &c);
  assert_int_equal(hgt_rmtree(dir), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_training_step),
      cmocka_unit_test(test_checkpoint_save_and_load),
      cmocka_unit_test(test_sweep_cell),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  hg_kernels_release();
  hg_pool_trim();
  return failed;
}
