/* Batch norms' statistics recounted for a trained, frozen net: the exact
 * mean and variance of each batch norm's input under the final weights,
 * instead of the running averages a training phase leaves (with momentum
 * 0.1 and SoftHebb's batches of 10 they rest on its last ~100 images, and
 * they lag behind weights that changed at every step). */
#include <stdlib.h>

#include "data/batcher.h"
#include "nn/net.h"

/* sum[c] += Σ x[n][c][·], sq[c] += Σ x², over the first `rows` rows of x [N,C,…]. */
static void add_channel_sums(const hg_tensor *x, int rows, double *sum, double *sq) {
  int c = x->shape[1];
  size_t plane = x->numel / ((size_t)x->shape[0] * c);
#pragma omp parallel for if ((size_t)rows * c * plane > 32768)
  for (int j = 0; j < c; j++) {
    double s = 0, q = 0;
    for (int n = 0; n < rows; n++) {
      const float *v = x->data + ((size_t)n * c + j) * plane;
      for (size_t i = 0; i < plane; i++) {
        s += v[i];
        q += (double)v[i] * v[i];
      }
    }
    sum[j] += s;
    sq[j] += q;
  }
}

/* The input statistics of batch norm `at` over the first `count` rows of ds. */
static hg_status recount(hg_net *net, int at, const hg_dataset *ds, int count, int batch) {
  hg_layer *bn = net->layers[at];
  int c = bn->cfg.norm.channels;
  double *sum = calloc(2 * (size_t)c, sizeof *sum), *sq = sum ? sum + c : NULL, values = 0;
  const int *s = ds->shape;
  hg_tensor *x = sum ? hg_tensor_empty(HG_SHAPE(batch, s[1], s[2], s[3])) : NULL;
  hg_batcher *b = x ? hg_batcher_new(ds, batch, false, 0) : NULL;
  hg_status st = b ? HG_OK : sum ? hg_last_status() : hg_fail(HG_ERR_NOMEM, "batch norm '%s': out of memory", bn->name);
  int got = 0, rows;
  while (st == HG_OK && got < count && (st = hg_batcher_next(b, x, NULL, &rows)) == HG_OK && rows > 0) {
    rows = rows < count - got ? rows : count - got;
    hg_tensor *in = at > 0 ? hg_net_forward_range(net, x, 0, at, false) : hg_tensor_retain(x);
    if (in && in->shape[1] != c) st = hg_fail(HG_ERR_SHAPE, "batch norm '%s': input of %d channels, not %d", bn->name, in->shape[1], c);
    else if (in) add_channel_sums(in, rows, sum, sq);
    else st = hg_last_status();
    if (in) values += (double)rows * (in->numel / ((size_t)in->shape[0] * c));
    got += rows;
    hg_tensor_free(in);
    hg_net_clear_outputs(net);
  }
  for (int j = 0; st == HG_OK && j < c; j++) { /* variance unbiased, as the running one */
    double mean = sum[j] / values, var = (sq[j] - values * mean * mean) / (values > 1 ? values - 1 : 1);
    bn->running_mean->data[j] = (float)mean;
    bn->running_var->data[j] = (float)(var > 0 ? var : 0);
  }
  hg_batcher_free(b);
  hg_tensor_free(x);
  free(sum);
  return st;
}

hg_status hg_net_recount_norms(hg_net *net, int upto, const hg_dataset *ds, int count, int batch) {
  if (upto < 0 || upto > net->n || count < 2 || batch < 1)
    return hg_fail(HG_ERR_ARG, "recount norms: layers [0, %d) of a net of %d, %d images, batch %d", upto, net->n,
                   count, batch);
  if (count > ds->count) count = ds->count;
  bool grad = hg_set_grad_enabled(false);
  hg_status st = HG_OK;
  for (int i = 0; i < upto && st == HG_OK; i++)
    if (net->layers[i]->ops->kind == HG_LAYER_BATCH_NORM) st = recount(net, i, ds, count, batch);
  hg_set_grad_enabled(grad);
  return st;
}
