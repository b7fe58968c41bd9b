/* A Hebbian rule of this project's own, registered with hebbgrad. */
#ifndef USER_DECAY_HEBB_H
#define USER_DECAY_HEBB_H

#include <hebbgrad.h>

/* "decay-hebb": Hebb with weight decay, Δw_k = η (Σ y_k x − λ w_k). */
extern const hg_rule_def decay_hebb_rule;

#endif
