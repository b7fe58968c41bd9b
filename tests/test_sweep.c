/* Hybrid sweeps: Student's t quantiles, mean ± CI, the cells file (round
 * trip, torn lines, skipping), configurations and the kill test: a sweep
 * killed with SIGKILL and run again recomputes none of its finished cells
 * and ends with the same table as an uninterrupted sweep; its frozen layers
 * hold the baseline's weights. --top-weight-decay reaches only SGD phases
 * without a convolution. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "experiment/sweep.h"
#include "tests/helpers.h"

/* ---- helpers ---- */

static int count_lines(const char *path) {
  char *text = hgt_read_all(path);
  int n = 0;
  for (char *p = text; p && *p; p++) n += *p == '\n';
  free(text);
  return n;
}

static int count_matches(const char *text, const char *needle) {
  int n = 0;
  for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

static hg_sweep_cell cell(const char *config, const char *method, int seed, double top1) {
  hg_sweep_cell c = {.seed = seed, .test_top1 = top1, .test_top5 = 1.0 / 3, .val_top1 = NAN, .seconds = 1.5};
  snprintf(c.config, sizeof c.config, "%s", config);
  snprintf(c.method, sizeof c.method, "%s", method);
  return c;
}

/* ---- statistics ---- */

static void test_t_quantiles(void **state) {
  (void)state;
  assert_true(fabs(hg_t_quantile95(1) - 12.706) < 1e-3);
  assert_true(fabs(hg_t_quantile95(4) - 2.776) < 1e-3);
  assert_true(fabs(hg_t_quantile95(9) - 2.262) < 1e-3);
  assert_true(fabs(hg_t_quantile95(30) - 2.042) < 1e-3);
  assert_true(fabs(hg_t_quantile95(60) - 2.000) < 1e-3);  /* beyond the table */
  assert_true(fabs(hg_t_quantile95(120) - 1.980) < 1e-3);
  for (int df = 1; df < 200; df++) assert_true(hg_t_quantile95(df + 1) < hg_t_quantile95(df));
  assert_true(hg_t_quantile95(100000) > 1.95996 && hg_t_quantile95(100000) < 1.9600);
  assert_true(isnan(hg_t_quantile95(0)));
}

static void test_mean_ci95(void **state) {
  (void)state;
  const double x[] = {1, 2, 3, 4, 5};
  hg_stats s = hg_mean_ci95(x, 5);
  assert_int_equal(s.n, 5);
  assert_true(fabs(s.mean - 3) < 1e-12);
  /* t(4) · s / √n = 2.7764 · √2.5 / √5 */
  assert_true(fabs(s.ci95 - 2.7764 * sqrt(2.5) / sqrt(5.0)) < 1e-9);
  const double y[] = {84.30, 84.61, 84.05};
  s = hg_mean_ci95(y, 3); /* sd 0.2804, t(2) 4.3027 */
  assert_true(fabs(s.mean - 84.32) < 1e-9);
  assert_true(fabs(s.ci95 - 0.6966) < 1e-3);
  s = hg_mean_ci95(y, 1);
  assert_true(s.n == 1 && s.mean == 84.30 && isnan(s.ci95));
  s = hg_mean_ci95(y, 0);
  assert_true(s.n == 0 && isnan(s.mean));
  char buf[64];
  hg_stats f = {.n = 5, .mean = 99.4812, .ci95 = 0.0312};
  assert_string_equal(hg_sweep_format(&f, buf, sizeof buf), "99.48 ± 0.03 (n=5)");
  f.n = 1;
  assert_string_equal(hg_sweep_format(&f, buf, sizeof buf), "99.48 (n=1)");
  f.n = 0;
  assert_string_equal(hg_sweep_format(&f, buf, sizeof buf), "");
}

/* ---- cells ---- */

static void test_cells_round_trip_and_torn_lines(void **state) {
  (void)state;
  char dir[] = "/tmp/hg_sweep_cells_XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/cells.jsonl", dir);
  hg_sweep_cells cells = {0};
  hgt_status(hg_sweep_cells_read(path, &cells)); /* no file yet: no cells */
  assert_int_equal(cells.n, 0);
  hg_sweep_cell a = cell("BBBBB-G", "-", 1, 0.8495), b = cell("HBBBB-G", "e-soft-wta", 1, 2.0 / 3),
                c = cell("HBBBB-G", "wta", 2, 0.1 + 0.2);
  hgt_status(hg_sweep_cell_append(path, &a));
  hgt_status(hg_sweep_cell_append(path, &b));
  /* a kill in the middle of a write leaves a line without its end */
  int fd = open(path, O_WRONLY | O_APPEND);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "{\"config\":\"HB", 13), 13);
  close(fd);
  hgt_status(hg_sweep_cells_read(path, &cells)); /* the torn line is skipped */
  assert_int_equal(cells.n, 2);
  hg_sweep_cells_free(&cells);
  hgt_status(hg_sweep_cell_append(path, &c)); /* and cut before the next line */
  assert_int_equal(count_lines(path), 3);
  char *text = hgt_read_all(path);
  assert_null(strstr(text, "{\"config\":\"HB{"));
  free(text);
  hgt_status(hg_sweep_cells_read(path, &cells));
  assert_int_equal(cells.n, 3);
  const hg_sweep_cell *got = hg_sweep_cells_find(&cells, "HBBBB-G", "e-soft-wta", 1);
  assert_non_null(got);
  assert_true(got->test_top1 == 2.0 / 3 && got->test_top5 == 1.0 / 3 && got->seconds == 1.5); /* exact */
  assert_true(isnan(got->val_top1));
  got = hg_sweep_cells_find(&cells, "HBBBB-G", "wta", 2);
  assert_true(got && got->test_top1 == 0.1 + 0.2);
  assert_null(hg_sweep_cells_find(&cells, "HBBBB-G", "wta", 1)); /* a cell still to compute */
  assert_null(hg_sweep_cells_find(&cells, "BBBBB-G", "wta", 1));
  /* a later line for the same cell replaces the earlier one */
  hg_sweep_cell a2 = cell("BBBBB-G", "-", 1, 0.5);
  hgt_status(hg_sweep_cells_put(&cells, &a2));
  assert_int_equal(cells.n, 3);
  assert_true(hg_sweep_cells_find(&cells, "BBBBB-G", "-", 1)->test_top1 == 0.5);
  hg_sweep_cells_free(&cells);
  hgt_rmtree(dir);
}

