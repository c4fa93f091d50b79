#!/usr/bin/env bash
# Set up briefing press on a fresh Debian 12 machine: system libraries, a virtual environment
# in .venv and the package with its test tools. Safe to run again; run as root or with sudo.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Pango/HarfBuzz for WeasyPrint (libharfbuzz-subset0 avoids the slower fontTools fallback),
# poppler-utils and qpdf for checking PDFs, chromium + driver for the browser tests.
PACKAGES="python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils qpdf chromium chromium-driver fonts-dejavu-core"
missing=""
for p in $PACKAGES; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "setup: installing$missing"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test]"
echo "setup: ready ($(.venv/bin/python -c 'import weasyprint, pypdf; print("WeasyPrint", weasyprint.__version__, "· pypdf", pypdf.__version__)'))"
