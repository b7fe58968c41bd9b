#include "tensor/kstats.h"

#include <string.h>

_Thread_local hg_kernel_stats hg_kstats;

void hg_kernel_stats_reset(void) { memset(&hg_kstats, 0, sizeof hg_kstats); }