/* Two processes taking 200 tasks from one counter: each number exactly once. */
static void test_claims_deal_each_task_once(void **state) {
  (void)state;
  char dir[] = "/tmp/hg_sweep_claim_XXXXXX", path[64];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/tasks.next", dir);
  assert_int_equal(hg_sweep_claim(path), 0); /* no file: counting starts at 0 */
  assert_int_equal(hg_sweep_claim(path), 1);
  assert_int_equal(unlink(path), 0);
  int pipes[2][2];
  pid_t pid[2];
  for (int p = 0; p < 2; p++) {
    assert_int_equal(pipe(pipes[p]), 0);
    pid[p] = fork();
    assert_true(pid[p] >= 0);
    if (pid[p] == 0) { /* the child takes numbers until 200 are gone, writing each to its pipe */
      for (int k; (k = hg_sweep_claim(path)) >= 0 && k < 200;)
        if (write(pipes[p][1], &k, sizeof k) != sizeof k) _exit(2);
      _exit(0);
    }
    close(pipes[p][1]);
  }
  int seen[200] = {0}, k;
  for (int p = 0; p < 2; p++) {
    while (read(pipes[p][0], &k, sizeof k) == sizeof k) {
      assert_true(k >= 0 && k < 200);
      seen[k]++;
    }
    close(pipes[p][0]);
    int st;
    assert_int_equal(waitpid(pid[p], &st, 0), pid[p]);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }
  for (int i = 0; i < 200; i++) assert_int_equal(seen[i], 1);
  FILE *f = fopen(path, "w"); /* a counter that is not a number is refused, naming the file */
  assert_non_null(f);
  fputs("banana\n", f);
  fclose(f);
  assert_int_equal(hg_sweep_claim(path), -1);
  assert_non_null(strstr(hg_last_error(), path));
  hgt_rmtree(dir);
}

