#!/usr/bin/env bash
# Fetch the benchmark data sets into the layout hg_dataset_load() expects:
#   DEST/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
#   DEST/fashion-mnist -> /usr/share/datasets/fashion-mnist (Debian package)
#   DEST/cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin
#   DEST/cifar-100-binary/{train,test}.bin
# Every file is checked against a SHA-256 (or the official MD5) before use;
# files already present and verified are skipped, so it can be re-run.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/get_data.sh [--from DIR] [--link] [--only LIST] [DEST]

  DEST         where to put the data (default: $HEBBGRAD_DATA, else ./datasets)
  --from DIR   copy from a local folder holding mnist/, cifar-10-batches-bin/,
               cifar-100-binary/ (or the official .tar.gz archives) instead of
               downloading; DIR/SHA256SUMS is used when present
  --link       with --from: symlink the files instead of copying them
  --only LIST  comma-separated subset of mnist,fashion-mnist,cifar10,cifar100

Without --from the files are downloaded (curl or wget) from the official pages:
yann.lecun.com/exdb/mnist and www.cs.toronto.edu/~kriz/cifar.html.
EOF
}

# Official checksums: "relative/path sha256-or-empty md5".
KNOWN_SUMS='
mnist/train-images-idx3-ubyte.gz 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609 f68b3c2dcbeaaa9fbdd348bbdeb94873
mnist/train-labels-idx1-ubyte.gz 3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c d53e105ee54ea40749a09fcbcd1e9432
mnist/t10k-images-idx3-ubyte.gz 8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6 9fb629c4189551a2d022fa330f9573f3
mnist/t10k-labels-idx1-ubyte.gz f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6 ec29112dd5afa0611ce80d1b7f02629c
cifar-10-batches-bin/batches.meta.txt 558e74b5e208382e186da55784b4bac2cd52e558448e1b5800990fdb28ed8033 728051cd483f366e254dddb25bead8b3
cifar-10-batches-bin/data_batch_1.bin cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5 5dd7e06a14cb22eb9f671a540d1b7c25
cifar-10-batches-bin/data_batch_2.bin a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed 5ea93a67294ea407fff1d09f752e9692
cifar-10-batches-bin/data_batch_3.bin bbe8596564c0f86427f876058170b84dac6670ddf06d79402899d93ceea26f67 942cd6a4bcdd0dd3c604fbe906cb4421
cifar-10-batches-bin/data_batch_4.bin 014e562d6e23c72197cc727519169a60359f5eccd8945ad5a09d710285ff4e48 ae636b3ba5c66a11e91e8cb52e771fcb
cifar-10-batches-bin/data_batch_5.bin 755304fc0b379caeae8c14f0dac912fbc7d6cd469eb67a1029a08a39453a9add 53f37980c15c3d472c316c40844f3f0d
cifar-10-batches-bin/test_batch.bin 8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b 803d5f7f4d78ea53de84dbe85f74fb6d
cifar-10-binary.tar.gz - c32a1d4ab5d03f1284b67883e8d87530
cifar-100-binary.tar.gz - 03b5dce01913d631647c71ecec9e9cb8
'
MNIST_FILES="train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz"
MNIST_URLS=(https://yann.lecun.com/exdb/mnist http://yann.lecun.com/exdb/mnist
            https://ossci-datasets.s3.amazonaws.com/mnist)
CIFAR10_FILES="data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin test_batch.bin batches.meta.txt"
CIFAR100_FILES="train.bin test.bin"
CIFAR_URL="https://www.cs.toronto.edu/~kriz"
FASHION_SYSTEM=/usr/share/datasets/fashion-mnist
RECORD=.hebbgrad-sha256   # sums of files taken from a verified archive, in DEST

FROM="" LINK=0 ONLY="mnist,fashion-mnist,cifar10,cifar100" DEST=""
while [ $# -gt 0 ]; do
  case "$1" in
    --from) [ $# -ge 2 ] || { usage >&2; exit 2; }; FROM="$2"; shift 2 ;;
    --from=*) FROM="${1#--from=}"; shift ;;
    --link) LINK=1; shift ;;
    --only) [ $# -ge 2 ] || { usage >&2; exit 2; }; ONLY="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "get_data.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) [ -z "$DEST" ] || { echo "get_data.sh: more than one DEST given" >&2; exit 2; }; DEST="$1"; shift ;;
  esac
done
DEST="${DEST:-${HEBBGRAD_DATA:-datasets}}"
if [ -n "$FROM" ]; then
  [ -d "$FROM" ] || { echo "get_data.sh: --from $FROM is not a folder" >&2; exit 1; }
  FROM="$(cd "$FROM" && pwd)"
fi
for d in ${ONLY//,/ }; do
  case "$d" in mnist|fashion-mnist|cifar10|cifar100) ;;
    *) echo "get_data.sh: unknown data set '$d' in --only" >&2; exit 2 ;;
  esac
