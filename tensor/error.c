#include "tensor/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local char last_message[512];
static _Thread_local hg_status last_status;
static hg_assert_hook assert_hook;

hg_status hg_fail(hg_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_message, sizeof last_message, fmt, ap);
  va_end(ap);
  last_status = status;
  return status;
}

const char *hg_last_error(void) { return last_message; }
hg_status hg_last_status(void) { return last_status; }

void hg_clear_error(void) {
  last_message[0] = '\0';
  last_status = HG_OK;
}

const char *hg_status_name(hg_status status) {
  static const char *const names[] = {"ok",  "shape",   "argument", "out of memory",
                                      "i/o", "backend", "numeric",  "state"};
  return (unsigned)status < sizeof names / sizeof names[0] ? names[status] : "unknown";
}

void hg_set_assert_hook(hg_assert_hook hook) { assert_hook = hook; }

void hg_assert_failed(const char *file, int line, const char *expr) {
  if (assert_hook) {
    assert_hook(file, line, expr);
    return;
  }
  fprintf(stderr, "hebbgrad: %s:%d: assertion failed: %s\n", file, line, expr);
  abort();
}