/* ---- configurations ---- */

static void test_configurations(void **state) {
  (void)state;
  char c[64][32];
  int n = hg_sweep_configs("seed002", 6, c, 64);
  assert_int_equal(n, 16); /* the baseline and the 15 hybrid rows */
  assert_string_equal(c[0], "BBBBB-G");
  assert_string_equal(c[1], "HBBBB-G");
  assert_string_equal(c[6], "HHBBB-G");
  assert_string_equal(c[15], "HHHHH-G");
  n = hg_sweep_configs("seed003", 6, c, 64);
  assert_int_equal(n, 27);
  assert_string_equal(c[1], "HHHHH-H");
  assert_string_equal(c[7], "RBBBB-G");
  assert_string_equal(c[12], "BBBBB-H");
  assert_string_equal(c[26], "BHHHH-G");
  n = hg_sweep_configs("single", 6, c, 64);
  assert_int_equal(n, 7);
  assert_string_equal(c[3], "BBHBB-G");
  assert_string_equal(c[6], "HHHHH-G");
  n = hg_sweep_configs("B-G, h-g,ggggg-h", 2, c, 64);
  assert_int_equal(n, -1); /* ggggg-h has too many letters for 2 layers */
  hgt_error_mentions("ggggg-h", "1 letters");
  n = hg_sweep_configs("B-G, h-g,G-H,H-G,single", 2, c, 64); /* normalised, duplicates dropped */
  assert_int_equal(n, 3);
  assert_string_equal(c[1], "H-G");
  assert_string_equal(c[2], "B-H");
  assert_int_equal(hg_sweep_configs("seed002", 2, c, 64), -1);
  hgt_error_mentions("seed002", "6 layers");
  assert_int_equal(hg_sweep_configs("BXBBB-G", 6, c, 64), -1);
  hgt_error_mentions("BXBBB-G", "'X'");

  const char *cases[][2] = {{"BBHBB-G", "FFHBB-G"}, {"BBBBB-H", "FFFFF-H"}, {"RRBBB-G", "RRBBB-G"},
                            {"BHBHB-G", "FHBHB-G"}, {"BBBBB-G", "BBBBB-G"}, {"BBBRH-G", "FFFRH-G"},
                            {"HHHHH-H", "HHHHH-H"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char modes[32];
    hgt_status(hg_sweep_hybrid_modes(cases[i][0], modes, sizeof modes));
    assert_string_equal(modes, cases[i][1]);
  }
  assert_true(hg_sweep_uses_method("BBBBH-H") && hg_sweep_uses_method("H-G"));
  /* a Hebbian classifier learns by the teacher rule, whatever the method */
  assert_true(!hg_sweep_uses_method("BBBBB-H") && !hg_sweep_uses_method("B-H") && !hg_sweep_uses_method("RRBBB-G"));
  assert_string_equal(hg_sweep_method_spec("e-soft-wta"), "instar/e-soft-wta:0.02/mean");
  assert_string_equal(hg_sweep_method_spec("p-soft-wta"), "instar/p-soft-wta:0.05/mean");
  assert_string_equal(hg_sweep_method_spec("hpca"), "hpca/none/relu/avg");
  assert_string_equal(hg_sweep_method_spec("oja/none"), "oja/none");
}

/* ---- tables and settings ---- */

static void test_table_and_settings(void **state) {
  (void)state;
  char dir[] = "/tmp/hg_sweep_table_XXXXXX", path[96];
  assert_non_null(mkdtemp(dir));
  hg_sweep_cells cells = {0};
  const hg_sweep_cell all[] = {cell("B-G", "-", 1, 0.90), cell("B-G", "-", 2, 0.92),  cell("H-G", "wta", 1, 0.80),
                               cell("H-G", "wta", 2, 0.84), cell("H-G", "e-soft-wta", 1, 0.85)};
  for (int i = 0; i < 5; i++) hgt_status(hg_sweep_cells_put(&cells, &all[i]));
  const char configs[2][32] = {"B-G", "H-G"};
  const char *methods[] = {"wta", "e-soft-wta"};
  hg_sweep_table t;
  hgt_status(hg_sweep_table_build(&t, &cells, 2, configs, 2, methods, 2, false));
  assert_true(t.stats[0].n == 2 && fabs(t.stats[0].mean - 91) < 1e-9); /* the baseline once */
  assert_true(t.shared[0] && !t.shared[1] && t.stats[1].n == 0);
  assert_true(fabs(t.stats[0].ci95 - 12.7062 * sqrt(2.0) / sqrt(2.0)) < 1e-6);
  assert_true(t.stats[3].n == 1 && fabs(t.stats[3].mean - 85) < 1e-9); /* seed 2 not done yet */
  snprintf(path, sizeof path, "%s/table.csv", dir);
  hgt_status(hg_sweep_table_write_csv(&t, path));
  char *csv = hgt_read_all(path);
  assert_string_equal(csv, "config,wta,wta_ci95,wta_n,e-soft-wta,e-soft-wta_ci95,e-soft-wta_n\n"
                           "B-G,91.0000,12.7062,2,,,0\n"
                           "H-G,82.0000,25.4124,2,85.0000,,1\n");
  free(csv);
  snprintf(path, sizeof path, "%s/table.md", dir);
  hgt_status(hg_sweep_table_write_markdown(&t, path, "Title", "Caption."));
  char *md = hgt_read_all(path);
  assert_non_null(strstr(md, "| H-G | 82.00 ± 25.41 (n=2) | **85.00 (n=1)** |"));
  assert_non_null(strstr(md, "| B-G | 91.00 ± 12.71 (n=2) | n/a |"));
  free(md);
  snprintf(path, sizeof path, "%s/table.txt", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  hg_sweep_table_print(&t, f);
  fclose(f);
  char *text = hgt_read_all(path);
  assert_non_null(strstr(text, "B-G            91.00 ± 12.71 (n=2)          n/a\n"));
  free(text);
  hg_sweep_table_free(&t);
  hg_sweep_cells_free(&cells);

  const char *keys[] = {"data", "epochs"}, *v1[] = {"mnist", "20"}, *v2[] = {"mnist", "1"};
  snprintf(path, sizeof path, "%s/settings.json", dir);
  hgt_status(hg_sweep_settings_check(path, 2, keys, v1)); /* written */
  hgt_status(hg_sweep_settings_check(path, 2, keys, v1)); /* the same */
  assert_int_equal(hg_sweep_settings_check(path, 2, keys, v2), HG_ERR_ARG);
  hgt_error_mentions("epochs = 20", "not 1");
  hgt_rmtree(dir);
}

/* ---- the kill test ---- */

/* Start bin with the sweep's arguments, the extra ones (up to 4) and --out dir,
 * output to log. */
static pid_t start_sweep_with(const char *bin, const char *dir, const char *log, const char *configs,
                              const char *const *extra) {
  pid_t pid = fork();
  if (pid != 0) return pid;
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
  }
  const char *args[40] = {bin, "--data", "fashion-mnist", "--model", "small", "--limit-train", "512",
                          "--limit-test", "256", "--val", "256", "--configs", configs, "--methods",
                          "wta,e-soft-wta", "--seeds", "1", "--epochs", "1", "--hebb-epochs", "1",
                          "--threads", "2", "--out", dir};
  int n = 0;
  while (args[n]) n++;
  for (int i = 0; extra && extra[i] && i < 4; i++) args[n++] = extra[i];
  execv(bin, (char *const *)args);
  _exit(127);
}

static pid_t start_sweep(const char *bin, const char *dir, const char *log) {
  return start_sweep_with(bin, dir, log, "H-G,B-H,F-F", NULL);
}

/* The hybrid_sweep program under test (the test is skipped without it). */
static const char *sweep_bin(void) {
  const char *bin = getenv("HG_SWEEP_BIN");
  if (!bin || access(bin, X_OK) != 0) {
    print_message("HG_SWEEP_BIN not set or not executable: test skipped\n");
    skip();
  }
  return bin;
}

static int finish(pid_t pid) {
  int status;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void test_killed_sweep_resumes_and_matches(void **state) {
  (void)state;
  const char *bin = sweep_bin();
  char base[] = "/tmp/hg_sweep_kill_XXXXXX", a[64], b[64], cells_a[96], log_a[96], log_b[96], path[96];
  assert_non_null(mkdtemp(base));
  snprintf(a, sizeof a, "%s/killed", base);
  snprintf(b, sizeof b, "%s/whole", base);
  snprintf(cells_a, sizeof cells_a, "%s/cells.jsonl", a);
  snprintf(log_a, sizeof log_a, "%s/killed.log", base);
  snprintf(log_b, sizeof log_b, "%s/whole.log", base);
  const int total = 5; /* baseline, H-G × 2 methods, B-H once (the method does not apply), F-F */

  /* kill it once its first cell is on disk and, if we catch it there, in the
   * middle of the second: after its Hebbian epoch, during its SGD epoch */
  char mid[128];
  snprintf(mid, sizeof mid, "%s/cells/H-G_wta_seed1/hebb/last.safetensors", a);
  pid_t pid = start_sweep(bin, a, log_a);
  assert_true(pid > 0);
  int before = 0;
  bool in_cell = false;
  for (int waited = 0; waited < 240000 && !in_cell && before < 2; waited += 2) {
    before = count_lines(cells_a);
    in_cell = before == 1 && access(mid, F_OK) == 0;
    if (!in_cell && before < 2) nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
  }
  kill(pid, SIGKILL);
  assert_int_equal(finish(pid), 128 + SIGKILL);
  before = count_lines(cells_a);
  in_cell = in_cell && before == 1;
  print_message("killed after %d of %d cells%s\n", before, total, in_cell ? ", in the middle of the next" : "");
  assert_true(before >= 1 && before < total);

  /* run again: the finished cells are skipped, the others computed once */
  pid = start_sweep(bin, a, log_a);
  int rc = finish(pid);
  char *log = hgt_read_all(log_a);
  if (rc != 0) fail_msg("resumed sweep exited with %d:\n%s", rc, log ? log : "");
  assert_int_equal(count_matches(log, "skipped"), before);
  if (in_cell) assert_non_null(strstr(log, "resumed")); /* the unfinished cell went on from its checkpoint */
  free(log);
  hg_sweep_cells cells = {0};
  hgt_status(hg_sweep_cells_read(cells_a, &cells));
  assert_int_equal(count_lines(cells_a), total); /* no cell twice */
  assert_int_equal(cells.n, total);
  /* F-F trains nothing: the baseline's weights, loaded into the frozen layers, give its numbers */
  const hg_sweep_cell *frozen = hg_sweep_cells_find(&cells, "F-F", "-", 1),
                      *base_cell = hg_sweep_cells_find(&cells, "B-G", "-", 1);
  assert_non_null(frozen);
  assert_non_null(base_cell);
  assert_true(frozen->test_top1 == base_cell->test_top1 && frozen->val_top1 == base_cell->val_top1);

  /* the same sweep without interruption */
  pid = start_sweep(bin, b, log_b);
  rc = finish(pid);
  if (rc != 0) {
    log = hgt_read_all(log_b);
    fail_msg("sweep exited with %d:\n%s", rc, log ? log : "");
  }
  hg_sweep_cells whole = {0};
  snprintf(path, sizeof path, "%s/cells.jsonl", b);
  hgt_status(hg_sweep_cells_read(path, &whole));
  assert_int_equal(whole.n, total);
  for (int i = 0; i < total; i++) {
    const hg_sweep_cell *x = &whole.items[i], *y = &cells.items[i]; /* the same order, too */
    assert_string_equal(x->config, y->config);
    assert_string_equal(x->method, y->method);
    if (x->test_top1 != y->test_top1 || x->test_top5 != y->test_top5 || x->val_top1 != y->val_top1)
      fail_msg("cell %s %s: %.17g / %.17g after the kill, %.17g / %.17g uninterrupted", x->config, x->method,
               y->test_top1, y->val_top1, x->test_top1, x->val_top1);
  }
  char *ta, *tb;
  snprintf(path, sizeof path, "%s/table.csv", a);
  ta = hgt_read_all(path);
  snprintf(path, sizeof path, "%s/table.csv", b);
  tb = hgt_read_all(path);
  assert_non_null(ta);
  assert_non_null(tb);
  assert_string_equal(ta, tb);
  free(ta);
  free(tb);
  hg_sweep_cells_free(&cells);
  hg_sweep_cells_free(&whole);
  hgt_rmtree(base);
}

/* --top-weight-decay reaches an SGD phase that trains only fully connected
 * layers (H-G: conv1 Hebbian, fc2 by SGD) and no other (the baseline B-G). */
static void test_top_weight_decay_only_without_conv(void **state) {
  (void)state;
  const char *bin = sweep_bin();
  char base[] = "/tmp/hg_sweep_wd_XXXXXX", dir[2][64], log[2][64], path[160];
  assert_non_null(mkdtemp(base));
  const char *plain[] = {"--weight-decay", "0", NULL};
  const char *heavy[] = {"--weight-decay", "0", "--top-weight-decay", "50", NULL};
  hg_sweep_cells cells[2] = {{0}};
  for (int i = 0; i < 2; i++) {
    snprintf(dir[i], sizeof dir[i], "%s/run%d", base, i);
    snprintf(log[i], sizeof log[i], "%s/run%d.log", base, i);
    int rc = finish(start_sweep_with(bin, dir[i], log[i], "H-G", i ? heavy : plain));
    if (rc != 0) {
      char *text = hgt_read_all(log[i]);
      fail_msg("sweep exited with %d:\n%s", rc, text ? text : "");
    }
    snprintf(path, sizeof path, "%s/cells.jsonl", dir[i]);
    hgt_status(hg_sweep_cells_read(path, &cells[i]));
  }
  const hg_sweep_cell *b0 = hg_sweep_cells_find(&cells[0], "B-G", "-", 1), *b1 = hg_sweep_cells_find(&cells[1], "B-G", "-", 1);
  const hg_sweep_cell *h0 = hg_sweep_cells_find(&cells[0], "H-G", "wta", 1), *h1 = hg_sweep_cells_find(&cells[1], "H-G", "wta", 1);
  assert_non_null(b0);
  assert_non_null(b1);
  assert_non_null(h0);
  assert_non_null(h1);
  assert_true(b0->val_top1 == b1->val_top1 && b0->test_top1 == b1->test_top1); /* conv trained: untouched */
  assert_true(h0->val_top1 != h1->val_top1 || h0->test_top1 != h1->test_top1 ||
              h0->test_top5 != h1->test_top5); /* fc2 alone: decayed */
  snprintf(path, sizeof path, "%s/settings.json", dir[1]);
  char *settings = hgt_read_all(path);
  assert_non_null(settings);
  assert_non_null(strstr(settings, "top 50")); /* a different sweep for the settings check */
  free(settings);
  hg_sweep_cells_free(&cells[0]);
  hg_sweep_cells_free(&cells[1]);
  hgt_rmtree(base);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_t_quantiles),
      cmocka_unit_test(test_mean_ci95),
      cmocka_unit_test(test_cells_round_trip_and_torn_lines),
      cmocka_unit_test(test_claims_deal_each_task_once),
      cmocka_unit_test(test_configurations),
      cmocka_unit_test(test_table_and_settings),
      cmocka_unit_test(test_killed_sweep_resumes_and_matches),
      cmocka_unit_test(test_top_weight_decay_only_without_conv),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
