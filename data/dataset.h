/* Labelled image data sets: images [N,C,H,W], one class index per image.
 * The readers (MNIST-style IDX files, gzipped or not, CIFAR-10 and CIFAR-100
 * binaries) keep the file's bytes, one per pixel, and a per-channel table of
 * what each byte reads as (b/255, then normalised: data/normalize.h), and
 * optionally the ZCA transform applied to the rows as they are read
 * (data/zca.h): a data set costs its file's size in memory, not four times
 * that for each float copy. Sets made in memory hold float32 (or float16 in
 * a file). Rows are read by hg_dataset_get_rows and the batcher
 * (data/batcher.h). The seeded train/validation split and the 28x28 ->
 * 3x32x32 conversion of the seeds are here too. */
#ifndef HG_DATASET_H
#define HG_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "data/half_rows.h"
#include "tensor/tensor.h"

#define HG_PIXEL_MAX_CHANNELS 16

typedef struct hg_dataset {
  hg_tensor *images; /* [N,C,H,W]; NULL when the images are in `pixels` or `half` */
  hg_half_rows *half; /* the images as float16 rows in a file (hg_dataset_new_half), else NULL */
  uint8_t *pixels;   /* the images as bytes [N,C,H,W] (hg_dataset_new_pixels), else NULL */
  float *lut;        /* with pixels: [C][256], byte b of channel c reads as lut[c·256 + b] */
  hg_tensor *white_mean, *white_matrix; /* with pixels, when whitened: rows read as (x − mean)·matrix */
  int shape[4];      /* [N,C,H,W] */
  int *labels;       /* N class indices in [0, num_classes) */
  int count;         /* N */
  int num_classes;
  char name[64];     /* e.g. "cifar10-train" */
  char source[256];  /* the folder its files were read from ("" when made in memory) */
} hg_dataset;

/* $HEBBGRAD_DATA when set and not empty, else "datasets". */
const char *hg_default_data_dir(void);

/* Data set of n images [c,h,w] (contents undefined, labels 0). */
hg_dataset *hg_dataset_new(int n, int c, int h, int w, int num_classes, const char *name);
/* The same, its images kept as float16 in an unlinked file in folder dir
 * (data/half_rows.h): for sets too large for memory as float32. Only
 * hg_dataset_set_rows, hg_dataset_get_row, batchers and hg_evaluate read or
 * write such a set. */
hg_dataset *hg_dataset_new_half(int n, int c, int h, int w, int num_classes, const char *name, const char *dir);
/* The same, its images kept as bytes (zeroed; c <= HG_PIXEL_MAX_CHANNELS)
 * reading as b/255 (rounded as the float division). */
hg_dataset *hg_dataset_new_pixels(int n, int c, int h, int w, int num_classes, const char *name);
/* Images [first, first + count) ← values (count images of C·H·W floats);
 * not for a set of pixels (its bytes are written directly). */
hg_status hg_dataset_set_rows(hg_dataset *ds, int first, int count, const float *values);
/* out ← image i (C·H·W floats). */
hg_status hg_dataset_get_row(const hg_dataset *ds, int i, float *out);
/* out ← images indices[0..n), one after another (n·C·H·W floats); pixels
 * are looked up and, when the set is whitened, the rows whitened together. */
hg_status hg_dataset_get_rows(const hg_dataset *ds, const int *indices, int n, float *out);
/* A copy of ds holding what its images read as in float32 (a set of pixels
 * made floats: 4 bytes a value). */
hg_dataset *hg_dataset_floats(const hg_dataset *ds);
/* out ← images [first, first + n), as hg_dataset_get_rows. */
hg_status hg_dataset_get_range(const hg_dataset *ds, int first, int n, float *out);
/* Image i as a new [1,C,H,W] tensor (e.g. a sample for a net's shapes). */
hg_tensor *hg_dataset_image(const hg_dataset *ds, int i);
/* Free the images, the labels and ds. NULL is allowed. */
void hg_dataset_free(hg_dataset *ds);

/* MNIST-format IDX pair (images magic 2051, labels magic 2049), gzipped or
 * plain; pixels x/255, labels must be < 10. */
hg_dataset *hg_dataset_load_idx(const char *images_path, const char *labels_path);
/* CIFAR-10 binary: dir/data_batch_1..5.bin (train) or dir/test_batch.bin,
 * 10 000 records in each file. */
hg_dataset *hg_dataset_load_cifar10(const char *dir, bool train);
/* CIFAR-100 binary: dir/train.bin (50 000 records) or dir/test.bin (10 000),
 * fine labels (100 classes). */
hg_dataset *hg_dataset_load_cifar100(const char *dir, bool train);
/* The files of CIFAR-10 (hundred = false) or CIFAR-100, each holding exactly
 * `records` records (0: any whole number), e.g. for a cut-down copy. */
hg_dataset *hg_dataset_load_cifar(const char *dir, bool hundred, bool train, int records);
/* name is "mnist", "fashion-mnist", "cifar10" or "cifar100"; the files are
 * looked up in data_dir/mnist, data_dir/fashion-mnist,
 * data_dir/cifar-10-batches-bin and data_dir/cifar-100-binary. data_dir NULL
 * means hg_default_data_dir(), and then, when $HEBBGRAD_DATA is not set
 * either, Fashion-MNIST missing there is read from the Debian package
 * (/usr/share/datasets/fashion-mnist). A folder given is never substituted.
 * ds->source names the folder read. */
hg_dataset *hg_dataset_load(const char *name, const char *data_dir, bool train);

/* Copy of the images and labels at indices[0..n) in that order. */
hg_dataset *hg_dataset_subset(const hg_dataset *ds, const int *indices, int n);
/* Seeded split: n_val images drawn at random form *val, the rest *train;
 * both keep the original order. The same seed gives the same split. */
hg_status hg_dataset_split(const hg_dataset *ds, int n_val, uint64_t seed, hg_dataset **train,
                           hg_dataset **val);
/* The seeds' MNIST conversion: [N,1,H,W] (H, W <= 32) zero-padded to the
 * centre of 32x32 and the grey channel copied to 3; a [N,3,32,32] set is
 * copied unchanged. Use before normalising (the padding is 0). */
hg_dataset *hg_dataset_to_rgb32(const hg_dataset *ds);

#endif
