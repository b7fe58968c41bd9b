/* Accuracy of a network on a data set: top-1, top-5 and mean cross-entropy,
 * in evaluation mode (running batch-norm statistics, no dropout, no tape). */
#ifndef HG_EVALUATE_H
#define HG_EVALUATE_H

#include "data/dataset.h"
#include "nn/net.h"

typedef struct hg_eval {
  double loss;       /* mean cross-entropy */
  double top1, top5; /* fractions in [0, 1] */
  int count;
} hg_eval;

/* Rows among the first n of logits [N,C] whose label is the arg-max (top1)
 * or among the 5 largest (top5). */
void hg_count_correct(const hg_tensor *logits, const int *labels, int n, int *top1, int *top5);
/* Evaluate the layers [0, net->n) of net on ds in batches of `batch`. */
hg_status hg_evaluate(hg_net *net, const hg_dataset *ds, int batch, hg_eval *out);

#endif
