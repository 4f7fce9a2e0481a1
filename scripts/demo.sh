#!/usr/bin/env bash
# Set up a virtual environment, ingest the shipped reference corpus and check a sample article
# on the embedded model (no API key, no network). Reports go to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
pip install -q --disable-pip-version-check -e .
verify ingest evidence/
verify check "${1:-evals/articles/a2-vilnius-summit.txt}" --out out/
