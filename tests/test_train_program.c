/* The train program as a user meets it (issue 20's rows): killed with
 * SIGKILL at several points and resumed, it ends with the same weights as a
 * run that was never stopped; a finished run resumed adds no second result
 * row; --resume with other data settings is refused by name; --val 0 reports no
 * validation accuracy; --init loads weights only (F layers, Adam); a probe
 * trains with Adam when asked. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/helpers.h"

static char base[64], bin[512];

static int setup(void **state) {
  (void)state;
  const char *dir = getenv("HG_BIN_DIR");
  if (!dir) return 0;
  snprintf(bin, sizeof bin, "%s/train", dir);
  return hgt_tmpdir(base, sizeof base, "hg_train_program");
}

static int teardown(void **state) {
  (void)state;
  return base[0] ? hgt_rmtree(base) : 0;
}

static void need_program(void) {
  if (!bin[0] || access(bin, X_OK) != 0) {
    print_message("HG_BIN_DIR not set: test skipped\n");
    skip();
  }
}

/* Start train on a small Fashion-MNIST run into run_dir with the extra
 * arguments (NULL-terminated); output appended to run_dir.log. */
static pid_t start(const char *run_dir, const char *const *extra) {
  char log[128];
  snprintf(log, sizeof log, "%s.log", run_dir);
  pid_t pid = fork();
  if (pid != 0) return pid;
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
  const char *args[48] = {bin, "--data", "fashion-mnist", "--model", "small", "--modes", "H-G",
                          "--hebb-epochs", "1", "--epochs", "2", "--limit-train", "256", "--val", "64",
                          "--limit-test", "64", "--schedule", "constant", "--threads", "2",
                          "--run-dir", run_dir};
  int n = 0;
  while (args[n]) n++;
  for (int i = 0; extra && extra[i]; i++) args[n++] = extra[i];
  execv(bin, (char *const *)args);
  _exit(127);
}

static int finish(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run(const char *run_dir, const char *const *extra) { return finish(start(run_dir, extra)); }

/* Kill the run once `file` exists (or at once when it never appears in time). */
static void kill_when(const char *run_dir, const char *file) {
  char path[256];
  snprintf(path, sizeof path, "%s/%s", run_dir, file);
  pid_t pid = start(run_dir, NULL);
  for (int waited = 0; waited < 600000 && access(path, F_OK) != 0; waited += 1)
    nanosleep(&(struct timespec){.tv_nsec = 1000000}, NULL);
  kill(pid, SIGKILL);
  finish(pid);
}

/* Every tensor of the two checkpoints equal, bit for bit. */
static void same_checkpoints(const char *a, const char *b) {
  hg_checkpoint *x = hg_checkpoint_open(a), *y = hg_checkpoint_open(b);
  if (!x || !y) fail_msg("%s", hg_last_error());
  assert_int_equal(hg_checkpoint_count(x), hg_checkpoint_count(y));
  for (int i = 0; i < hg_checkpoint_count(x); i++) {
    const char *name = hg_checkpoint_entry_at(x, i)->name;
    hg_tensor *p = hgt_ok(hg_checkpoint_tensor(x, name)), *q = hgt_ok(hg_checkpoint_tensor(y, name));
    assert_int_equal(p->numel, q->numel);
    if (memcmp(p->data, q->data, p->numel * sizeof(float)) != 0) fail_msg("%s differs", name);
    hg_tensor_free(p);
    hg_tensor_free(q);
  }
  hg_checkpoint_close(x);
  hg_checkpoint_close(y);
}

static void test_killed_and_resumed_runs_match(void **state) {
  (void)state;
  need_program();
  char whole[96], killed[96], a[160], b[160];
  snprintf(whole, sizeof whole, "%s/whole", base);
  assert_int_equal(run(whole, NULL), 0);
  /* kill points: inside the Hebbian epoch, after it, after the first SGD epoch */
  const char *points[] = {"init.safetensors", "hebb/last.safetensors", "backprop/last.safetensors"};
  for (int k = 0; k < 3; k++) {
    snprintf(killed, sizeof killed, "%s/killed%d", base, k);
    kill_when(killed, points[k]);
    assert_int_equal(run(killed, (const char *[]){"--resume", NULL}), 0);
    snprintf(a, sizeof a, "%s/backprop/last.safetensors", whole);
    snprintf(b, sizeof b, "%s/backprop/last.safetensors", killed);
    char log_path[128];
    snprintf(log_path, sizeof log_path, "%s.log", killed);
    char *log = hgt_read_all(log_path);
    assert_true(k == 0 || strstr(log, "resumed ") != NULL); /* from the checkpoint, not from scratch */
    free(log);
    print_message("killed when %s appeared, resumed: same weights\n", points[k]);
    same_checkpoints(a, b);
  }
}

static int count_lines(const char *path) {
  char *text = hgt_read_all(path);
  int n = 0;
  for (char *c = text; c && *c; c++) n += *c == '\n';
  free(text);
  return n;
}

static void test_resume_checks_and_records_once(void **state) {
  (void)state;
  need_program();
  char dir[96], csv[128], log[128];
  snprintf(dir, sizeof dir, "%s/once", base);
  snprintf(csv, sizeof csv, "%s/result.csv", dir);
  snprintf(log, sizeof log, "%s.log", dir);
  assert_int_equal(run(dir, (const char *[]){"--val", "0", NULL}), 0);
  char *text = hgt_read_all(log);
  assert_non_null(strstr(text, "validation none (--val 0)"));
  free(text);
  assert_int_equal(count_lines(csv), 2); /* header and the run's row */
  assert_int_equal(run(dir, (const char *[]){"--val", "0", "--resume", NULL}), 0);
  assert_int_equal(count_lines(csv), 2);
  assert_int_not_equal(run(dir, (const char *[]){"--val", "0", "--resume", "--limit-train", "128", NULL}), 0);
  text = hgt_read_all(log);
  assert_non_null(strstr(text, "limit_train = 256, not 128"));
  free(text);
  /* --init takes the weights of a training checkpoint, not its optimizer state */
  char init[160], other[96];
  snprintf(init, sizeof init, "%s/backprop/last.safetensors", dir);
  snprintf(other, sizeof other, "%s/init", base);
  assert_int_equal(run(other, (const char *[]){"--init", init, "--modes", "F-G", "--adam", NULL}), 0);
  /* a probe trained by Adam (it once got SGD's settings: betas and eps 0) */
  snprintf(other, sizeof other, "%s/probe", base);
  snprintf(csv, sizeof csv, "%s/result.csv", other);
  assert_int_equal(run(other, (const char *[]){"--adam", "--probe", "bn1", "--probe-epochs", "1", NULL}), 0);
  text = hgt_read_all(csv);
  assert_non_null(strstr(text, "probe bn1,"));
  free(text);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_killed_and_resumed_runs_match),
      cmocka_unit_test(test_resume_checks_and_records_once),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
