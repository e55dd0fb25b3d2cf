"""Epoch time and memory of joint descent (cfens.joint): a plain PyTorch epoch and the cfens fast epoch, side by side.

The plain epoch is what the issue describes: full batch, autograd through X^T Y, BCE of w^T R-hat + b on the labeled
columns, Adam. The cfens epoch is `JointCF`'s own (closed-form reconstruction gradients, autograd only on the
aggregator's labeled columns, fused Adam): a JointCF fitted for one epoch, then timed through its internal `_epoch` so
that both time exactly one step.

    python bench/joint_benchmark.py            # CPU: the m=50, n=1e5, d=20 comparison and peak memory at n=1e6, m=100
    python bench/joint_benchmark.py --gpu      # GPU: m=100, n=1e6, d=32, fp32 and bf16 storage, and their results
    python bench/joint_benchmark.py --quick    # CPU comparison only, fewer repetitions
    python bench/joint_benchmark.py --n 5000 --memory-n 20000   # a smoke test of every part at small sizes

Timings are medians of interleaved repetitions (plain, cfens, plain, cfens, ...) so that a busy machine slows both alike.
"""
import argparse, json, os, resource, subprocess, sys, time
import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from cfens.data import EnsembleData
from cfens.synthetic import make_ensemble
from cfens.joint import JointCF
from cfens.baselines import evaluate


def random_problem(m, n, seed=0, certainty=False):
    "Random R in (0, 1), half the columns labeled (30% positive); C uniform or |R - 1/2|."
    rng = np.random.default_rng(seed)
    R = rng.random((m, n))
    labels = np.where(rng.random(n) < 0.5, (rng.random(n) < 0.3).astype(float), np.nan)
    return EnsembleData(R, labels, np.abs(R - 0.5) if certainty else None)


def sync(dev):
    if dev.type == "cuda": torch.cuda.synchronize()


