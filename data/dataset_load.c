/* hg_dataset_load: the standard data sets by name, with their file names and
 * folders as scripts/get_data.sh lays them out. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"

#define FASHION_SYSTEM_DIR "/usr/share/datasets/fashion-mnist"

/* dir/base + suffix into out; false when it does not fit. */
static bool join(char *out, size_t size, const char *dir, const char *base, const char *suffix) {
  return (size_t)snprintf(out, size, "%s/%s%s", dir, base, suffix) < size;
}

/* dir/base if readable, else dir/base.gz; false (out = dir/base.gz) when neither is. */
static bool find_idx(char *out, size_t size, const char *dir, const char *base) {
  if (join(out, size, dir, base, "") && access(out, R_OK) == 0) return true;
  return join(out, size, dir, base, ".gz") && access(out, R_OK) == 0;
}

static hg_dataset *load_idx_dir(const char *name, const char *dir, bool train, const char *hint) {
  char images[4096], labels[4096];
  const char *prefix = train ? "train" : "t10k";
  char ibase[64], lbase[64];
  snprintf(ibase, sizeof ibase, "%s-images-idx3-ubyte", prefix);
  snprintf(lbase, sizeof lbase, "%s-labels-idx1-ubyte", prefix);
  bool have = find_idx(images, sizeof images, dir, ibase);
  have = find_idx(labels, sizeof labels, dir, lbase) && have;
  if (!have) {
    hg_fail(HG_ERR_IO, "dataset %s: cannot find %s or %s (%s)", name, images, labels, hint);
    return NULL;
  }
  hg_dataset *ds = hg_dataset_load_idx(images, labels);
  if (ds) {
    snprintf(ds->name, sizeof ds->name, "%s-%s", name, train ? "train" : "test");
    snprintf(ds->source, sizeof ds->source, "%.255s", dir);
  }
  return ds;
}

/* Fashion-MNIST: data_dir/fashion-mnist; the Debian package's copy only when
 * nobody chose a folder (substitute) and data_dir has no fashion-mnist folder. */
static hg_dataset *load_fashion(const char *data_dir, bool substitute, bool train) {
  char dir[4096];
  if (!join(dir, sizeof dir, data_dir, "fashion-mnist", "")) {
    hg_fail(HG_ERR_ARG, "dataset: data folder path too long: %s", data_dir);
    return NULL;
  }
  if (substitute && access(dir, F_OK) != 0) snprintf(dir, sizeof dir, "%s", FASHION_SYSTEM_DIR);
  return load_idx_dir("fashion-mnist", dir, train,
                      "install it with `apt-get install dataset-fashion-mnist` and use --data-dir "
                      "/usr/share/datasets, or run scripts/get_data.sh");
}

static hg_dataset *load_cifar(const char *data_dir, const char *sub, bool train, bool hundred) {
  char dir[4096];
  if (!join(dir, sizeof dir, data_dir, sub, "")) {
    hg_fail(HG_ERR_ARG, "dataset: data folder path too long: %s", data_dir);
    return NULL;
  }
  hg_dataset *ds = hundred ? hg_dataset_load_cifar100(dir, train) : hg_dataset_load_cifar10(dir, train);
  if (ds) snprintf(ds->source, sizeof ds->source, "%.255s", dir);
  if (!ds && strstr(hg_last_error(), "cannot open")) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s (run scripts/get_data.sh)", hg_last_error());
    hg_fail(hg_last_status(), "%s", msg);
  }
  return ds;
}

hg_dataset *hg_dataset_load(const char *name, const char *data_dir, bool train) {
  char dir[4096];
  const char *env = getenv("HEBBGRAD_DATA");
  bool substitute = !data_dir && !(env && env[0]); /* nobody chose a folder */
  if (!data_dir) data_dir = hg_default_data_dir();
  if (!name) name = "";
  if (strcmp(name, "mnist") == 0) {
    if (!join(dir, sizeof dir, data_dir, "mnist", "")) {
      hg_fail(HG_ERR_ARG, "dataset: data folder path too long: %s", data_dir);
      return NULL;
    }
    return load_idx_dir("mnist", dir, train, "run scripts/get_data.sh");
  }
  if (strcmp(name, "fashion-mnist") == 0) return load_fashion(data_dir, substitute, train);
  if (strcmp(name, "cifar10") == 0) return load_cifar(data_dir, "cifar-10-batches-bin", train, false);
  if (strcmp(name, "cifar100") == 0) return load_cifar(data_dir, "cifar-100-binary", train, true);
  hg_fail(HG_ERR_ARG, "dataset: unknown name '%s' (mnist, fashion-mnist, cifar10 or cifar100)", name);
  return NULL;
}
