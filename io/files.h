/* Files that are never seen half-written, and folders made with their parents.
 *
 * An atomic write goes to PATH.tmp; hg_atomic_commit flushes and fsyncs it,
 * renames it over PATH and syncs the folder. When anything fails, PATH keeps
 * its old contents and PATH.tmp is removed. */
#ifndef HG_FILES_H
#define HG_FILES_H

#include <stdio.h>

#include "tensor/error.h"

typedef struct hg_atomic_file {
  FILE *f;    /* write here */
  char *path; /* the file it becomes */
  char *tmp;  /* PATH.tmp */
} hg_atomic_file;

/* Open PATH.tmp for writing; errors name `who` and the file. */
hg_status hg_atomic_open(hg_atomic_file *a, const char *path, const char *who);
/* Written = HG_OK: make PATH.tmp the new PATH (errors name `who`); otherwise
 * discard it and return `written`. Always releases a. */
hg_status hg_atomic_commit(hg_atomic_file *a, hg_status written, const char *who);
/* mkdir -p path (mode 0755); errors name the folder that could not be made. */
hg_status hg_make_dirs(const char *path);

#endif
