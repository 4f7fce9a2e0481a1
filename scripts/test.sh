#!/usr/bin/env bash
# Set up a virtual environment and run the linter and the whole test suite (fakes + real model).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
pip install -q --disable-pip-version-check -e '.[dev]'
ruff check verify tests bench
python -m pytest "$@"
