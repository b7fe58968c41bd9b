#include "io/progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

double hg_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void hg_progress_start(hg_progress *p, FILE *out, const char *label, int total_batches) {
  memset(p, 0, sizeof *p);
  p->out = out;
  snprintf(p->label, sizeof p->label, "%s", label);
  p->total = total_batches;
  p->start = p->last_draw = hg_now();
  p->tty = isatty(fileno(out));
  p->every = total_batches >= 10 ? total_batches / 10 : 1;
}

static void draw(hg_progress *p, const char *end) {
  double elapsed = hg_now() - p->start;
  double rate = elapsed > 0 ? (double)p->images / elapsed : 0;
  double left = p->done > 0 ? elapsed * (p->total - p->done) / p->done : 0;
  char bar[21];
  int filled = p->total > 0 ? 20 * p->done / p->total : 20;
  for (int i = 0; i < 20; i++) bar[i] = i < filled ? '#' : '.';
  bar[20] = '\0';
  fprintf(p->out, "%s%-12s [%s] %d/%d  %.0f img/s  loss %.4f  %s %.0fs%s", p->tty ? "\r" : "",
          p->label, bar, p->done, p->total, rate, p->loss, p->done < p->total ? "left" : "took",
          p->done < p->total ? left : elapsed, end);
  fflush(p->out);
}

void hg_progress_step(hg_progress *p, int images, float loss) {
  p->done++;
  p->images += images;
  p->loss = loss;
  double now = hg_now();
  if (p->tty && now - p->last_draw > 0.1) {
    draw(p, "\033[K");
    p->last_draw = now;
  } else if (!p->tty && p->done % p->every == 0 && p->done < p->total) {
    draw(p, "\n");
  }
}

void hg_progress_end(hg_progress *p, const char *summary) {
  p->total = p->done;
  draw(p, "");
  fprintf(p->out, "%s%s%s\n", summary ? "  " : "", summary ? summary : "", p->tty ? "\033[K" : "");
  fflush(p->out);
}
