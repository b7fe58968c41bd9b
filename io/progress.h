/* A progress bar for training loops: batches done, images/s, loss and time
 * left, redrawn in place on a terminal; plain lines (one per `every` batches
 * and one at the end) when the output is not a terminal. */
#ifndef HG_PROGRESS_H
#define HG_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

typedef struct hg_progress {
  FILE *out;
  char label[48];
  int total, done;
  float loss; /* of the last batch */
  long images;
  double start, last_draw;
  bool tty;
  int every; /* plain-line period when not a terminal */
} hg_progress;

/* Seconds on a monotonic clock. */
double hg_now(void);
void hg_progress_start(hg_progress *p, FILE *out, const char *label, int total_batches);
/* One more batch of `images` images with this loss. */
void hg_progress_step(hg_progress *p, int images, float loss);
/* Final line with a summary (e.g. "val 91.2%"); may be NULL. */
void hg_progress_end(hg_progress *p, const char *summary);

#endif
