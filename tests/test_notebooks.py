"""Run every notebook in nbs/ as one test (nbdev's own test runner, cell by cell, in a fresh process).

Cells flagged `#| slow` or `#| cuda` are skipped unless named in CFENS_TEST_FLAGS, e.g.
`CFENS_TEST_FLAGS="slow" pytest tests/` runs the slow cells too.
"""
import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "nbs").glob("*.ipynb") if not p.name.startswith("_"))
FLAGS = os.environ.get("CFENS_TEST_FLAGS", "").split()


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook(nb):
    cmd = [sys.executable, "-c", "import sys; from pathlib import Path; from nbdev.test import test_nb; from nbdev.config import get_config; "
           "ok, t = test_nb(Path(sys.argv[1]), skip_flags=get_config().tst_flags.split(), force_flags=sys.argv[2:]); "
           "sys.exit(0 if ok else 1)", str(nb), *FLAGS]
    env = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **os.environ,
           "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}   # one BLAS thread per notebook: pytest -n 2 runs two at once
    proc = subprocess.run(cmd, cwd=nb.parent, capture_output=True, text=True, env=env)
    assert proc.returncode == 0, f"{nb.name} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}"
