#!/usr/bin/env bash
# GPU check for cfens.joint, in one go, on a machine with an NVIDIA GPU (run from anywhere; it cd's to the repo root):
#   1. runs nbs/17_joint.ipynb the way the notebook tests do, plus its `#| cuda` cells (`#| slow` cells skipped),
#      printing what every cuda cell prints and stopping at the first failure;
#   2. runs the GPU benchmark (bench/joint_benchmark.py --gpu): ms per epoch at m=100, n=1e6, d=32 for the plain
#      PyTorch epoch and the cfens epoch (float32 and bf16 storage), peak GPU memory, and bf16-vs-float32 results.
# Needs python3 with a CUDA build of torch, numpy, scipy, scikit-learn, matplotlib, tqdm and fastcore (cfens uses it;
# its test_eq & co. are the notebook's assertions). nbdev is not needed: `show_doc` cells are skipped, and the
# hidden import cell runs without its nbdev import. Typical run: 2-4 minutes.
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

echo "== 1. nbs/17_joint.ipynb: default cells + cuda cells"
$PY - <<'EOF'
import io, json, os, sys, time, traceback, contextlib
import numpy as np
nb = json.load(open("nbs/17_joint.ipynb"))
os.chdir("nbs")
g = {"__name__": "__main__", "show_doc": lambda *args, **kwargs: None}
t_all = time.time()
for i, cell in enumerate(nb["cells"]):
    if cell["cell_type"] != "code": continue
    src = "".join(cell["source"])
    flags = {l[2:].strip().split()[0] for l in src.splitlines() if l.startswith("#|") and l[2:].strip()}
    if "slow" in flags or "nbdev_export(" in src or src.startswith("show_doc("): continue
    src = src.replace("from nbdev.showdoc import *", "")
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
