/* Learning-rate schedules and their command-line text form. */
#include "nn/schedule.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

float hg_schedule_lr(const hg_schedule *s, int epoch, float base_lr) {
  if (epoch < 0) epoch = 0;
  const int period = s->period > 0 ? s->period : 1;
  switch (s->kind) {
    case HG_SCHEDULE_CONSTANT:
      return base_lr;
    case HG_SCHEDULE_STEP:
      return (float)((double)base_lr * pow((double)s->gamma, (double)(epoch / period)));
    case HG_SCHEDULE_SEEDS:
      if (epoch < s->hold) return base_lr;
      return (float)((double)base_lr * pow(0.5, (double)((epoch - s->hold) / period + 1)));
    case HG_SCHEDULE_HALVE: {
      int halvings = 0;
      while (halvings < s->n_milestones && s->milestones[halvings] <= epoch) halvings++;
      return (float)ldexp((double)base_lr, -halvings);
    }
    case HG_SCHEDULE_COSINE: {
      if (epoch < s->hold) return (float)((double)base_lr * (epoch + 1) / s->hold);
      if (epoch >= period) return s->min_lr;
      const double pi = 3.14159265358979323846;
      double x = (double)(epoch - s->hold) / (double)(period - s->hold);
      return (float)(s->min_lr + ((double)base_lr - s->min_lr) * 0.5 * (1.0 + cos(pi * x)));
    }
  }
  return base_lr;
}

/* Fields of "kind:a:b:c" split at ':' into field[] (pointers into buf). */
static int split(char *buf, char **field, int max) {
  int n = 0;
  for (char *p = buf;; p++) {
    if (n < max) field[n] = p;
    n++;
    p = strchr(p, ':');
    if (!p) break;
    *p = '\0';
  }
  return n;
}

static bool parse_int(const char *s, int lo, int *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || errno || v < lo || v > INT_MAX) return false;
  *out = (int)v;
  return true;
}

static bool parse_float(const char *s, float *out) {
  char *end;
  errno = 0;
  float v = strtof(s, &end);
  if (*s == '\0' || *end != '\0' || errno || !isfinite(v) || v < 0.0f) return false;
  *out = v;
  return true;
}

#define USAGE "constant, step:S:G, seeds:H:P, halve:E,E,... or cosine:T[:MIN[:W]]"

/* "E,E,...": increasing epochs >= 1, at most HG_SCHEDULE_MILESTONES. */
static bool parse_milestones(char *text, hg_schedule *s) {
  s->n_milestones = 0;
  for (char *p = text, *comma; p; p = comma ? comma + 1 : NULL) {
    comma = strchr(p, ',');
    if (comma) *comma = '\0';
    int e;
    if (s->n_milestones == HG_SCHEDULE_MILESTONES || !parse_int(p, 1, &e) ||
        (s->n_milestones && e <= s->milestones[s->n_milestones - 1]))
      return false;
    s->milestones[s->n_milestones++] = e;
  }
  return true;
}

hg_status hg_schedule_parse(const char *text, hg_schedule *out) {
  if (!text) return hg_fail(HG_ERR_ARG, "lr schedule: missing (expected " USAGE ")");
  char buf[128];
  if (strlen(text) >= sizeof buf)
    return hg_fail(HG_ERR_ARG, "lr schedule '%.40s...': too long (expected " USAGE ")", text);
  strcpy(buf, text);
  char *f[5];
  int n = split(buf, f, 5);
  hg_schedule s = {.kind = HG_SCHEDULE_CONSTANT, .period = 1, .gamma = 1.0f};
  bool ok = false;
  if (strcmp(f[0], "constant") == 0) {
    ok = n == 1;
  } else if (strcmp(f[0], "step") == 0) {
    s.kind = HG_SCHEDULE_STEP;
    ok = n == 3 && parse_int(f[1], 1, &s.period) && parse_float(f[2], &s.gamma);
  } else if (strcmp(f[0], "seeds") == 0) {
    s.kind = HG_SCHEDULE_SEEDS;
    s.gamma = 0.5f;
    ok = n == 3 && parse_int(f[1], 0, &s.hold) && parse_int(f[2], 1, &s.period);
  } else if (strcmp(f[0], "halve") == 0) {
    s.kind = HG_SCHEDULE_HALVE;
    ok = n == 2 && parse_milestones(f[1], &s);
  } else if (strcmp(f[0], "cosine") == 0) {
    s.kind = HG_SCHEDULE_COSINE;
    ok = n >= 2 && n <= 4 && parse_int(f[1], 1, &s.period) &&
         (n < 3 || parse_float(f[2], &s.min_lr)) && (n < 4 || parse_int(f[3], 0, &s.hold)) &&
         s.hold < s.period;
  } else {
    return hg_fail(HG_ERR_ARG, "lr schedule '%s': unknown kind '%s' (expected " USAGE ")", text,
                   f[0]);
  }
  if (!ok)
    return hg_fail(HG_ERR_ARG,
                   "lr schedule '%s': bad parameters (expected " USAGE
                   "; S, P, T >= 1, H, W >= 0, W < T, G, MIN >= 0, at most 16 increasing E >= 1)",
                   text);
  *out = s;
  return HG_OK;
}

const char *hg_schedule_str(const hg_schedule *s, char *buf, size_t size) {
  switch (s->kind) {
    case HG_SCHEDULE_CONSTANT:
      snprintf(buf, size, "constant");
      break;
    case HG_SCHEDULE_STEP:
      snprintf(buf, size, "step:%d:%g", s->period, (double)s->gamma);
      break;
    case HG_SCHEDULE_SEEDS:
      snprintf(buf, size, "seeds:%d:%d", s->hold, s->period);
      break;
    case HG_SCHEDULE_HALVE: {
      int n = snprintf(buf, size, "halve:");
      for (int i = 0; i < s->n_milestones && n >= 0 && (size_t)n < size; i++)
        n += snprintf(buf + n, size - (size_t)n, "%s%d", i ? "," : "", s->milestones[i]);
      break;
    }
    case HG_SCHEDULE_COSINE:
      snprintf(buf, size, "cosine:%d:%g:%d", s->period, (double)s->min_lr, s->hold);
      break;
  }
  return buf;
}
