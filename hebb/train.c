#include "hebb/train.h"

#include <math.h>
#include <stdlib.h>

#include "autograd/ops.h"
#include "nn/evaluate.h"

/* One group per learning layer of the given mode; NULL when there is none. */
static hg_optimizer *optimizer_for(hg_net *net, hg_train_mode mode, hg_group_opts opts, bool adam) {
  hg_optimizer *opt = NULL;
  for (int i = 0; i < net->n; i++) {
    hg_layer *l = net->layers[i];
    if (!hg_layer_has_params(l) || l->mode != mode) continue;
    size_t begin, end;
    hg_net_slab_range(net, i, i, &begin, &end);
    if (!opt) opt = adam ? hg_adam_new(net->param_slab->data, net->grad_slab->data, net->param_slab->numel)
                         : hg_sgd_new(net->param_slab->data, net->grad_slab->data, net->param_slab->numel);
    if (!opt || hg_optim_add_group(opt, begin, end, opts) != HG_OK) {
      hg_optim_free(opt);
      return NULL;
    }
  }
  return opt;
}

static bool is_classifier(const hg_net *net, int i) {
  for (int j = i + 1; j < net->n; j++)
    if (net->layers[j]->weight) return false;
  return true;
}

/* *out = a copy of p owning no mask or state yet. */
static void copy_plasticity(const hg_plasticity *p, hg_plasticity *out) {
  *out = *p;
  out->mask = NULL;
  out->state = NULL;
}

/* The supervised Hebbian classifier learns from the teacher signal: with p's
 * rule when it takes a competition, else with instar. */
static hg_status teach(hg_plasticity *p) {
  if (p->rule->coefficients && hg_plasticity_parse("instar", p) != HG_OK) return hg_last_status();
  return hg_competition_parse("teacher", &p->comp);
}

/* Each H layer's own learning rate (its rule's lr=), in the order of opt_h's groups. */
static void set_layer_lrs(hg_trainer *t) {
  for (int i = 0, g = 0; i < t->net->n; i++) {
    hg_layer *l = t->net->layers[i];
    if (l->mode != HG_TRAIN_H || !hg_layer_has_params(l)) continue;
    if (t->plasticity[i].lr > 0) hg_optim_set_lr(t->opt_h, g, t->plasticity[i].lr);
    g++;
  }
}

hg_trainer *hg_trainer_new_rules(hg_net *net, const hg_plasticity *rules, int n_rules, const hg_trainer_opts *opts) {
  if (!net->param_slab) {
    hg_fail(HG_ERR_STATE, "trainer: the net is not finalized (hg_net_finalize)");
    return NULL;
  }
  hg_trainer *t = calloc(1, sizeof *t);
  hg_plasticity *p = t ? calloc((size_t)net->n, sizeof *p) : NULL;
  if (!p) {
    free(t);
    hg_fail(HG_ERR_NOMEM, "trainer: out of memory");
    return NULL;
  }
  t->net = net;
  t->plasticity = p;
  t->sync = opts->sync && opts->sync->size > 1 ? opts->sync : NULL;
  t->last_hebb = -1;
  hg_status s = HG_OK;
  int hebbian = 0;
  for (int i = 0; i < net->n && s == HG_OK; i++) {
    hg_layer *l = net->layers[i];
    t->any_backprop |= l->mode == HG_TRAIN_B && hg_layer_has_params(l);
    if (l->mode != HG_TRAIN_H || !l->weight) continue;
    t->last_hebb = i;
    if (n_rules < 1 || (n_rules > 1 && hebbian >= n_rules)) {
      s = hg_fail(HG_ERR_ARG, "trainer: layer %s is Hebbian layer %d but %d rule%s given", l->name, hebbian + 1,
                  n_rules, n_rules == 1 ? " was" : "s were");
      break;
    }
    hg_layer_drop_bias(l); /* Hebbian neurons have no bias: u = w·x */
    copy_plasticity(&rules[n_rules > 1 ? hebbian : 0], &p[i]);
    hebbian++;
    if (is_classifier(net, i)) s = teach(&p[i]);
    if (s == HG_OK) s = hg_plasticity_init(&p[i], l->weight, &net->rng);
  }
  if (s == HG_OK && n_rules > 1 && hebbian != n_rules)
    s = hg_fail(HG_ERR_ARG, "trainer: %d rules given for %d Hebbian layers", n_rules, hebbian);
  hg_group_opts h = hg_sgd_opts(opts->hebb_lr, 0.0f, 0.0f, false);
  if (s == HG_OK) t->opt_h = optimizer_for(net, HG_TRAIN_H, h, false);
  if (s == HG_OK) t->opt_b = optimizer_for(net, HG_TRAIN_B, opts->backprop, opts->adam);
  if (s != HG_OK || (t->last_hebb >= 0 && !t->opt_h) || (t->any_backprop && !t->opt_b)) {
    hg_trainer_free(t);
    return NULL;
  }
  if (t->opt_h) set_layer_lrs(t);
  return t;
}

