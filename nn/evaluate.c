#include "nn/evaluate.h"

#include "autograd/ops.h"
#include <stdlib.h>

#include "data/batcher.h"

void hg_count_correct(const hg_tensor *logits, const int *labels, int n, int *top1, int *top5) {
  int classes = logits->shape[1];
  *top1 = *top5 = 0;
  for (int i = 0; i < n; i++) {
    const float *row = logits->data + (size_t)i * classes;
    float target = row[labels[i]];
    int above = 0; /* classes scoring higher than the label (ties to the lower index) */
    for (int c = 0; c < classes; c++)
      above += row[c] > target || (row[c] == target && c < labels[i]);
    *top1 += above == 0;
    *top5 += above < 5;
  }
}

static hg_status eval_batches(hg_net *net, hg_batcher *b, hg_tensor *x, int *labels, hg_eval *e) {
  long top1 = 0, top5 = 0;
  double loss = 0;
  int count;
  hg_status s;
  while ((s = hg_batcher_next(b, x, labels, &count)) == HG_OK && count > 0) {
    hg_tensor *logits = hg_net_forward(net, x, false);
    if (!logits) return hg_last_status();
    hg_tensor *rows = hg_tensor_narrow0(logits, 0, count);
    hg_tensor *ce = rows ? hg_cross_entropy(rows, labels) : NULL;
    if (!ce) {
      hg_tensor_free(rows);
      hg_tensor_free(logits);
      return hg_last_status();
    }
    int c1, c5;
    hg_count_correct(logits, labels, count, &c1, &c5);
    top1 += c1;
    top5 += c5;
    loss += (double)ce->data[0] * count;
    hg_tensor_free(ce);
    hg_tensor_free(rows);
    hg_tensor_free(logits);
  }
  e->loss = loss;
  e->top1 = (double)top1;
  e->top5 = (double)top5;
  return s;
}

hg_status hg_evaluate(hg_net *net, const hg_dataset *ds, int batch, hg_eval *out) {
  const int *im = ds->shape;
  hg_batcher *b = hg_batcher_new(ds, batch, false, 0);
  hg_tensor *x = b ? hg_tensor_empty(HG_SHAPE(batch, im[1], im[2], im[3])) : NULL;
  int *labels = x ? calloc((size_t)batch, sizeof *labels) : NULL;
  hg_status s = labels ? HG_OK : hg_fail(HG_ERR_NOMEM, "evaluate: out of memory");
  bool grad = hg_set_grad_enabled(false);
  hg_eval e = {0};
  if (s == HG_OK) s = eval_batches(net, b, x, labels, &e);
  hg_set_grad_enabled(grad);
  hg_net_clear_outputs(net);
  if (s == HG_OK) {
    out->count = ds->count;
    out->loss = e.loss / ds->count;
    out->top1 = e.top1 / ds->count;
    out->top5 = e.top5 / ds->count;
  }
  free(labels);
  hg_tensor_free(x);
  hg_batcher_free(b);
  return s;
}