done
wanted() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
mkdir -p "$DEST" || { echo "get_data.sh: cannot create $DEST" >&2; exit 1; }
DEST="$(cd "$DEST" && pwd)"
FAILED=0

say() { printf '  %-44s %s\n' "$1" "$2"; }
fail() { printf '  %-44s FAILED: %s\n' "$1" "$2" >&2; FAILED=1; }

# Expected "sha256 <hex>" or "md5 <hex>" for a relative path, or nothing.
expected_sum() {
  local rel="$1" line
  if [ -n "$FROM" ] && [ -f "$FROM/SHA256SUMS" ]; then
    line=$(awk -v f="$rel" '$2 == f || $2 == "*" f || $2 == "./" f { print $1; exit }' "$FROM/SHA256SUMS")
    [ -n "$line" ] && { echo "sha256 $line"; return; }
  fi
  line=$(printf '%s\n' "$KNOWN_SUMS" | awk -v f="$rel" '$1 == f { print $2, $3; exit }')
  if [ -n "$line" ]; then
    local sha md5
    read -r sha md5 <<<"$line"
    if [ "$sha" != "-" ]; then echo "sha256 $sha"; else echo "md5 $md5"; fi
    return
  fi
  if [ -f "$DEST/$RECORD" ]; then
    line=$(awk -v f="$rel" '$2 == f { print $1; exit }' "$DEST/$RECORD")
    [ -n "$line" ] && echo "sha256 $line"
  fi
}

# verify FILE REL: 0 ok, 1 mismatch or missing, 2 no checksum known.
verify() {
  local file="$1" rel="$2" want kind got
  [ -f "$file" ] || return 1
  want=$(expected_sum "$rel")
  [ -n "$want" ] || return 2
  kind=${want%% *}; want=${want#* }
  if [ "$kind" = sha256 ]; then got=$(sha256sum "$file" | cut -d' ' -f1)
  else got=$(md5sum "$file" | cut -d' ' -f1); fi
  [ "$got" = "$want" ]
}

# Put SRC at DEST/REL (copy or symlink) and verify it; skip when already verified.
install_file() {
  local src="$1" rel="$2" dst="$DEST/$2" rc=0
  verify "$dst" "$rel" || rc=$?
  if [ $rc -eq 0 ]; then say "$rel" "ok (already verified)"; return 0; fi
  [ -f "$src" ] || { fail "$rel" "missing: $src"; return 1; }
  mkdir -p "$(dirname "$dst")"
  rm -f "$dst.part"
  if [ "$(readlink -f "$src")" = "$(readlink -f "$dst" 2>/dev/null || true)" ]; then :
  elif [ $LINK -eq 1 ]; then ln -sfn "$src" "$dst.part"
  else cp "$src" "$dst.part"; chmod u+w "$dst.part"; fi
  [ -e "$dst.part" ] && mv -f "$dst.part" "$dst"
  rc=0; verify "$dst" "$rel" || rc=$?
  case $rc in
    0) say "$rel" "ok (checksum verified)" ;;
    2) say "$rel" "copied (no checksum known; not verified)" ;;
    *) rm -f "$dst"; fail "$rel" "checksum mismatch for $src" ; return 1 ;;
  esac
}

# Download URL to OUT with curl or wget.
fetch() {
  local url="$1" out="$2"
  rm -f "$out.part"
  if command -v curl >/dev/null 2>&1; then
    curl -fL --retry 3 --connect-timeout 20 --progress-bar -o "$out.part" "$url" || { rm -f "$out.part"; return 1; }
  elif command -v wget >/dev/null 2>&1; then
    wget -q -t 3 -T 20 -O "$out.part" "$url" || { rm -f "$out.part"; return 1; }
  else
    echo "get_data.sh: need curl or wget to download (or use --from DIR)" >&2; return 1
  fi
  mv -f "$out.part" "$out"
}

# Download REL from each base URL in turn until one verifies.
download_file() {
  local rel="$1" name="$2"; shift 2
  local dst="$DEST/$rel" base rc=0
  verify "$dst" "$rel" || rc=$?
  if [ $rc -eq 0 ]; then say "$rel" "ok (already verified)"; return 0; fi
  mkdir -p "$(dirname "$dst")"
  for base in "$@"; do
    if fetch "$base/$name" "$dst" && verify "$dst" "$rel"; then say "$rel" "downloaded, verified"; return 0; fi
    rm -f "$dst"
  done
  fail "$rel" "could not download a verified copy from: $*"
}