hg_trainer *hg_trainer_new(hg_net *net, const hg_plasticity *hebb, const hg_trainer_opts *opts) {
  return hg_trainer_new_rules(net, hebb, hebb ? 1 : 0, opts);
}

/* A batch norm normalises the input of the layer after it, so it starts that one's block. */
static bool starts_block(const hg_layer *l) {
  hg_layer_kind k = l->ops->kind;
  return hg_layer_is_affine(l) || k == HG_LAYER_BATCH_NORM || k == HG_LAYER_FLATTEN || k == HG_LAYER_DROPOUT;
}

int hg_trainer_freeze_upto(hg_trainer *t, int layer) {
  hg_net *net = t->net;
  for (int i = 0; i < layer; i++)
    if (net->layers[i]->mode == HG_TRAIN_B && hg_layer_is_affine(net->layers[i])) {
      hg_fail(HG_ERR_ARG, "freeze: layer %s below the Hebbian layer %s learns by backprop", net->layers[i]->name,
              net->layers[layer]->name);
      return -1;
    }
  int end = layer + 1;
  while (end < net->n && !starts_block(net->layers[end])) end++;
  for (int i = 0; i < end; i++) hg_layer_set_mode(net->layers[i], HG_TRAIN_F);
  return end;
}

int hg_trainer_freeze_hebbian(hg_trainer *t) {
  if (t->last_hebb < 0) return 0;
  int end = hg_trainer_freeze_upto(t, t->last_hebb);
  if (end >= 0) t->last_hebb = -1;
  return end;
}

void hg_trainer_free(hg_trainer *t) {
  if (!t) return;
  for (int i = 0; i < t->net->n; i++) hg_plasticity_release(&t->plasticity[i]);
  free(t->plasticity);
  hg_optim_free(t->opt_b);
  hg_optim_free(t->opt_h);
  free(t);
}

hg_status hg_trainer_set_plasticity(hg_trainer *t, int layer, const hg_plasticity *p) {
  if (layer < 0 || layer >= t->net->n || t->net->layers[layer]->mode != HG_TRAIN_H)
    return hg_fail(HG_ERR_ARG, "trainer: layer %d is not a Hebbian layer", layer);
  hg_plasticity_release(&t->plasticity[layer]);
  copy_plasticity(p, &t->plasticity[layer]);
  return hg_plasticity_init(&t->plasticity[layer], t->net->layers[layer]->weight, &t->net->rng);
}

/* loss += term; both may be NULL (nothing yet / failure). */
static hg_status add_term(hg_tensor **loss, hg_tensor *term) {
  if (!term) return hg_last_status();
  if (!*loss) {
    *loss = term;
    return HG_OK;
  }
  hg_tensor *sum = hg_add(*loss, term);
  hg_tensor_free(*loss);
  hg_tensor_free(term);
  *loss = sum;
  return sum ? HG_OK : hg_last_status();
}

static hg_status hebbian_losses(hg_trainer *t, hg_tensor *x, const int *labels, int upto,
                                hg_tensor **loss, float *value) {
  for (int i = t->net->first; i <= upto; i++) {
    hg_layer *l = t->net->layers[i];
    if (l->mode != HG_TRAIN_H || !l->weight) continue;
    hg_tensor *in = i > t->net->first ? t->net->outputs[i - 1] : x;
    hg_tensor *term = hg_plasticity_loss(&t->plasticity[i], l, t->net->outputs[i], in, labels);
    if (term) *value += term->data[0];
    hg_status s = add_term(loss, term);
    if (s != HG_OK) return s;
  }
  return HG_OK;
}

/* The batch's mean cross-entropy; `share` of the batch's rows are here (1
 * but in data-parallel steps, whose processes' terms then sum to the mean). */
static hg_status cross_entropy_term(hg_tensor *logits, const int *labels, int count, float share,
                                    hg_tensor **loss, hg_step_stats *st) {
  hg_tensor *rows = hg_narrow(logits, 0, count);
  hg_tensor *ce = rows ? hg_cross_entropy(rows, labels) : NULL;
  hg_tensor_free(rows);
  if (ce) st->ce_loss = ce->data[0];
  if (ce && share != 1.0f) {
    hg_tensor *part = hg_scale(ce, share);
    hg_tensor_free(ce);
    ce = part;
  }
  int top5;
  hg_count_correct(logits, labels, count, &st->correct, &top5);
  return add_term(loss, ce);
}

