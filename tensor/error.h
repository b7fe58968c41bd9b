/* Error convention: public functions return hg_status (or NULL); the message
 * of the last failure on this thread is read with hg_last_error(). Programmer
 * errors (violated internal invariants) go through HG_ASSERT. Never exit(). */
#ifndef HG_ERROR_H
#define HG_ERROR_H

typedef enum hg_status {
  HG_OK = 0,
  HG_ERR_SHAPE,   /* shape mismatch or bad dimensions */
  HG_ERR_ARG,     /* bad argument or option value */
  HG_ERR_NOMEM,   /* allocation failed */
  HG_ERR_IO,      /* file missing, unreadable, truncated or malformed */
  HG_ERR_BACKEND, /* oneDNN or BLAS reported a failure */
  HG_ERR_NUMERIC, /* NaN or infinity where a finite number is required */
  HG_ERR_STATE    /* call not valid in the current state */
} hg_status;

/* Record a failure: formats the message, returns `status` for tail calls. */
hg_status hg_fail(hg_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Message of the last failure on this thread ("" if none). */
const char *hg_last_error(void);
/* Status of the last failure on this thread (HG_OK if none). */
hg_status hg_last_status(void);
/* Forget the last failure. */
void hg_clear_error(void);
/* Name of a status code, e.g. "shape". */
const char *hg_status_name(hg_status status);

/* Called on a violated invariant; the default prints file:line and aborts.
 * Tests may install their own. */
typedef void (*hg_assert_hook)(const char *file, int line, const char *expr);
void hg_set_assert_hook(hg_assert_hook hook);
void hg_assert_failed(const char *file, int line, const char *expr);
#define HG_ASSERT(e) ((e) ? (void)0 : hg_assert_failed(__FILE__, __LINE__, #e))

#endif