class PlainEpoch:
    "The straightforward PyTorch epoch: full batch, autograd through X^T Y, BCE on the labeled columns, Adam."
    def __init__(self, data, d, dev, lam=0.01, rho=0.5, lr=0.01, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.R = torch.as_tensor(data.R, dtype=torch.float32, device=dev)
        self.C = torch.as_tensor(np.asarray(data.C, dtype=np.float32), device=dev)   # (a uniform C is a view: copy)
        self.L = torch.as_tensor(np.flatnonzero(data.labeled), device=dev)
        self.t = torch.as_tensor(data.y_labeled, dtype=torch.float32, device=dev)
        self.X = torch.nn.Parameter((0.01 * torch.randn(d, data.m, generator=g)).to(dev))
        self.Y = torch.nn.Parameter((0.01 * torch.randn(d, data.n, generator=g)).to(dev))
        self.w = torch.nn.Parameter(torch.full((data.m,), 1 / data.m, device=dev))
        self.b = torch.nn.Parameter(torch.zeros((), device=dev))
        self.opt = torch.optim.Adam([self.X, self.Y, self.w, self.b], lr=lr)
        self.lam, self.rho = lam, rho

    def __call__(self):
        self.opt.zero_grad()
        Rh = self.X.T @ self.Y
        recon = ((self.C * (self.R - Rh) ** 2).sum() + self.lam * (self.X.pow(2).sum() + self.Y.pow(2).sum())) / self.R.numel()
        sup = torch.nn.functional.binary_cross_entropy_with_logits(self.w @ Rh[:, self.L] + self.b, self.t)
        loss = self.rho * recon + (1 - self.rho) * sup
        loss.backward()
        self.opt.step()
        return loss


def cfens_epoch(data, d, dev, **kw):
    "A JointCF fitted on `data` for one epoch (full batch, no validation split) and its one-epoch function."
    mdl = JointCF(factors=d, validation_fraction=0, init_aggregator="zero", epochs=1, device=str(dev), random_state=0,
                  **kw).fit(data, show_progress=False)
    return mdl, mdl._epoch


def side_by_side(fns, dev, reps, warmup=2):
    "Median wall-clock and CPU (process) seconds per call of each function, calls interleaved."
    for f in fns.values():
        for _ in range(warmup): f()
    wall, cpu = {k: [] for k in fns}, {k: [] for k in fns}
    for _ in range(reps):
        for k, f in fns.items():
            sync(dev); t0, c0 = time.perf_counter(), time.process_time(); f(); sync(dev)
            wall[k].append(time.perf_counter() - t0); cpu[k].append(time.process_time() - c0)
    return {k: float(np.median(v)) for k, v in wall.items()}, {k: float(np.median(v)) for k, v in cpu.items()}


def cpu_comparison(reps, n=100_000, threads=(None, 1)):
    m, d = 50, 20
    dev = torch.device("cpu")
    default = torch.get_num_threads()
    for th in threads:
        torch.set_num_threads(th or default)
        print(f"== CPU epoch, m={m}, n={n:,}, d={d}, float32, {torch.get_num_threads()} thread(s), median of {reps} interleaved "
              f"repetitions (wall clock; CPU time of the process in brackets)")
        for label, certainty in (("uniform C (row-constant path)", False), ("certainty C (general path)", True)):
            data = random_problem(m, n, certainty=certainty)
            plain = PlainEpoch(data, d, dev)
            _, fast = cfens_epoch(data, d, dev)
            wall, cpu = side_by_side({"plain": plain, "cfens": fast}, dev, reps)
            print(f"{label:30s} plain {wall['plain'] * 1e3:6.1f} ms ({cpu['plain'] * 1e3:6.1f})   cfens {wall['cfens'] * 1e3:6.1f} ms "
                  f"({cpu['cfens'] * 1e3:6.1f})   cfens/plain = {wall['cfens'] / wall['plain']:.2f} ({cpu['cfens'] / cpu['plain']:.2f})")
    torch.set_num_threads(default)


MEMORY_CASES = {"cfens full batch": dict(), "cfens batch_size=65536": dict(batch_size=65536),
                "cfens full batch, certainty C": dict(certainty=True), "plain epoch": dict(plain=True)}

def memory_child(case, n):
    "Run in a fresh process: peak resident memory of 3 epochs at m=100, n points, d=32, beyond the data itself."
    m, d = 100, 32
    kw = dict(MEMORY_CASES[case])
    certainty, plain = kw.pop("certainty", False), kw.pop("plain", False)
    data = random_problem(m, n, certainty=certainty)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.perf_counter()
    if plain:
        f = PlainEpoch(data, d, torch.device("cpu"))
        t1 = time.perf_counter(); f(); epoch = time.perf_counter() - t1
    else:
        mdl = JointCF(factors=d, epochs=3, patience=None, device="cpu", random_state=0, **kw).fit(data,
                                                                                                 show_progress=False)
        epoch = float(np.median(np.diff([0.0] + [h["time"] for h in mdl.history_])))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(dict(case=case, base=base, peak=peak, fit=time.perf_counter() - t0, epoch=epoch)))


def data_bytes(data):
    "Bytes the EnsembleData holds: R, and C unless it is row-constant (then m numbers)."
    return data.R.nbytes + (data.m * 8 if data.row_confidence is not None else data.C.nbytes)


