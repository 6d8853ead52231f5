#!/usr/bin/env bash
# Puts the two real datasets the demos use into a data folder:
#   digits.csv.gz           1797 lines, 64 pixel values (0..16) then the label (0..9)
#   diabetes_target.csv.gz  442 lines, one number per line ("1.51...e+02")
#
# They are taken from Debian 12's python3-sklearn package, which ships them
# as plain files. The .deb is only downloaded and unpacked, never installed,
# because installing it would pull in a whole Python stack that nothing here
# uses at run time.
#
# Usage: scripts/fetch-data.sh [DATA_DIR]     (default: <repo>/.cache/data)
# Idempotent: when both files are already in DATA_DIR it does nothing.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data_dir="${1:-$repo/.cache/data}"
files=(digits.csv.gz diabetes_target.csv.gz)
# Hashes of the *decompressed* contents: Debian recompresses these files when
# it builds the package, so the .gz bytes may change between package builds
# while the data itself must not.
declare -A sha256=(
  [digits.csv.gz]=6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8
  [diabetes_target.csv.gz]=244713a551f62a291a354212d8a048adec6cb1244b2bc44e66a0698f5006d26d
)
declare -A lines=([digits.csv.gz]=1797 [diabetes_target.csv.gz]=442)
pkg_subdir=usr/lib/python3/dist-packages/sklearn/datasets/data

die() { echo "fetch-data: error: $*" >&2; exit 1; }

have_all=1
for f in "${files[@]}"; do [ -s "$data_dir/$f" ] || have_all=0; done
if [ "$have_all" -eq 1 ]; then
  echo "fetch-data: already present in $data_dir"
  exit 0
fi

for tool in apt-get dpkg-deb gzip sha256sum; do
  command -v "$tool" >/dev/null || die "'$tool' not found (this script expects Debian 12)"
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# As root, apt hands the download to the unprivileged _apt user; giving it
# the folder avoids the "Download is performed unsandboxed" warning.
if [ "$(id -u)" -eq 0 ] && id _apt >/dev/null 2>&1; then chown _apt "$tmp"; fi

download() { (cd "$tmp" && apt-get download -q python3-sklearn); }
# A fresh system has no package lists, so the first download fails there;
# updating only then keeps repeated runs fast and offline-friendly.
if ! download >"$tmp/download.log" 2>&1; then
  echo "fetch-data: apt-get download failed, running apt-get update and retrying"
  $SUDO apt-get update -qq || die "apt-get update failed"
  download >"$tmp/download.log" 2>&1 || { cat "$tmp/download.log" >&2; die "apt-get download python3-sklearn failed"; }
fi

debs=("$tmp"/python3-sklearn_*.deb)
[ -f "${debs[0]}" ] || die "apt-get download produced no .deb in $tmp"
dpkg-deb -x "${debs[0]}" "$tmp/pkg"

mkdir -p "$data_dir"
for f in "${files[@]}"; do
  src="$tmp/pkg/$pkg_subdir/$f"
  [ -f "$src" ] || die "$f not found in ${debs[0]##*/} (expected $pkg_subdir/$f)"
  got_lines="$(gzip -dc "$src" | wc -l)" || die "$f is not a valid gzip file"
  [ "$got_lines" -eq "${lines[$f]}" ] || die "$f has $got_lines lines, expected ${lines[$f]}"
  got_sha="$(gzip -dc "$src" | sha256sum | cut -d' ' -f1)"
  [ "$got_sha" = "${sha256[$f]}" ] || die "$f content sha256 is $got_sha, expected ${sha256[$f]}"
  # Copy then rename, so an interrupted run never leaves a partial file that
  # the "already present" check above would accept.
  cp "$src" "$data_dir/.$f.part"
  mv -f "$data_dir/.$f.part" "$data_dir/$f"
done

echo "fetch-data: wrote to $data_dir:"
for f in "${files[@]}"; do echo "  $data_dir/$f"; done
