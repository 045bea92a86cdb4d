#!/usr/bin/env bash
# The README's main command: installs what is missing (Debian packages, the CLIP BPE vocabulary), builds the
# optimised `pararl` and runs `pararl demo` — the whole pipeline on the built-in world. Extra arguments go to
# `pararl demo` (e.g. `--out runs/demo2`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
source tools/blas-env.sh
swift build -c release --product pararl
exec .build/release/pararl demo "$@"
