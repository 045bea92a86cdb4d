#!/usr/bin/env bash
# Installs what ParaRL needs on a fresh Debian machine: the system libraries (skipped when present)
# and the OpenAI CLIP BPE vocabulary, taken from the PyPI package open_clip_torch and cached in .cache/.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenblas-dev libopenmpi-dev openmpi-bin libsqlite3-dev libpng-dev libdnnl-dev zlib1g-dev pkg-config)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

vocab=.cache/clip/bpe_simple_vocab_16e6.txt.gz
if [ ! -s "$vocab" ]; then
    echo "setup: fetching the CLIP BPE vocabulary (open_clip_torch wheel, no dependencies)"
    tmp=$(mktemp -d)
    pip download --no-deps --quiet --disable-pip-version-check open_clip_torch -d "$tmp" \
        || pip download --no-deps --quiet --disable-pip-version-check clip-anytorch -d "$tmp"
    mkdir -p "$(dirname "$vocab")"
    python3 - "$tmp" "$vocab" <<'PY'
import glob, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/*.whl")[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("bpe_simple_vocab_16e6.txt.gz"))
    open(sys.argv[2], "wb").write(z.read(name))
PY
    rm -rf "$tmp"
fi
