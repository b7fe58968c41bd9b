/* train: train the seeds' network (or a small one) with SGD, Hebbian rules
 * or any mix, on MNIST, Fashion-MNIST, CIFAR-10 or CIFAR-100; report
 * validation and test accuracy. Optionally end with a linear probe. Under
 * mpirun (built with -DHG_MPI=ON) the processes split every batch
 * (data-parallel, docs/scale-out.md); rank 0 alone writes and reports. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "examples/train_options.h"

/* hg_fit's options of a phase of this run: `epochs` of it, resumed with --resume. */
static hg_status phase_opts(const train_options *o, hg_phase phase, int epochs, const char *label,
                            const char *dir, hg_fit_opts *f) {
  bool lead = hg_parallel_rank() == 0;
  hg_status s = hg_common_fit_opts(&o->c, phase, dir, label, lead ? stdout : NULL, f);
  f->epochs = epochs;
  f->resume = o->resume;
  f->read_only = !lead;
  return s;
}

static hg_status report(hg_net *net, const hg_data *d, const train_options *o, const char *run_dir,
                        const char *what, const hg_fit_result *res, double *test_top1) {
  hg_eval val = {0}, test;
  hg_status s = d->val ? hg_evaluate(net, d->val, o->c.batch, &val) : HG_OK;
  if (s == HG_OK) s = hg_evaluate(net, d->test, o->c.batch, &test);
  if (s != HG_OK) return s;
  char val_text[32] = "none (--val 0)";
  if (d->val) snprintf(val_text, sizeof val_text, "%.2f%%", 100 * val.top1);
  printf("%s: validation %s, test %.2f%% (top-5 %.2f%%), %d epochs, %.0f s, %.0f img/s\n", what, val_text,
         100 * test.top1, 100 * test.top5, res->epochs_run, res->seconds, res->images_per_s);
  *test_top1 = test.top1;
  char prefix[1024], csv[1100], epochs[16], seen[16];
  snprintf(prefix, sizeof prefix, "%s/result", run_dir);
  snprintf(csv, sizeof csv, "%s.csv", prefix);
  snprintf(epochs, sizeof epochs, "%d", res->epochs_run);
  const char *key_cols[] = {"what", "epochs"}, *key_vals[] = {what, epochs};
  if (o->resume && hg_experiment_find_result(csv, 2, key_cols, key_vals, "epochs", seen, sizeof seen)) {
    printf("%s: already recorded in %s (a finished run resumed)\n", what, csv);
    return HG_OK;
  }
  const char *cols[] = {"what", "data", "model", "modes", "hebb", "epochs", "val_top1", "test_top1",
                        "test_top5", "seconds"};
  hg_results *r = hg_results_open(prefix, 10, cols);
  if (!r) return hg_last_status();
  char v[5][32];
  snprintf(v[0], 32, "%d", res->epochs_run);
  v[1][0] = '\0'; /* no validation set: no number */
  if (d->val) snprintf(v[1], 32, "%.6f", val.top1);
  snprintf(v[2], 32, "%.6f", test.top1);
  snprintf(v[3], 32, "%.6f", test.top5);
  snprintf(v[4], 32, "%.1f", res->seconds);
  const char *hebb = strchr(o->modes, 'H') ? o->c.hebb : "";
  const char *values[] = {what, o->c.data.name, o->c.model, o->modes, hebb, v[0], v[1], v[2], v[3], v[4]};
  s = hg_results_row(r, values);
  hg_results_close(r);
  return s;
}

