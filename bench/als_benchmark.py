"""ALS speed benchmark: one full iteration (X update + Y update) of cfens's weighted ALS against `implicit`'s ALS.

Problem (the issue's): m = 50 classifiers, n = 100,000 points, d = 20 factors, dense confidence (every one of the
m*n cells has a weight). R comes from `cfens.synthetic.make_ensemble`, C = |R - 1/2| + 0.1 (the `certainty`
confidence, kept away from 0 so that implicit's sparse input stores every cell).

Timed side by side in one run, in interleaved rounds (so that load from other processes hits every method alike),
medians over the rounds:

* cfens `solve_factors` (what `WeightedALS.fit` runs), float32 and float64, X half and Y half separately;
  C * R is formed once beforehand, as `fit` does once per fit, and R, C are row-major, as `fit` makes them. "float64"
  is the fit's float64 path (the Y update in mixed precision: float32 factorisations refined to float64 accuracy,
  `mixed=True`); "float64 plain" the same iteration without it (`mixed=False`);
* cfens `WeightedALS.fit` at its defaults, per iteration, including its loss tracking (`history_`, from the solver's
  right-hand sides), the balancing of X and Y before each sweep and its convergence test (3 iterations per round,
  tol=0 so that all run; the first interval, which holds the fit's set-up, left out); and, once, the full
  `recon_loss` evaluation that fit no longer does;
* implicit's CPU ALS (`implicit.cpu.als.AlternatingLeastSquares`, factors=d, iterations=1) on a CSR matrix of C
  with all m*n entries stored, conjugate gradient (`use_cg=True`, its default) and exact (`use_cg=False`), float32,
  `num_threads` = --threads, BLAS limited to one thread as implicit recommends. Two times for each: its own
  per-iteration time (reported to its fit callback: the two solver calls only) and the wall time of
  `fit(iterations=1)` (also its one-off set-up: transposing the matrix, initialising the factors).
  implicit solves the implicit-feedback problem (preference 1 wherever c > 0), cfens the explicit one (target r);
  the systems have the same size and number, which is what the times measure;
* the per-column Python loop `solve_factors_reference`, float64, once: the X half in full (m systems), the Y half
  on --ref-columns columns, scaled up to n.

The ratios reported are cfens seconds per iteration (the solver alone, and `WeightedALS.fit`) / implicit CG's own
per-iteration time; the target for `fit` is <= 0.2.

Every round also times the two matrix products an exact iteration cannot avoid — the X half's Gram sums (p x n @
n x m, p = d(d+1)/2) and the Y half's Gram matrices (p x m @ m x n) — alone, and prints their sum against implicit's
CG iteration: the floor under `fit`'s ratio (float64: the X half's product in float64, the Y half's in float32, as
the mixed-precision path forms it).

Threads: a second thread helps cfens's fit less than it helps implicit's compiled CG (x1.55 against x1.91 in one
run): the Gram products share the memory bandwidth, and the balancing and loss of each sweep run once per sweep.
The script prints, every run, the rate of a float64 matrix product (1500 x 1500) on one thread and on --threads
(about x2 when the threads add arithmetic throughput; no gain when another process keeps a core busy); with
--scaling it also times `WeightedALS.fit` (float32, float64) and implicit CG on one thread, in the same interleaved
rounds, and prints their ratio and each one's speed-up from one thread.

Usage: python bench/als_benchmark.py [--m 50] [--n 100000] [--d 20] [--rounds 5] [--threads 2] [--ref-columns 2000]
                                     [--scaling]
Needs implicit: pip install -e ".[bench]"  (or pip install implicit).
"""
import argparse, os, platform, time
import numpy as np
import scipy.sparse as sp
import torch
from threadpoolctl import threadpool_limits
from cfens.als import WeightedALS, solve_factors, solve_factors_reference, torch_threads
from cfens.synthetic import make_ensemble
from cfens.objective import recon_loss


def problem(m, n, seed=0):
    "EnsembleData with realistic base-model probabilities R and a dense confidence C = |R - 1/2| + 0.1 (m x n)."
    data, _ = make_ensemble(n_classifiers=m, n_points=n, random_state=seed)
    return data.with_confidence(np.abs(data.R - 0.5) + 0.1)


def cfens_iteration(X, Y, R, C, CR, lam, threads, mixed=False):
    "Seconds for the X half and the Y half of one ALS iteration, and the new (X, Y)."
    t0 = time.perf_counter()
    X = solve_factors(Y, R.T, C.T, lam, num_threads=threads, CR=CR.T)
    t1 = time.perf_counter()
    Y = solve_factors(X, R, C, lam, num_threads=threads, CR=CR, mixed=mixed)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, X, Y