static hg_status optimize(hg_trainer *t, hg_phase phase) {
  hg_status s = HG_OK;
  if (t->opt_h && phase != HG_PHASE_BACKPROP) s = hg_optim_step(t->opt_h);
  if (s == HG_OK && t->opt_b && phase != HG_PHASE_HEBB) s = hg_optim_step(t->opt_b);
  if (s != HG_OK || phase == HG_PHASE_BACKPROP) return s;
  for (int i = 0; i <= t->last_hebb; i++)
    if (t->net->layers[i]->mode == HG_TRAIN_H && t->net->layers[i]->weight)
      hg_plasticity_after_step(&t->plasticity[i], t->net->layers[i]);
  return HG_OK;
}

/* Data-parallel: the stats of the whole batch (sums over the processes; this
 * process saw `rows` of the `count`). */
static hg_status sync_stats(const hg_batch_sync *sync, int rows, int count, hg_step_stats *st) {
  double v[3] = {(double)st->ce_loss * rows, st->hebb_loss, st->correct};
  hg_status s = sync->sum_double(v, 3, sync->ctx);
  *st = (hg_step_stats){.ce_loss = (float)(v[0] / count), .hebb_loss = (float)v[1], .correct = (int)v[2]};
  return s;
}

/* The rows [*lo, *lo + *n) of a batch of `count` that this process takes. */
static hg_status share_of(const hg_batch_sync *sync, int count, int *lo, int *n) {
  *lo = 0;
  *n = count;
  if (!sync) return HG_OK;
  if (count < sync->size)
    return hg_fail(HG_ERR_ARG, "data-parallel step: a batch of %d rows over %d processes (need one row each)",
                   count, sync->size);
  *lo = (int)((long)count * sync->rank / sync->size);
  *n = (int)((long)count * (sync->rank + 1) / sync->size) - *lo;
  return HG_OK;
}

hg_status hg_trainer_step(hg_trainer *t, hg_tensor *x, const int *labels, int count, hg_phase phase,
                          hg_step_stats *stats) {
  hg_step_stats st = {0};
  hg_net *net = t->net;
  bool hebb = phase != HG_PHASE_BACKPROP && t->last_hebb >= 0;
  bool backprop = phase != HG_PHASE_HEBB && t->any_backprop;
  int upto = backprop || phase == HG_PHASE_JOINT ? net->n : t->last_hebb + 1, lo, n;
  hg_tensor *loss = NULL, *out = NULL, *rows = NULL;
  hg_status s = share_of(t->sync, count, &lo, &n);
  const hg_batch_sync *outer = hg_batch_sync_use(t->sync);
  hg_batch_sync_set_rows(lo, n, count);
  labels += lo;
  /* Rows past `count` (a short last batch's padding) must not reach batch
   * statistics or Hebbian sums: the step sees only the first `count` rows. */
  if (s == HG_OK) rows = n == x->shape[0] ? hg_tensor_retain(x) : hg_tensor_narrow0(x, lo, n);
  if (s == HG_OK && !rows) s = hg_last_status();
  if (s == HG_OK) out = hg_net_forward_range(net, rows, net->first, upto, true);
  if (s == HG_OK && !out) s = hg_last_status();
  if (s == HG_OK && hebb) s = hebbian_losses(t, rows, labels, t->last_hebb, &loss, &st.hebb_loss);
  if (s == HG_OK && backprop) s = cross_entropy_term(out, labels, n, (float)n / count, &loss, &st);
  if (s == HG_OK && loss && !isfinite(loss->data[0]))
    s = hg_fail(HG_ERR_NUMERIC, "the loss is %g (cross-entropy %g, Hebbian %g)",
                loss->data[0], st.ce_loss, st.hebb_loss);
  bool learns = loss && loss->requires_grad; /* nothing to learn below a Hebbian classifier */
  if (s == HG_OK && learns) s = hg_backward(loss);
  if (s == HG_OK && learns && t->sync) {
    s = t->sync->sum_float(net->grad_slab->data, net->grad_slab->numel, t->sync->ctx);
    hg_net_grads_written(net);
  }
  if (s == HG_OK && learns) s = optimize(t, phase);
  if (s == HG_OK && t->sync) s = sync_stats(t->sync, n, count, &st);
  hg_batch_sync_use(outer);
  hg_tensor_free(loss);
  hg_tensor_free(out);
  hg_tensor_free(rows);
  hg_tape_clear();
  hg_net_zero_grad(net);
  if (stats) *stats = st;
  return s;
}
