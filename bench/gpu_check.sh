#!/usr/bin/env bash
# GPU check for cfens.joint, in one go, on a machine with an NVIDIA GPU (run from anywhere; it cd's to the repo root):
#   1. runs nbs/07_joint.ipynb the way the notebook tests do, plus its `#| cuda` cells (`#| slow` cells skipped),
#      printing what every cuda cell prints and stopping at the first failure;
#   2. runs the GPU benchmark (bench/joint_benchmark.py --gpu): ms per epoch at m=100, n=1e6, d=32 for the plain
#      PyTorch epoch and the cfens epoch (float32 and bf16 storage), peak GPU memory, and bf16-vs-float32 results.
# Needs python3 with a CUDA build of torch, numpy, scipy, scikit-learn, matplotlib and tqdm. fastcore (for test_eq &
# co.) is used when installed; otherwise a few equivalent assertions are defined here. Typical run: 2-4 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 MPLBACKEND=Agg IN_TEST=1
nvidia-smi -L || true
$PY - <<'EOF'
import torch
print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}",
      f"({torch.cuda.get_device_name()})" if torch.cuda.is_available() else "")
if not torch.cuda.is_available(): raise SystemExit("no CUDA device visible to torch: nothing to check here.")
EOF

echo "== 1. nbs/07_joint.ipynb: default cells + cuda cells"
$PY - <<'EOF'
import io, json, os, sys, time, traceback, contextlib
import numpy as np
nb = json.load(open("nbs/07_joint.ipynb"))
os.chdir("nbs")
g = {"__name__": "__main__"}
try:
    exec("from fastcore.test import *", g)
except ImportError:                                  # minimal stand-ins with fastcore's semantics
    def test_eq(a, b): assert np.array_equal(np.asarray(a), np.asarray(b)) if hasattr(a, "__len__") or hasattr(b, "__len__") else a == b, f"{a} != {b}"
    def test_close(a, b, eps=1e-5):
        a, b = (x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x) for x in (a, b))
        assert np.all(np.abs(a - b) < eps), f"not close (eps={eps}): max |a-b| = {np.max(np.abs(a - b))}"
    def test_fail(f, msg="", contains=""):
        try: f()
        except Exception as e:
            assert not contains or contains in str(e), f"{e!r} does not contain {contains!r}"; return
        assert False, f"expected an exception {msg}"
    g.update(test_eq=test_eq, test_close=test_close, test_fail=test_fail)
t_all = time.time()
for i, cell in enumerate(nb["cells"]):
    if cell["cell_type"] != "code": continue
    src = "".join(cell["source"])
    flags = {l[2:].strip().split()[0] for l in src.splitlines() if l.startswith("#|") and l[2:].strip()}
    if "slow" in flags or "nbdev_export(" in src or "nbdev.showdoc" in src: continue
    out = io.StringIO()
    t0 = time.time()
    try:
        with contextlib.redirect_stdout(out): exec(compile(src, f"cell {i}", "exec"), g)
    except Exception:
        print(out.getvalue()); traceback.print_exc(); print(f"FAILED in cell {i}:\n{src[:400]}"); sys.exit(1)
    if "cuda" in flags: print(f"-- cuda cell {i} ({time.time() - t0:.1f} s):\n{out.getvalue().rstrip()}")
print(f"notebook: all default and cuda cells passed in {time.time() - t_all:.0f} s")
EOF

echo "== 2. GPU benchmark"
$PY bench/joint_benchmark.py --gpu
