/* The rules and competitions the library ships, each defined in a file of its
 * own (hebb/rules/, hebb/competitions.c) and registered at the first lookup
 * with hg_rule_register / hg_competition_register, as a user's would be. */
#ifndef HG_BUILTINS_H
#define HG_BUILTINS_H

#include "hebb/registry.h"

extern const hg_rule_def hg_rule_hebb, hg_rule_instar, hg_rule_oja, hg_rule_hpca, hg_rule_softhebb,
    hg_rule_krotov, hg_rule_bcm;

extern const hg_competition_def hg_competition_none, hg_competition_wta, hg_competition_kwta,
    hg_competition_soft, hg_competition_esoft, hg_competition_psoft, hg_competition_som,
    hg_competition_teacher;

#endif
