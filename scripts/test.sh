#!/usr/bin/env bash
# Set up a virtual environment and run the linter and the whole test suite (fakes + real model).
set -euo pipefail
cd "$(dirname "$0")/.."
# The browser tests (-m browser) drive Debian's chromium through Playwright (no browser download).
if [ ! -x /usr/bin/chromium ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null \
        || echo "scripts/test.sh: could not install chromium; the browser tests will fail" >&2
fi
python3 -m venv .venv
. .venv/bin/activate
pip install -q --disable-pip-version-check -e '.[dev]'
ruff check verify tests bench
python -m pytest "$@"
