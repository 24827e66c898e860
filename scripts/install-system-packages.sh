#!/usr/bin/env bash
# Install the Debian packages wathiq needs, only those missing: the zbar library for
# pyzbar, Arabic fonts for the PDFs, Chromium for the kiosk and browser tests, and
# Xvfb, the virtual screen on which the tests start the kiosk's Chromium.
set -euo pipefail

packages=(libzbar0 fonts-hosny-amiri fonts-noto-core chromium xvfb)
missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing Debian packages: ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    if ! command -v sudo >/dev/null; then
        echo "error: need root or sudo to install ${missing[*]}; install them and re-run." >&2
        exit 1
    fi
    sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}"; then
    "${sudo_cmd[@]}" apt-get update -q
    "${sudo_cmd[@]}" apt-get install -y -q "${missing[@]}"
fi