def implicit_iteration(Csr, d, lam, use_cg, threads, seed):
    "(implicit's own per-iteration seconds, wall seconds of fit(iterations=1))."
    from implicit.cpu.als import AlternatingLeastSquares
    elapsed = []
    with threadpool_limits(1, "blas"):
        model = AlternatingLeastSquares(factors=d, regularization=lam, iterations=1, use_cg=use_cg, num_threads=threads,
                                        random_state=seed)
        t0 = time.perf_counter()
        model.fit(Csr, show_progress=False, callback=lambda it, seconds, loss: elapsed.append(seconds))
        wall = time.perf_counter() - t0
    return elapsed[0], wall


def fit_seconds_per_iteration(data, d, lam, dtype, iterations, threads):
    """Seconds between consecutive `WeightedALS.fit` iterations, each with its loss tracking and convergence test
    (tol=0 so that every iteration runs; the test is evaluated all the same). The first interval, which also holds
    the fit's one-off set-up (casting R and C, C * R, sum C R^2, the initial factors), is left out."""
    stamps = []
    WeightedALS(factors=d, regularization=lam, iterations=iterations, tol=0, random_state=0, dtype=dtype,
                num_threads=threads).fit(data, show_progress=False,
                                         callback=lambda model, it: stamps.append(time.perf_counter()))
    return list(np.diff(stamps))


def gemm_rate(threads, size=1500, repeats=5):
    "Billions of multiply-adds per second of a float64 size x size matrix product on `threads` torch threads."
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        A = torch.randn(size, size, dtype=torch.float64)
        A @ A
        seconds = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            A @ A
            seconds.append(time.perf_counter() - t0)
    finally: torch.set_num_threads(old)
    return size ** 3 / np.median(seconds) / 1e9


