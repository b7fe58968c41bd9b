/* Learning-rate schedules: pure functions of (epoch, base lr), epochs from 0.
 *
 * Text form (the programs' option --schedule):
 *   constant                 lr = base
 *   step:S:G                 lr = base·G^⌊e/S⌋
 *   seeds:H:P                lr = base for e < H, then base·2^−(⌊(e−H)/P⌋+1)
 *                            (the seeds' protocol: seeds:10:1 or seeds:10:2)
 *   halve:E,E,...            lr = base·2^−(number of the epochs E <= e), e.g.
 *                            SoftHebb's classifier: halve:10,17,25,30,35,40,45
 *   cosine:T[:MIN[:W]]       linear warm-up base·(e+1)/W for e < W (W = 0 by
 *                            default), then MIN + (base−MIN)·(1+cos(π(e−W)/(T−W)))/2,
 *                            and MIN from epoch T on (MIN = 0 by default) */
#ifndef HG_SCHEDULE_H
#define HG_SCHEDULE_H

#include <stddef.h>

#include "tensor/error.h"

typedef enum hg_schedule_kind {
  HG_SCHEDULE_CONSTANT,
  HG_SCHEDULE_STEP,
  HG_SCHEDULE_SEEDS,
  HG_SCHEDULE_COSINE,
  HG_SCHEDULE_HALVE
} hg_schedule_kind;

enum { HG_SCHEDULE_MILESTONES = 16 };

typedef struct hg_schedule {
  hg_schedule_kind kind;
  int period;   /* step: S; seeds: P; cosine: T */
  int hold;     /* seeds: H; cosine: W */
  float gamma;  /* step: G (seeds always halve) */
  float min_lr; /* cosine: MIN */
  int n_milestones, milestones[HG_SCHEDULE_MILESTONES]; /* halve: the epochs E */
} hg_schedule;

/* lr at `epoch` (negative epochs count as 0) for a schedule starting at base_lr. */
float hg_schedule_lr(const hg_schedule *s, int epoch, float base_lr);
/* Parse the text form above into *out; HG_ERR_ARG naming the text on bad input. */
hg_status hg_schedule_parse(const char *text, hg_schedule *out);
/* The text form of s into buf (e.g. "seeds:10:2"); returns buf. */
const char *hg_schedule_str(const hg_schedule *s, char *buf, size_t size);

#endif
