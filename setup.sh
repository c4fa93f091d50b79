#!/usr/bin/env bash
# Set up briefing press on a fresh Debian 12 machine: system libraries, a virtual environment
# in .venv and the package with its test tools, all from requirements.lock (hash-checked).
# Safe to run again; run as root or with sudo. ./setup.sh --update-lock updates the lock on
# purpose, gated by the test suite (docs/architecture.md, "Dependencies").
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Pango/HarfBuzz for WeasyPrint (libharfbuzz-subset0 avoids the slower fontTools fallback),
# poppler-utils and qpdf for checking PDFs, chromium + driver for the browser tests.
PACKAGES="python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils qpdf ghostscript chromium chromium-driver fonts-dejavu-core libimage-exiftool-perl rclone"
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

# Python packages come only from requirements.lock: every package pinned, every file checked
# against its sha256 by pip (--require-hashes). What PyPI serves today changes nothing here.
lock() {
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps \
    -r requirements.lock
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation \
    -e .
  .venv/bin/python -m pip check >/dev/null
}

if [ "${1:-}" = "--update-lock" ]; then
  # Update the lock on purpose: resolve the newest releases within pyproject.toml's bounds,
  # install them, and keep the new lock only if the whole test suite passes with it.
  [ -x .venv/bin/uv ] || lock
  cp requirements.lock requirements.lock.previous
  .venv/bin/uv pip compile --quiet --upgrade pyproject.toml requirements/build.in \
    --extra test --extra lock --universal --python-version 3.11 --generate-hashes \
    -o requirements.lock
  lock
  if HYPOTHESIS_PROFILE=ci .venv/bin/python -m pytest -q; then
    rm requirements.lock.previous
    echo "setup: requirements.lock updated and the suite passes; review 'git diff requirements.lock' and commit it"
  else
    mv requirements.lock.previous requirements.lock
    lock
    echo "setup: the suite fails with the newer releases: requirements.lock is unchanged" >&2
    exit 1
  fi
  exit 0
fi

lock
echo "setup: ready ($(.venv/bin/python -c 'import weasyprint, pypdf; print("WeasyPrint", weasyprint.__version__, "· pypdf", pypdf.__version__)'))"
