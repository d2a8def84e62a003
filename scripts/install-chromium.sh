#!/bin/sh
# Debian's Chromium for the report's browser tests (tests/browser.py): installed once, from
# the distribution, never downloaded by a test tool. Needs root (CI runs as root).
set -eu
if command -v chromium >/dev/null 2>&1 && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
    exit 0  # the reference images are drawn in DejaVu Sans
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
command -v chromium