static hg_status run_probe(hg_net *net, const hg_data *d, const train_options *o, const char *run_dir,
                           double *test_top1) {
  int layer = hg_net_find(net, o->probe);
  if (layer < 0) return hg_fail(HG_ERR_ARG, "--probe: the net has no layer named '%s'", o->probe);
  hg_tensor *sample = hg_dataset_image(d->train, 0);
  hg_status s = sample ? hg_net_attach_probe(net, layer, sample, d->train->num_classes, 0) : hg_last_status();
  hg_tensor_free(sample);
  if (s == HG_OK && o->probe_shc) hg_layer_set_mode(net->layers[net->n - 1], HG_TRAIN_H);
  hg_group_opts probe_opts = o->adam ? hg_adam_opts(o->probe_lr, o->probe_decay)
                                     : hg_sgd_opts(o->probe_lr, o->c.momentum, o->probe_decay, !o->no_nesterov);
  hg_trainer_opts to = {.backprop = probe_opts, .adam = o->adam, .hebb_lr = o->c.hebb_lr, .sync = hg_parallel_sync()};
  hg_plasticity teacher; /* the base of the Hebbian classifier's teacher rule */
  if (s == HG_OK && o->probe_shc) s = hg_plasticity_parse("instar", &teacher);
  hg_trainer *t = s == HG_OK ? hg_trainer_new(net, o->probe_shc ? &teacher : NULL, &to) : NULL;
  if (!t) return hg_last_status();
  char dir[1024], label[64];
  snprintf(dir, sizeof dir, "%s/probe-%s", run_dir, o->probe);
  snprintf(label, sizeof label, "probe %s", o->probe);
  hg_fit_opts f;
  hg_fit_result res;
  s = phase_opts(o, o->probe_shc ? HG_PHASE_HEBB : HG_PHASE_BACKPROP, o->probe_epochs, label, dir, &f);
  f.base_lr = o->probe_lr;
  f.resume = false;
  if (s == HG_OK) s = hg_fit_skip_fixed(t, d->train, d->val, &f, &res); /* the frozen layers run once */
  if (s == HG_OK && hg_parallel_rank() == 0) s = report(net, d, o, run_dir, label, &res, test_top1);
  hg_trainer_free(t);
  return s;
}

