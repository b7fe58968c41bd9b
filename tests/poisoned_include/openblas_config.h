#error "openblas_config.h reached from hebbgrad.h: a backend header leaked into the public API"