# Unpack a verified archive; FILES of SUBDIR extracted are recorded as verified.
extract_archive() {
  local archive="$1" subdir="$2" files="$3" f
  tar -xzf "$archive" -C "$DEST" || { fail "$(basename "$archive")" "cannot extract"; return 1; }
  for f in $files; do
    [ -f "$DEST/$subdir/$f" ] || { fail "$subdir/$f" "not in $(basename "$archive")"; return 1; }
    if [ -z "$(expected_sum "$subdir/$f")" ]; then
      (cd "$DEST" && sha256sum "$subdir/$f") >> "$DEST/$RECORD"
    fi
  done
  for f in $files; do
    verify "$DEST/$subdir/$f" "$subdir/$f" || { fail "$subdir/$f" "checksum mismatch after extraction"; return 1; }
    say "$subdir/$f" "ok (extracted from verified $(basename "$archive"))"
  done
}

# All FILES of SUBDIR present and verified?
all_verified() {
  local subdir="$1" f
  for f in $2; do verify "$DEST/$subdir/$f" "$subdir/$f" || return 1; done
}

# CIFAR-10 or -100 via the official archive (local with --from, else downloaded).
cifar_from_archive() {
  local tarball="$1" subdir="$2" files="$3" src="$4" tmp="$DEST/$1"
  if all_verified "$subdir" "$files"; then
    for f in $files; do say "$subdir/$f" "ok (already verified)"; done; return 0
  fi
  if [ -n "$src" ]; then
    if ! cp "$src" "$tmp.part" || ! mv -f "$tmp.part" "$tmp"; then
      fail "$tarball" "cannot copy $src"; return 1
    fi
  else
    fetch "$CIFAR_URL/$tarball" "$tmp" || { rm -f "$tmp"; fail "$tarball" "download from $CIFAR_URL failed"; return 1; }
  fi
  if ! verify "$tmp" "$tarball"; then rm -f "$tmp"; fail "$tarball" "MD5 mismatch"; return 1; fi
  say "$tarball" "MD5 verified"
  extract_archive "$tmp" "$subdir" "$files" || return 1
  rm -f "$tmp"
}

get_mnist() {
  local f src
  echo "MNIST"
  for f in $MNIST_FILES; do
    if [ -n "$FROM" ]; then
      src="$FROM/mnist/$f"; [ -f "$src" ] || src="$FROM/$f"
      install_file "$src" "mnist/$f" || true
    else
      download_file "mnist/$f" "$f" "${MNIST_URLS[@]}" || true
    fi
  done
}

get_fashion() {
  echo "Fashion-MNIST"
  if [ -e "$DEST/fashion-mnist" ] && [ ! -L "$DEST/fashion-mnist" ]; then
    say "fashion-mnist" "ok (folder already present; left as is)"
  elif [ -d "$FASHION_SYSTEM" ]; then
    ln -sfn "$FASHION_SYSTEM" "$DEST/fashion-mnist"
    say "fashion-mnist" "linked to $FASHION_SYSTEM"
  else
    fail "fashion-mnist" "not installed; run: sudo apt-get install dataset-fashion-mnist"
  fi
}

get_cifar() {  # name subdir tarball files required
  local name="$1" subdir="$2" tarball="$3" files="$4" required="$5" f
  echo "$name"
  if [ -z "$FROM" ]; then cifar_from_archive "$tarball" "$subdir" "$files" "" || true; return; fi
  if [ -d "$FROM/$subdir" ]; then
    for f in $files; do install_file "$FROM/$subdir/$f" "$subdir/$f" || true; done
  elif [ -f "$FROM/$tarball" ]; then
    cifar_from_archive "$tarball" "$subdir" "$files" "$FROM/$tarball" || true
  elif [ "$required" = 1 ]; then
    fail "$subdir" "neither $FROM/$subdir nor $FROM/$tarball exists"
  else
    say "$subdir" "not in $FROM; skipped"
  fi
}

echo "Data folder: $DEST${FROM:+ (from $FROM)}"
wanted mnist && get_mnist
wanted fashion-mnist && get_fashion
wanted cifar10 && get_cifar CIFAR-10 cifar-10-batches-bin cifar-10-binary.tar.gz "$CIFAR10_FILES" 1
wanted cifar100 && get_cifar CIFAR-100 cifar-100-binary cifar-100-binary.tar.gz "$CIFAR100_FILES" "${FROM:+0}"
if [ $FAILED -ne 0 ]; then
  echo "get_data.sh: some files are missing or failed verification (see above)" >&2
  exit 1
fi
echo "All requested data sets are in $DEST"