def memory_report(cases, n=1_000_000):
    m = 100
    unit = 4 * m * n
    print(f"== CPU peak memory, m={m}, n={n:,}, d=32, 3 epochs (plain: 1), {torch.get_num_threads()} threads (fresh process "
          f"each; 'fit' = peak RSS minus RSS once the data exist; one m x n float32 array = {unit / 2**20:.0f} MiB)")
    held = [data_bytes(random_problem(m, 1000, certainty=c)) * n / 1000 / 2**30 for c in (False, True)]  # scales with n
    print(f"   the EnsembleData itself (float64) holds {held[0]:.2f} GiB with uniform C (R only: C is m numbers), "
          f"{held[1]:.2f} GiB with certainty C (R and C)")
    for case in cases:
        out = subprocess.run([sys.executable, __file__, "--memory-child", case, "--memory-n", str(n)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            print(f"{case:32s} FAILED: {out.stderr.strip().splitlines()[-1] if out.stderr.strip() else out.returncode}"); continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        extra = r["peak"] - r["base"]
        print(f"{case:30s} process peak {r['peak'] / 2**30:5.2f} GiB   fit {extra / 2**30:5.2f} GiB = {extra / unit:4.1f} m x n float32 arrays"
              f"   {r['epoch']:5.2f} s/epoch, {r['fit']:5.1f} s in all")


def gpu_report(reps, n=1_000_000):
    if not torch.cuda.is_available():
        print("== GPU: torch sees no CUDA device here; nothing to measure."); return
    dev = torch.device("cuda")
    m, d = 100, 32
    print(f"== GPU epoch on {torch.cuda.get_device_name()}, m={m}, n={n:,}, d={d}, median of {reps} interleaved repetitions")
    for label, certainty in (("uniform C", False), ("certainty C", True)):
        data = random_problem(m, n, certainty=certainty)
        fns, peaks = {}, {}
        fns["plain"] = PlainEpoch(data, d, dev)
        _, fns["cfens fp32"] = cfens_epoch(data, d, dev)
        _, fns["cfens bf16 storage"] = cfens_epoch(data, d, dev, storage_dtype=torch.bfloat16)
        t, _ = side_by_side(fns, dev, reps, warmup=3)
        for k, f in fns.items():
            torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats(); f(); torch.cuda.synchronize()
            peaks[k] = torch.cuda.max_memory_allocated()
        print(f"-- {label}")
        for k in fns:
            print(f"{k:22s} {t[k] * 1e3:8.2f} ms/epoch   peak GPU memory during an epoch {peaks[k] / 2**30:5.2f} GiB")
        del fns; torch.cuda.empty_cache()
    n_res = max(n // 5, 2000)
    print(f"== GPU: does bf16 storage of R and C change the results? (make_ensemble, m=100, n={n_res:,}, certainty C, "
          "5 random seeds)")
    for seed in range(5):
        data, y = make_ensemble(n_classifiers=100, n_points=n_res, positive_rate=0.2, random_state=seed)
        data = data.with_confidence(np.abs(data.R - 0.5))
        out = {}
        for label, storage in (("fp32", None), ("bf16", torch.bfloat16)):
            mdl = JointCF(random_state=seed, device="cuda", storage_dtype=storage).fit(data, show_progress=False)
            out[label] = (mdl.predict_proba(), mdl.n_epochs_)
        pr = {k: evaluate(v[0], y, data.unlabeled)["pr_auc"] for k, v in out.items()}
        print(f"seed {seed}: test PR-AUC fp32 {pr['fp32']:.4f} bf16 {pr['bf16']:.4f}   max |p_fp32 - p_bf16| "
              f"{np.abs(out['fp32'][0] - out['bf16'][0]).max():.2e}   epochs {out['fp32'][1]} / {out['bf16'][1]}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--gpu", action="store_true")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--n", type=int, default=100_000, help="points of the CPU epoch comparison")
    ap.add_argument("--memory-n", type=int, default=1_000_000, help="points of the memory report")
    ap.add_argument("--gpu-n", type=int, default=1_000_000, help="points of the GPU epoch comparison")
    ap.add_argument("--memory-child")
    args = ap.parse_args()
    if args.memory_child: memory_child(args.memory_child, args.memory_n); sys.exit()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores, load average {os.getloadavg()[0]:.1f}")
    if args.gpu: gpu_report(reps=20, n=args.gpu_n)
    else:
        cpu_comparison(reps=5 if args.quick else 15, n=args.n)
        if not args.quick: memory_report(list(MEMORY_CASES), n=args.memory_n)
