#!/usr/bin/env bash
# Prepare the benchmark machine; idempotent, cheap when there is nothing to do.
#
#   bash benchmarks/setup.sh
#
# - Debian packages: nginx (the server), wrk and h2load (the server's ceiling), curl, and the
#   libcurl/OpenSSL headers that pycurl needs when pip has to build it from source.
# - benchmarks/.venv: the peers of requirements.txt plus zephyr, editable from the working tree
#   (so the working tree is what gets measured). Rebuilt when requirements.txt or zephyr's
#   pyproject.toml changed since the last install. The project venv (.venv) is never touched.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv"
stamp="$venv/.installed"

# --- Debian packages ------------------------------------------------------------------
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v h2load >/dev/null 2>&1 || missing+=(nghttp2-client)
command -v curl >/dev/null 2>&1 || missing+=(curl)
for pkg in libcurl4-openssl-dev libssl-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" \
        || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup.sh: installing ${missing[*]}"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
fi

# --- the benchmark venv ----------------------------------------------------------------
python="${PYTHON:-}"
if [ -z "$python" ]; then
    if command -v python3.11 >/dev/null 2>&1; then python=python3.11; else python=python3; fi
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "setup.sh: creating $venv"
    "$python" -m venv "$venv"
fi

# niquests depends on urllib3-future, whose wheel ships a .pth file that overwrites the real
# urllib3 package at every interpreter start: requests and urllib3 would then be measured on
# the fork. Built from its sdist with URLLIB3_NO_OVERRIDE=1 it stays in `urllib3_future` only,
# which niquests uses when a plain urllib3 is present.
export URLLIB3_NO_OVERRIDE=1
site_packages="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
urllib3_is_real() {
    "$venv/bin/python" -c '
import importlib.metadata, sys, urllib3
sys.exit(urllib3.__version__ != importlib.metadata.version("urllib3"))' 2>/dev/null
}

wanted="$(cat "$here/requirements.txt" "$root/pyproject.toml" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ] || ! urllib3_is_real; then
    echo "setup.sh: installing the peers and zephyr into $venv"
    pip=("$venv/bin/python" -m pip install --quiet --no-binary urllib3-future)
    "${pip[@]}" --upgrade pip
    "${pip[@]}" -r "$here/requirements.txt"
    "${pip[@]}" -e "$root"
    if ! urllib3_is_real; then
        echo "setup.sh: restoring urllib3 over urllib3-future"
        rm -f "$site_packages/urllib3_future.pth"
        "${pip[@]}" --force-reinstall --no-deps urllib3-future
        rm -rf "$site_packages/urllib3"
        "${pip[@]}" --force-reinstall --no-deps urllib3
    fi
    urllib3_is_real || { echo "setup.sh: urllib3 is still urllib3-future" >&2; exit 1; }
    echo "$wanted" > "$stamp"
fi
echo "setup.sh: ready ($venv)"
