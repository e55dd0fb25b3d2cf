"""MM-ALS against joint descent on the CPU: time to reach joint descent's best combined loss.

m = 50 classifiers, n = 100,000 points, d = 20, rho = 0.5, lambda = 0.01, aggregator C = 1, no validation split
(validation_fraction=0 for both, so that both minimise the same objective over the same labels). Joint descent runs
its defaults (Adam, lr 0.01, 300 full-batch epochs, float32); MM-ALS runs until its relative change falls below
1e-10 or `--iterations`. Both are timed from the call to `fit` (setup included), in one run, one after the other.
Prints joint descent's best L_CF and the time it took to reach it, the time MM-ALS takes to reach within 1e-4
(relative) of that value, and their ratio. No assertion on time.

    python bench/mm_als_benchmark.py [--n 100000] [--m 50] [--d 20] [--iterations 500] [--threads 0]
"""
import argparse, time
import numpy as np
import torch
from cfens.synthetic import make_ensemble
from cfens.joint import JointCF
from cfens.mm_als import MMALS


def timed_fit(trainer, data):
    "Fit with a callback that notes (seconds since the call to fit, the recorded total) after every iteration."
    trace, t0 = [], time.perf_counter()
    def cb(tr, it): trace.append((time.perf_counter() - t0, tr.history_[-1]["total"]))
    trainer.fit(data, show_progress=False, callback=cb)
    return np.array(trace), time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--m", type=int, default=50)
    ap.add_argument("--d", type=int, default=20)
    ap.add_argument("--iterations", type=int, default=500)
    ap.add_argument("--threads", type=int, default=0, help="torch threads; 0: torch's setting")
    args = ap.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    data, _ = make_ensemble(n_classifiers=args.m, n_points=args.n, random_state=0)
    print(f"m = {data.m}, n = {data.n}, d = {args.d}, labeled = {int(data.labeled.sum())}, "
          f"torch threads = {torch.get_num_threads()}")
    joint = JointCF(factors=args.d, validation_fraction=0, device="cpu", random_state=0)
    jt, j_total = timed_fit(joint, data)
    k = int(np.argmin(jt[:, 1]))
    target = jt[k, 1]
    print(f"joint descent: {len(jt)} epochs in {j_total:.2f} s; best L_CF {target:.6f} at epoch {k + 1}, "
          f"reached after {jt[k, 0]:.2f} s")
    mm = MMALS(factors=args.d, validation_fraction=0, iterations=args.iterations, tol=1e-10, random_state=0)
    mt, m_total = timed_fit(mm, data)
    print(f"MM-ALS: {len(mt)} iterations in {m_total:.2f} s ({m_total / len(mt):.3f} s per iteration incl. setup); "
          f"start L_CF {mm.start_['total']:.6f}, final {mt[-1, 1]:.6f}")
    steps = np.diff(np.r_[mm.start_["total"], mt[:, 1]])
    print(f"MM-ALS L_CF non-increasing at every iteration: {bool(np.all(steps <= 1e-12 * mm.start_['total']))} "
          f"(largest change {steps.max():+.3g})")
    hit = np.flatnonzero(mt[:, 1] <= target * (1 + 1e-4))
    if len(hit):
        t_mm = mt[hit[0], 0]
        print(f"MM-ALS within 1e-4 of joint's best after {t_mm:.2f} s (iteration {hit[0] + 1}); "
              f"ratio MM-ALS / joint (time to joint's best) = {t_mm / jt[k, 0]:.3f}")
    else:
        print(f"MM-ALS did not reach within 1e-4 of joint's best in {len(mt)} iterations "
              f"(its best {mt[:, 1].min():.6f}, relative gap {mt[:, 1].min() / target - 1:+.2e})")


if __name__ == "__main__":
    main()
