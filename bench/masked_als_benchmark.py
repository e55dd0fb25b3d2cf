"""Masked ALS speed: one `WeightedALS.fit` iteration with 30% of the cells missing against the dense iteration.

Problem (issue 18's): m = 50 classifiers, n = 100,000 points, d = 20 factors. R comes from
`cfens.synthetic.make_ensemble`; the masked problem is the same R with a share (--missing, default 0.3) of its cells
set to NaN at random (never every cell of a column), which `EnsembleData` turns into confidence 0 on those cells.
The dense problem has the uniform confidence. Both run `WeightedALS.fit` at its defaults (float64, mixed-precision Y
update) with tol=0, in interleaved rounds (so that load from other processes hits both alike); each round times
--iterations iterations and leaves out the first interval (it holds the fit's set-up). Medians over rounds.

The mask is a confidence of 0, so the masked iteration runs the same batched solver as the dense one: the Gram
matrices are one product (X ⊙ X) C whatever the zeros, and the target is a ratio masked / dense <= 1.3.

When `implicit` is installed (pip install -e ".[bench]"), the script also times implicit's CPU ALS with conjugate
gradient (its default) on the same non-zeros — a CSR matrix that stores only the observed cells, with the
confidence 1 — and prints cfens's masked iteration against it. implicit solves the implicit-feedback problem
(preference 1 wherever c > 0) and skips the missing cells in its sparse products; cfens forms the dense products.

Usage: python bench/masked_als_benchmark.py [--m 50] [--n 100000] [--d 20] [--missing 0.3] [--rounds 5]
                                            [--iterations 3] [--threads 2]
"""
import argparse, os, platform, time
import numpy as np
import scipy.sparse as sp
import torch
from threadpoolctl import threadpool_limits
from cfens.als import WeightedALS
from cfens.data import EnsembleData
from cfens.synthetic import make_ensemble


def problems(m, n, missing, seed=0):
    "(dense, masked): the same R as EnsembleData, complete and with a share `missing` of its cells NaN."
    data, _ = make_ensemble(n_classifiers=m, n_points=n, random_state=seed)
    hidden = np.random.default_rng(seed).uniform(size=data.R.shape) < missing
    hidden[0, hidden.all(0)] = False                                 # every column keeps a scored cell
    return data, EnsembleData(np.where(hidden, np.nan, data.R), data.labels)


def fit_seconds(data, d, iterations, threads):
    "Seconds between consecutive `WeightedALS.fit` iterations (tol=0; the first interval, with the set-up, left out)."
    stamps = []
    WeightedALS(factors=d, iterations=iterations + 1, tol=0, random_state=0, num_threads=threads).fit(
        data, show_progress=False, callback=lambda model, it: stamps.append(time.perf_counter()))
    return list(np.diff(stamps))


def implicit_seconds(masked, d, threads):
    "implicit's own seconds for one CG iteration on a CSR matrix of the observed cells (None: not installed)."
    try: from implicit.cpu.als import AlternatingLeastSquares
    except ImportError: return None
    Csr = sp.csr_matrix(masked.observed.T.astype(np.float32))       # points x models, the observed cells only
    elapsed = []
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=d, regularization=0.01, iterations=1, use_cg=True,
                                        num_threads=threads, random_state=0)
        model.fit(Csr, show_progress=False, callback=lambda it, seconds, loss: elapsed.append(seconds))
    return elapsed[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--m", type=int, default=50)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=20)
    parser.add_argument("--missing", type=float, default=0.3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    dense, masked = problems(args.m, args.n, args.missing)
    print(f"m={args.m}, n={args.n}, d={args.d}, {masked.missing / masked.R.size:.1%} of the cells missing, "
          f"{args.threads} threads, {args.rounds} rounds x {args.iterations} iterations; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs")
    times = dict(dense=[], masked=[], implicit=[])
    for _ in range(args.rounds):
        times["dense"] += fit_seconds(dense, args.d, args.iterations, args.threads)
        times["masked"] += fit_seconds(masked, args.d, args.iterations, args.threads)
        cg = implicit_seconds(masked, args.d, args.threads)
        if cg is not None: times["implicit"].append(cg)
    med = {k: float(np.median(v)) for k, v in times.items() if v}
    print(f"WeightedALS.fit per iteration: dense {med['dense']:.3f} s, masked {med['masked']:.3f} s "
          f"(min {min(times['masked']):.3f}, max {max(times['masked']):.3f})")
    print(f"masked / dense = {med['masked'] / med['dense']:.2f} (target <= 1.3)")
    if "implicit" in med:
        print(f"implicit CG on the observed cells: {med['implicit']:.3f} s per iteration; "
              f"cfens masked / implicit CG = {med['masked'] / med['implicit']:.2f}")
    else:
        print("implicit is not installed (pip install implicit): no comparison with its CG")


if __name__ == "__main__":
    main()
