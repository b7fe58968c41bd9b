/* Linear probes: a trained net cut after one layer, frozen, with a new
 * linear classifier on that layer's (flattened) output, and the frozen
 * layers' outputs computed once for a whole data set. */
#include <string.h>

#include "data/batcher.h"
#include "io/progress.h"
#include "nn/net.h"

hg_status hg_net_attach_probe(hg_net *net, int after, const hg_tensor *sample, int classes, float dropout) {
  if (after < 0 || after >= net->n)
    return hg_fail(HG_ERR_ARG, "probe: no layer %d (the net has %d)", after, net->n);
  if (!(dropout >= 0 && dropout < 1)) return hg_fail(HG_ERR_ARG, "probe: dropout %g is not in [0, 1)", dropout);
  hg_net_truncate(net, after + 1);
  for (int i = 0; i < net->n; i++) hg_layer_set_mode(net->layers[i], HG_TRAIN_F);
  bool grad = hg_set_grad_enabled(false);
  hg_tensor *one = hg_tensor_narrow0((hg_tensor *)sample, 0, 1);
  hg_tensor *y = one ? hg_net_forward(net, one, false) : NULL;
  hg_set_grad_enabled(grad);
  hg_tensor_free(one);
  if (!y) return hg_last_status();
  int features = (int)y->numel;
  hg_tensor_free(y);
  hg_net_clear_outputs(net);
  hg_status s = hg_net_add(net, hg_layer_flatten("probe_flatten"));
  if (s == HG_OK && dropout > 0) s = hg_net_add(net, hg_layer_dropout("probe_dropout", dropout));
  if (s == HG_OK) s = hg_net_add(net, hg_layer_linear("probe", features, classes, true, &net->rng));
  return s == HG_OK ? hg_net_finalize(net) : s;
}

hg_dataset *hg_net_features_to(hg_net *net, int upto, const hg_dataset *ds, int batch, const char *half_dir,
                               FILE *log) {
  if (upto < 1 || upto > net->n || batch < 1) {
    hg_fail(HG_ERR_ARG, "features: layers [0, %d) of a net of %d, batch %d", upto, net->n, batch);
    return NULL;
  }
  const int *s = ds->shape;
  hg_tensor *x = hg_tensor_empty(HG_SHAPE(batch, s[1], s[2], s[3]));
  hg_batcher *b = x ? hg_batcher_new(ds, batch, false, 0) : NULL;
  hg_dataset *out = NULL;
  bool grad = hg_set_grad_enabled(false);
  int count, at = 0;
  hg_progress bar;
  char label[80];
  snprintf(label, sizeof label, "features %s", ds->name);
  if (log && b) hg_progress_start(&bar, log, label, hg_batcher_num_batches(b));
  hg_status st = b ? hg_batcher_next(b, x, NULL, &count) : hg_last_status();
  while (st == HG_OK && count > 0) {
    hg_tensor *y = hg_net_forward_range(net, x, 0, upto, false);
    if (y && !out) { /* the first batch gives the feature shape */
      const int *f = y->shape;
      int c = f[1], h = y->ndim > 2 ? f[2] : 1, w = y->ndim > 3 ? f[3] : 1;
      out = half_dir ? hg_dataset_new_half(ds->count, c, h, w, ds->num_classes, ds->name, half_dir)
                     : hg_dataset_new(ds->count, c, h, w, ds->num_classes, ds->name);
    }
    st = y && out ? hg_dataset_set_rows(out, at, count, y->data) : hg_last_status();
    at += count;
    if (log && st == HG_OK) hg_progress_step(&bar, count, 0);
    if (st == HG_OK) st = hg_batcher_next(b, x, NULL, &count);
    hg_tensor_free(y);
    hg_net_clear_outputs(net);
  }
  if (log && b && st == HG_OK) hg_progress_end(&bar, NULL);
  hg_set_grad_enabled(grad);
  hg_batcher_free(b);
  hg_tensor_free(x);
  if (st == HG_OK && out) {
    memcpy(out->labels, ds->labels, (size_t)ds->count * sizeof *ds->labels);
    return out;
  }
  hg_dataset_free(out);
  return NULL;
}

hg_dataset *hg_net_features(hg_net *net, int upto, const hg_dataset *ds, int batch) {
  return hg_net_features_to(net, upto, ds, batch, NULL, NULL);
}
