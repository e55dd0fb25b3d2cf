"""Scaling benchmark: one method fitted on the same prediction set by 1 process and by K processes (torchrun, gloo),
each holding a contiguous share of the columns.

For each process count it reports, per rank: peak resident memory (the process's high-water mark,
VmHWM, which includes the ~0.3 GB every Python process with torch pays), the memory of the process before it read any data, seconds
per epoch (per ALS sweep for the ALS family), the numbers all-reduced and the collective calls made per epoch (counted by `cfens.comm.TorchComm`;
x 8 bytes when they are float64, x 4 for float32 gradients). It runs at two sizes so that the communication per epoch
can be compared across n. The prediction set is written once, as a directory of float32 .npy files that every process
memory-maps (`cfens.prediction_sets.read_shard` reads only its own columns).

    python bench/scaling_benchmark.py                                  # m=50, n=4e6 and 1e6, joint, 1 and 2 processes
    python bench/scaling_benchmark.py --method two_stage --json nbs/fixtures/scaling_two_stage.json
    python bench/scaling_benchmark.py --n 200000 50000 --procs 1 2     # a quick smoke test
    python bench/scaling_benchmark.py --json nbs/fixtures/scaling_joint.json   # the figures the notebook reads
    python bench/scaling_benchmark.py --mmap-threshold 1048576 --json nbs/fixtures/scaling_joint_mmap.json
"""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path
import numpy as np


def peak_gib():
    "This process's peak resident memory so far, GiB: VmHWM (ru_maxrss would carry the parent's peak across exec)."
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 2**20


def write_set(directory, m, n, labeled_fraction=0.5, seed=0):
    "A synthetic prediction set as float32 .npy files (written a slice at a time: no m x n float64 temporary)."
    from cfens.synthetic import make_ensemble
    directory.mkdir(parents=True, exist_ok=True)
    n_train = int(n * labeled_fraction)
    R_train = np.lib.format.open_memmap(directory / "R_train.npy", "w+", np.float32, (m, n_train))
    R_test = np.lib.format.open_memmap(directory / "R_test.npy", "w+", np.float32, (m, n - n_train))
    y_train, step = np.empty(n_train), 200_000
    for s in range(0, n, step):                       # independent draws of the same generator family, per slice
        k = min(step, n - s)
        data, y = make_ensemble(m, k, random_state=seed + s)      # y: every column's true label
        lo, hi = s, s + k
        if lo < n_train: R_train[:, lo:min(hi, n_train)] = data.R[:, :min(hi, n_train) - lo]
        if hi > n_train: R_test[:, max(lo, n_train) - n_train:hi - n_train] = data.R[:, max(n_train - lo, 0):]
        if lo < n_train: y_train[lo:min(hi, n_train)] = y[:min(hi, n_train) - lo]
    R_train.flush(); R_test.flush()
    np.save(directory / "y_train.npy", y_train)


