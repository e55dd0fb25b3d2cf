#!/usr/bin/env bash
# Install cfens from nothing and run every tutorial notebook end to end, slow cells included.
# The executed notebooks (with their plots) are written to _tutorial/.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
. .venv/bin/activate
pip install -q --upgrade pip
pip install -q torch==2.13.0          # the CPU wheel first; a bare `torch` would pull a multi-GB CUDA build
pip install -q -e ".[dev]"
mkdir -p _tutorial
for nb in nbs/[0-9]*.ipynb; do
  echo "== running $nb"
  MPLBACKEND=Agg jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=3600 \
    --output-dir _tutorial "$nb" 2>/dev/null
done
echo "All tutorial notebooks ran; executed copies are in _tutorial/"
