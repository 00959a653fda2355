#!/usr/bin/env bash
# install-deps.sh — install vigil's build and runtime dependencies on Debian 12
# (as root, with apt-get). Idempotent: does nothing when all are present.
set -euo pipefail

pkgs=(build-essential cmake pkg-config git
      libpq-dev postgresql postgresql-client
      libgsl-dev libxgboost-dev libjansson-dev libev-dev libstemmer-dev tzdata
      libcurl4-openssl-dev  # webhook and Request Tracker deliveries
      libmicrohttpd-dev  # serve's HTTP endpoints
      clang-format  # CTest format: the sources stay as clang-format writes them
      clang libclang-rt-dev  # scripts/fuzz.sh: libFuzzer (CTest fuzz_smoke)
      chromium)  # chromium: tests render `vigil report` headless (~20 s, 350 MB)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "install-deps.sh: missing packages: ${missing[*]}" >&2
  echo "run this script as root (it uses apt-get), or install them yourself" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