def gram_seconds(m, n, d, threads, dtype):
    "Seconds of the two products no exact weighted ALS iteration avoids: the X half's Gram sums, the Y half's Grams."
    p = d * (d + 1) // 2                                         # distinct entries of a symmetric d x d system
    g = torch.Generator().manual_seed(0)
    K_points, C_points = torch.rand(p, n, generator=g, dtype=dtype), torch.rand(n, m, generator=g, dtype=dtype)
    K_models, C_models = torch.rand(p, m, generator=g, dtype=dtype), torch.rand(m, n, generator=g, dtype=dtype)
    with torch_threads(threads):
        t0 = time.perf_counter()
        K_points @ C_points                                      # X half: m systems, each a sum over n points
        t1 = time.perf_counter()
        K_models @ C_models                                      # Y half: n systems, each a sum over m classifiers
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--m", type=int, default=50)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--lam", type=float, default=0.01)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ref-columns", type=int, default=2000)
    ap.add_argument("--scaling", action="store_true", help="also time fit and implicit CG on one thread")
    a = ap.parse_args(argv)
    if not 1 <= a.d <= a.m:
        ap.error(f"--d must be between 1 and --m ({a.m}): WeightedALS uses at most m factors (X^T Y has rank <= m)")
    try:
        import implicit
    except ImportError:
        raise SystemExit("this benchmark needs implicit: pip install -e '.[bench]' (or pip install implicit)")

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}; numpy {np.__version__}, torch {torch.__version__}, "
          f"implicit {implicit.__version__}; threads={a.threads}")
    rate1, rate = gemm_rate(1), gemm_rate(a.threads)
    print(f"float64 matrix product (1500 x 1500): {rate1:.1f} GFMA/s on 1 thread, {rate:.1f} on {a.threads} "
          f"(x{rate / rate1:.2f})")
    data = problem(a.m, a.n)
    R, C = data.R, data.C
    g = np.random.default_rng(0)
    X0, Y0 = 0.01 * g.normal(size=(a.d, a.m)), 0.01 * g.normal(size=(a.d, a.n))
    Csr = sp.csr_matrix(C.astype(np.float32))
    assert Csr.nnz == a.m * a.n, "every cell must be stored: dense confidence"
    cast = {dt: (np.asarray(R, dt, order="C"), np.asarray(C, dt, order="C"), np.asarray(C * R, dt, order="C"),
                 X0.astype(dt), Y0.astype(dt)) for dt in (np.float32, np.float64)}     # row-major, as fit makes them
    variants = [("float32", np.float32, False), ("float64", np.float64, True), ("float64 plain", np.float64, False)]
    print(f"problem: m={a.m}, n={a.n:,}, d={a.d}, lambda={a.lam}, dense confidence ({Csr.nnz:,} cells); "
          f"{a.rounds} interleaved rounds, medians\n")

    t = {}
    for name, dt, mixed in variants:                             # warm-up: one iteration each, not timed
        Rd, Cd, CRd, X, Y = cast[dt]
        cfens_iteration(X, Y, Rd, Cd, CRd, a.lam, a.threads, mixed)
    for r in range(a.rounds):
        for name, dt, mixed in variants:
            Rd, Cd, CRd, X, Y = cast[dt]
            tx, ty, _, _ = cfens_iteration(X, Y, Rd, Cd, CRd, a.lam, a.threads, mixed)
            t.setdefault(f"cfens {name}: X half", []).append(tx)
            t.setdefault(f"cfens {name}: Y half", []).append(ty)
            t.setdefault(f"cfens {name}: iteration", []).append(tx + ty)
        for dt in cast:
            t.setdefault(f"cfens {np.dtype(dt).name}: WeightedALS.fit per iteration (loss + convergence test)",
                         []).extend(fit_seconds_per_iteration(data, a.d, a.lam, dt, 3, a.threads))
            if a.scaling:
                t.setdefault(f"cfens {np.dtype(dt).name}: WeightedALS.fit per iteration, 1 thread",
                             []).extend(fit_seconds_per_iteration(data, a.d, a.lam, dt, 3, 1))
        for dt in (torch.float32, torch.float64):
            gx, gy = gram_seconds(a.m, a.n, a.d, a.threads, dt)
            t.setdefault(f"matrix products alone, {str(dt)[6:]}: X-half Gram sums (p x n @ n x m)", []).append(gx)
            t.setdefault(f"matrix products alone, {str(dt)[6:]}: Y-half Grams (p x m @ m x n)", []).append(gy)
        if a.scaling:
            t.setdefault("implicit CG: iteration (its own timer), 1 thread", []).append(
                implicit_iteration(Csr, a.d, a.lam, True, 1, seed=r)[0])
        for cg in (True, False):
            own, wall = implicit_iteration(Csr, a.d, a.lam, cg, a.threads, seed=r)
            kind = "CG" if cg else "exact"
            t.setdefault(f"implicit {kind}: iteration (its own timer)", []).append(own)
            t.setdefault(f"implicit {kind}: fit(iterations=1) wall", []).append(wall)

    for dt, (Rd, Cd, CRd, X, Y) in cast.items():                 # what the loss tracking replaced: a full evaluation
        t0 = time.perf_counter()
        recon_loss(R, C, X, Y, a.lam)
        t[f"cfens {np.dtype(dt).name}: one full recon_loss evaluation (no longer done by fit)"] = [
            time.perf_counter() - t0]

    t0 = time.perf_counter()
    Xr = solve_factors_reference(Y0, R.T, C.T, a.lam)
    tx = time.perf_counter() - t0
    k = min(a.ref_columns, a.n)
    t0 = time.perf_counter()
    solve_factors_reference(Xr, R[:, :k], C[:, :k], a.lam)
    ty = (time.perf_counter() - t0) * a.n / k
    t[f"per-column Python loop (reference), float64, one iteration: X half measured, "
      f"Y half {k:,} columns x {a.n / k:g}"] = [tx + ty]

    width = max(map(len, t))
    print(f"{'seconds':>{width + 10}}")
    for name, v in t.items(): print(f"  {name:{width}s} {np.median(v):8.3f}")
    cg = np.median(t["implicit CG: iteration (its own timer)"])
    exact = np.median(t["implicit exact: iteration (its own timer)"])
    print()
    for name in ("float32", "float64", "float64 plain"):
        it = np.median(t[f"cfens {name}: iteration"])
        if name == "float64 plain":
            print(f"  ratio cfens {name} solver iteration / implicit CG:    {it / cg:.3f}")
            break
        fit = np.median(t[f"cfens {name}: WeightedALS.fit per iteration (loss + convergence test)"])
        print(f"  ratio cfens {name} solver iteration / implicit CG:    {it / cg:.3f}")
        print(f"  ratio cfens {name} WeightedALS.fit / implicit CG:     {fit / cg:.3f}   (target <= 0.2)")
        print(f"  ratio cfens {name} solver iteration / implicit exact: {it / exact:.3f}")
    med = lambda key: np.median(t[f"matrix products alone, {key}"])
    floor32 = med("float32: X-half Gram sums (p x n @ n x m)") + med("float32: Y-half Grams (p x m @ m x n)")
    floor64 = med("float64: X-half Gram sums (p x n @ n x m)") + med("float32: Y-half Grams (p x m @ m x n)")
    print("\n  the two Gram products alone, at --threads (float64: the X half's in float64, the Y half's in float32,"
          " as the\n  mixed-precision path forms them): what an exact iteration cannot avoid")
    print(f"  ratio float32 products / implicit CG: {floor32 / cg:.3f};  float64 products / implicit CG: "
          f"{floor64 / cg:.3f}")
    if a.scaling:
        cg1 = np.median(t["implicit CG: iteration (its own timer), 1 thread"])
        print(f"\n  one thread: implicit CG {cg1:.3f} s, x{cg1 / cg:.2f} faster on {a.threads} threads")
        for name in ("float32", "float64"):
            fit1 = np.median(t[f"cfens {name}: WeightedALS.fit per iteration, 1 thread"])
            fit = np.median(t[f"cfens {name}: WeightedALS.fit per iteration (loss + convergence test)"])
            print(f"  ratio cfens {name} WeightedALS.fit / implicit CG, both on 1 thread: {fit1 / cg1:.3f}   "
                  f"(fit x{fit1 / fit:.2f} faster on {a.threads} threads)")
    print(f"\nload average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