/* --modes, or all B then -G: "BBBBB-G" for the seeds' net. */
static const char *modes(const train_options *o, const hg_net *net, char *buf, size_t size) {
  if (o->modes) return o->modes;
  int weighted = 0;
  for (int i = 0; i < net->n; i++) weighted += hg_layer_is_affine(net->layers[i]);
  snprintf(buf, size, "%.*s-G", weighted - 1, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB");
  return buf;
}

/* The weights before training, for plot_run (kept from the first run into run_dir). */
static hg_status save_init(hg_net *net, const char *run_dir) {
  char path[600];
  snprintf(path, sizeof path, "%s/init.safetensors", run_dir);
  if (access(path, F_OK) == 0) return HG_OK;
  const char *keys[] = {"setting"}, *values[] = {"initial weights, before training"};
  return hg_experiment_save_net(net, path, 1, keys, values);
}

/* What makes a run this run, in RUN_DIR/settings.json: written by a new run,
 * and a --resume with other settings is refused naming the first that differs. */
static hg_status check_settings(const train_options *o, const hg_data *d, const char *run_dir) {
  char path[600], num[7][32];
  snprintf(path, sizeof path, "%s/settings.json", run_dir);
  const hg_data_opts *data = &o->c.data;
  snprintf(num[0], 32, "%d", data->n_val);
  snprintf(num[1], 32, "%d", data->limit_train);
  snprintf(num[2], 32, "%d", data->limit_test);
  snprintf(num[3], 32, "%s %g", data->zca ? "on" : "off", data->zca_eps);
  snprintf(num[4], 32, "%d", o->c.seed);
  snprintf(num[5], 32, "%d", o->c.batch);
  snprintf(num[6], 32, "%d", o->hebb_batch ? o->hebb_batch : o->c.batch);
  const char *keys[] = {"data", "read_from", "model", "modes", "hebb", "val", "limit_train", "limit_test",
                        "zca", "seed", "batch", "hebb_batch", "model_options", "hebbian_order"};
  const char *values[] = {data->name, d->train->source, o->c.model, o->modes, strchr(o->modes, 'H') ? o->c.hebb : "",
                          num[0], num[1], num[2], num[3], num[4], num[5], num[6],
                          strcmp(o->c.model, "softhebb") ? "" : o->c.triangle_powers,
                          o->greedy ? "greedy" : "one pass"};
  if (!o->resume && remove(path) != 0 && errno != ENOENT)
    return hg_fail(HG_ERR_IO, "train: cannot replace %s: %s", path, strerror(errno));
  return hg_sweep_settings_check(path, 14, keys, values);
}

/* The Hebbian phase: all H layers in the same pass, or with --greedy one
 * after another (each with its own epochs, the layers below it frozen). */
static hg_status hebbian_phase(hg_trainer *t, const hg_data *d, const train_options *o, const char *run_dir,
                               hg_fit_result *res) {
  int stages[64], n = 0; /* the top H layer of each stage */
  for (int i = 0; i <= t->last_hebb && n < 64; i++)
    if (o->greedy && t->net->layers[i]->mode == HG_TRAIN_H && t->net->layers[i]->weight) stages[n++] = i;
  if (!o->greedy) stages[n++] = t->last_hebb;
  hg_status s = HG_OK;
  double seconds = 0;
  for (int k = 0; k < n && s == HG_OK; k++) {
    if (k > 0 && hg_trainer_freeze_upto(t, stages[k - 1]) < 0) return hg_last_status();
    t->last_hebb = stages[k];
    const char *name = t->net->layers[stages[k]]->name;
    char dir[600], label[64] = "hebbian";
    if (o->greedy) snprintf(label, sizeof label, "hebbian %s", name);
    snprintf(dir, sizeof dir, "%s/%s%s", run_dir, o->greedy ? "hebb-" : "hebb", o->greedy ? name : "");
    hg_fit_opts f;
    s = phase_opts(o, HG_PHASE_HEBB, o->c.hebb_epochs, label, dir, &f);
    if (o->hebb_batch) f.batch = o->hebb_batch;
    if (s == HG_OK) s = hg_fit(t, d->train, d->val, &f, res);
    seconds += res->seconds;
  }
  if (s == HG_OK) printf("time: hebbian phase %.1f s\n", seconds);
  return s;
}

/* --recount-norms: the frozen blocks' batch norms on exact statistics. */
static hg_status recount_norms(hg_net *net, const hg_dataset *train, const train_options *o) {
  double t0 = hg_now();
  hg_status s = hg_net_recount_norms(net, hg_fit_fixed_prefix(net), train, o->recount_norms, o->c.batch);
  if (s == HG_OK) printf("time: batch norms %.1f s (recounted on %d images)\n", hg_now() - t0, o->recount_norms);
  return s;
}

/* The Hebbian phase (when a layer is H and not --joint), then the SGD or joint
 * one: on features computed once after freezing the Hebbian blocks with
 * --cache-features. */
static hg_status fit_phases(hg_trainer *t, const hg_data *d, const train_options *o, const char *run_dir,
                            hg_fit_result *res) {
  hg_status s = t->last_hebb >= 0 && !o->joint ? hebbian_phase(t, d, o, run_dir, res) : HG_OK;
  bool cache = o->cache_features && !o->joint;
  if (s == HG_OK && cache && hg_trainer_freeze_hebbian(t) < 0) s = hg_last_status();
  if (s == HG_OK && cache && o->recount_norms > 0) s = recount_norms(t->net, d->train, o);
  if (s == HG_OK && (t->any_backprop || o->joint)) {
    const char *what = o->joint ? "joint" : "backprop";
    char dir[600];
    hg_fit_opts f;
    snprintf(dir, sizeof dir, "%s/%s", run_dir, what);
    s = phase_opts(o, o->joint ? HG_PHASE_JOINT : HG_PHASE_BACKPROP, o->c.epochs, what, dir, &f);
    if (s == HG_OK) s = cache ? hg_fit_skip_fixed(t, d->train, d->val, &f, res) : hg_fit(t, d->train, d->val, &f, res);
    if (s == HG_OK && cache) printf("time: features %.1f s\n", res->feature_seconds);
    if (s == HG_OK) printf("time: %s phase %.1f s\n", what, res->seconds);
  }
  return s;
}

/* Rank 0's part before training: the run folder, its settings, the initial weights. */
static hg_status start_run(const train_options *o, const hg_data *d, hg_net *net, const char *run_dir) {
  hg_status s = hg_make_dirs(run_dir);
  if (s == HG_OK) s = check_settings(o, d, run_dir);
  if (s == HG_OK) s = save_init(net, run_dir);
  return s;
}

static hg_status train(train_options *o) {
  if (o->recount_norms > 0 && (!o->cache_features || o->joint))
    return hg_fail(HG_ERR_ARG, "--recount-norms %d: needs --cache-features without --joint (it recounts the "
                               "frozen blocks' batch norms before their output is cached)", o->recount_norms);
  hg_data d = {0};
  hg_status s = hg_common_prepare_all(&o->c, &d); /* rank 0 first: the others find its ZCA cache */
  hg_net *net = s == HG_OK ? hg_common_net(&o->c, d.train, (uint64_t)o->c.seed) : NULL;
  if (!net) {
    hg_data_release(&d);
    return hg_last_status();
  }
  char run_dir[512], default_modes[64];
  o->modes = modes(o, net, default_modes, sizeof default_modes);
  if (o->run_dir) snprintf(run_dir, sizeof run_dir, "%s", o->run_dir);
  else snprintf(run_dir, sizeof run_dir, "%s/%s-%s", o->c.out, o->c.data.name, o->modes);
  hg_plasticity rules[HG_MAX_RULES];
  int n_rules = 0;
  bool hebbian = strchr(o->modes, 'H') != NULL;
  s = hg_net_set_modes(net, o->modes);
  if (s == HG_OK && hebbian && (n_rules = hg_plasticity_parse_list(o->c.hebb, rules, HG_MAX_RULES)) < 0)
    s = hg_last_status();
  float lr = o->c.lr, decay = o->c.weight_decay;
  bool nesterov = !o->no_nesterov && o->c.momentum > 0;
  hg_trainer_opts to = {.backprop = o->adam ? hg_adam_opts(lr, decay) : hg_sgd_opts(lr, o->c.momentum, decay, nesterov),
                        .adam = o->adam, .hebb_lr = o->c.hebb_lr, .sync = hg_parallel_sync()};
  hg_trainer *t = s == HG_OK ? hg_trainer_new_rules(net, rules, n_rules, &to) : NULL;
  if (s == HG_OK && !t) s = hg_last_status();
  if (s == HG_OK && o->init) s = hg_experiment_load_net(net, o->init, -1); /* weights only */
  bool lead = hg_parallel_rank() == 0;
  if (s == HG_OK && lead) s = start_run(o, &d, net, run_dir);
  if (!hg_parallel_all(s == HG_OK) && s == HG_OK) s = hg_fail(HG_ERR_IO, "rank 0 could not start %s", run_dir);
  hg_fit_result res = {0};
  if (s == HG_OK) s = fit_phases(t, &d, o, run_dir, &res);
  double top1 = 1;
  if (s == HG_OK && lead) s = report(net, &d, o, run_dir, o->modes, &res, &top1);
  hg_trainer_free(t);
  if (s == HG_OK && o->probe) s = run_probe(net, &d, o, run_dir, &top1);
  if (s == HG_OK && top1 < o->min_test_acc)
    s = hg_fail(HG_ERR_NUMERIC, "test accuracy %.2f%% is below --min-test-acc %.2f%%", 100 * top1,
                100 * o->min_test_acc);
  hg_net_free(net);
  hg_data_release(&d);
  struct rusage ru;
  if (s == HG_OK && getrusage(RUSAGE_SELF, &ru) == 0) printf("peak RSS: %.0f MB\n", ru.ru_maxrss / 1024.0);
  return s;
}

int main(int argc, char **argv) {
  train_options o = {0};
  hg_status s = hg_parallel_start(&argc, &argv);
  int rc = s == HG_OK ? hg_common_start(&train_cli, argc, argv, &o) : hg_cli_status(&train_cli, s, stderr);
  if (rc >= 0) return hg_parallel_end(rc);
  s = train(&o);
  rc = hg_cli_status(&train_cli, s, stderr);
  return hg_parallel_end(s == HG_ERR_NUMERIC && strstr(hg_last_error(), "min-test-acc") ? 3 : rc);
}
