#!/usr/bin/env bash
# The README's quick start. As root on a fresh Debian 12 machine:
#   bash quickstart.sh demo   build (or reuse) the test bed, start a personal pool, run jobs in containers
#   bash quickstart.sh test   run the whole test suite (unit, scripts, lint, types, docs, real-pool integration)
# It installs what it needs itself: debootstrap and gcc from Debian, tox into a private venv.
set -euo pipefail

cd "$(dirname "$0")"
what=${1:-}
case "$what" in
    demo) envs=demo ;;
    test) envs=py3,lint,type,docs,integration ;;
    *) echo "usage: bash quickstart.sh demo|test" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ]; then
    echo "quickstart.sh: run as root (the test bed uses debootstrap, mount namespaces and pivot_root)" >&2
    exit 1
fi

need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v gcc >/dev/null || need+=(gcc)
command -v ip >/dev/null || need+=(iproute2)
command -v python3 >/dev/null || need+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ "${#need[@]}" -gt 0 ]; then
    echo "[quickstart] apt-get install ${need[*]}"
    apt-get -qq update
    DEBIAN_FRONTEND=noninteractive apt-get -qq install -y "${need[@]}" >/dev/null
fi

cache=${XDG_CACHE_HOME:-$HOME/.cache}/glidein-singularity
tools=$cache/tools
if [ ! -x "$tools/bin/tox" ]; then
    echo "[quickstart] installing tox into $tools"
    python3 -m venv "$tools"
    "$tools/bin/python" -m pip install -q --upgrade pip
    "$tools/bin/python" -m pip install -q tox
fi

echo "[quickstart] tox -e $envs"
exec "$tools/bin/tox" -e "$envs"
