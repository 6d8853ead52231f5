#!/usr/bin/env bash
# Installs what building and testing `implicit` needs, from Debian 12's
# packages only. Idempotent: does nothing when everything is present.
set -euo pipefail
packages=(g++ make cmake ccache libeigen3-dev libboost-dev nlohmann-json3-dev libcli11-dev libgtest-dev libbenchmark-dev zlib1g-dev gnuplot-nox libtorch-dev libopenblas0-pthread libcminpack-dev libsundials-dev libtrilinos-sacado-dev libtrilinos-kokkos-dev libadolc-dev libcolpack-dev libsuitesparse-dev libhwy-dev clang-14 libclang-rt-14-dev libfuzzer-14-dev doxygen python3 python3-dev python3-torch pybind11-dev python3-pytest python3-numpy)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