def worker(args):
    "One process of a run: read its share, fit, report its figures as one JSON line per rank."
    import torch, torch.distributed as dist
    from cfens.comm import LOCAL, TorchComm
    from cfens.prediction_sets import read_shard
    from cfens.methods import make_method
    before = peak_gib()
    sharded = "RANK" in os.environ
    if sharded: dist.init_process_group("gloo")
    comm = TorchComm() if sharded else LOCAL
    t0 = time.perf_counter()
    data, n_train = read_shard(args.data, comm)
    read_s = time.perf_counter() - t0
    params = dict(random_state=0)
    params.update(epochs=args.epochs, validation_fraction=0) if args.method == "joint" else params.update(
        iterations=args.epochs, tol=0)
    model = make_method(args.method, **params)
    stamps = []
    t0 = time.perf_counter()
    model.fit(data, show_progress=False,
              callback=lambda model, it: stamps.append((time.perf_counter(), comm.numbers_reduced, comm.collectives)))
    fit_s = time.perf_counter() - t0
    middle = stamps[1:-1]            # epochs 2 .. k-1: no set-up, no final aggregator fit (the ALS family's last)
    (t_a, c_a, k_a), (t_b, c_b, k_b) = middle[0], middle[-1]
    per = len(middle) - 1
    out = dict(method=args.method, procs=comm.size, rank=comm.rank, n=data.n_total, m=data.m, n_local=data.n,
               before_gib=before, peak_gib=peak_gib(), read_s=read_s, fit_s=fit_s,
               epoch_s=(t_b - t_a) / per, reduced_per_epoch=(c_b - c_a) / per, collectives_per_epoch=(k_b - k_a) / per,
               epochs=len(stamps))
    with open(args.out, "a") as f: f.write(json.dumps(out) + "\n")
    if sharded: dist.barrier(); dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--m", type=int, default=50)
    p.add_argument("--n", type=int, nargs="+", default=[4_000_000, 1_000_000])
    p.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    p.add_argument("--method", default="joint")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--threads", type=int, default=1, help="threads per process (OMP_NUM_THREADS)")
    p.add_argument("--json", help="also write the rows (one per rank and run) to this JSON file")
    p.add_argument("--mmap-threshold", type=int, default=0, metavar="BYTES",
                   help="glibc's MALLOC_MMAP_THRESHOLD_ for every run (0: glibc's default, a dynamic threshold that "
                        "can keep freed temporaries of up to 32 MiB in the process); the same for 1 and K processes")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker: return worker(args)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.n:
            directory = Path(tmp) / f"set_{n}"
            t0 = time.perf_counter(); write_set(directory, args.m, n)
            print(f"wrote m={args.m}, n={n:,} as float32 .npy in {time.perf_counter() - t0:.0f} s", flush=True)
            for k in args.procs:
                out = Path(tmp) / f"out_{n}_{k}.jsonl"
                run = [__file__, "--worker", "--data", str(directory), "--out", str(out), "--method", args.method,
                       "--epochs", str(args.epochs)]
                launch = ["-m", "torch.distributed.run", "--nproc-per-node", str(k)] if k > 1 else []
                env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
                if args.mmap_threshold: env["MALLOC_MMAP_THRESHOLD_"] = str(args.mmap_threshold)
                done = subprocess.run([sys.executable, *launch, *run], env=env, stderr=subprocess.PIPE, text=True)
                if done.returncode: sys.exit(f"{k} process(es) at n={n} failed:\n{done.stderr[-3000:]}")
                rows += [json.loads(line) for line in out.read_text().splitlines()]
    if args.json:
        meta = dict(command=" ".join(sys.argv), cpus=os.cpu_count(), load=os.getloadavg()[0], threads=args.threads,
                    mmap_threshold=args.mmap_threshold)
        Path(args.json).write_text(json.dumps(dict(meta=meta, rows=rows), indent=1) + "\n")
    print(f"\nmethod {args.method}, m={args.m}, {args.threads} thread(s) per process, {os.cpu_count()} CPUs; "
          f"load average {os.getloadavg()[0]:.1f}; MALLOC_MMAP_THRESHOLD_ {args.mmap_threshold or 'default'}")
    print(f"{'n':>10} {'procs':>5} {'rank':>4} {'columns':>10} {'peak GiB':>9} {'of it before data':>17} "
          f"{'s/epoch':>8} {'numbers all-reduced/epoch':>26}")
    for r in sorted(rows, key=lambda r: (-r["n"], r["procs"], r["rank"])):
        print(f"{r['n']:>10,} {r['procs']:>5} {r['rank']:>4} {r['n_local']:>10,} {r['peak_gib']:>9.2f} "
              f"{r['before_gib']:>17.2f} {r['epoch_s']:>8.3f} {r['reduced_per_epoch']:>26,.0f}")
    for n in args.n:
        single = max(r["peak_gib"] for r in rows if r["n"] == n and r["procs"] == 1)
        for k in sorted(set(args.procs) - {1}):
            worst = max(r["peak_gib"] for r in rows if r["n"] == n and r["procs"] == k)
            print(f"n={n:,}: peak memory per rank at {k} processes / one process = {worst / single:.2f}")


if __name__ == "__main__":
    main()
