"""Reference predictions of the pre-refactor JointCF (commit af2fca4), for the test in nbs/09_joint.ipynb.

The refactor of `JointCF` into parts (nbs/09_joint.ipynb) must not change a single prediction. This script runs the
implementation as it was at commit af2fca4 — the whole `cfens` package of that commit, taken out of git into a
temporary folder and imported under another name, so that nothing of the working tree is used — on a fixed small
problem in configurations that cover its code paths, and stores the data, every predict_proba output (the fitted
columns and new columns folded in) and the loss traces in nbs/fixtures/joint_reference.npz. The notebook refits the new JointCF on the stored data with the same
configurations and compares.

    python bench/make_joint_reference.py          # from the repository root; needs git and the commit af2fca4
"""
import importlib, io, json, os, subprocess, sys, tarfile, tempfile
import numpy as np
import torch

COMMIT = "af2fca4"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "nbs", "fixtures", "joint_reference.npz")

# name -> JointCF arguments (besides random_state); dtype float64 unless "float32" is in the name.
CONFIGS = {
    "default float32": dict(),
    "default": dict(),
    "no validation split": dict(validation_fraction=0, epochs=30),
    "batch_size": dict(batch_size=128),
    "autograd": dict(gradients="autograd", validation_fraction=0, epochs=30),
    "inputs both": dict(inputs="both"),
    "factors 0": dict(factors=0, inputs="both"),
    "balanced + focal": dict(class_weight="balanced", focal_gamma=2.0),
    "certainty": dict(confidence="certainty", batch_size=200),
    "calibration": dict(confidence="calibration", validation_fraction=0, epochs=30),
    "label_aware": dict(confidence="label_aware", alpha=2.0),
    "sgd": dict(optimizer="sgd", lr=0.1, validation_fraction=0, epochs=60),
    "adamw": dict(optimizer="adamw", weight_decay=0.1, validation_fraction=0, epochs=30),
    "random start": dict(init="random", init_aggregator="average", validation_fraction=0, epochs=60),
    "zero aggregator, no penalty": dict(init_aggregator="zero", C=None, patience=None, epochs=40),
    "sum": dict(normalize="sum", lr=1e-3, epochs=40),
}


TERMS = ("recon", "sup", "penalty", "total", "val", "lr")             # history_ columns kept (not the time)


def old_package():
    "The cfens package of COMMIT, extracted from git into a temporary folder and imported as `cfens_old`."
    tmp = tempfile.mkdtemp(prefix="cfens_old_")
    tar = subprocess.run(["git", "-C", ROOT, "archive", COMMIT, "cfens"], check=True, capture_output=True).stdout
    tarfile.open(fileobj=io.BytesIO(tar)).extractall(tmp)
    os.rename(os.path.join(tmp, "cfens"), os.path.join(tmp, "cfens_old"))   # imports inside are relative
    sys.path.insert(0, tmp)
    return importlib.import_module("cfens_old.joint"), importlib.import_module("cfens_old.data")


def main():
    joint, data_mod = old_package()
    data, _ = data_mod.make_preset("balanced", random_state=0, n_points=600)
    new = data.unlabeled                                    # fold-in: the unlabeled columns, given as a bare array
    out = dict(R=data.R, labels=data.labels, configs=np.array(json.dumps(CONFIGS)), commit=np.array(COMMIT))
    for name, kw in CONFIGS.items():
        dtype = torch.float32 if "float32" in name else torch.float64
        mdl = joint.JointCF(random_state=0, dtype=dtype, **kw).fit(data, show_progress=False)
        out[f"{name}/fitted"] = mdl.predict_proba()
        out[f"{name}/new"] = mdl.predict_proba(data.R[:, new])
        out[f"{name}/history"] = np.array([[h.get(k, np.nan) for k in TERMS] for h in mdl.history_])
        print(f"{name:30s} {mdl.n_epochs_:4d} epochs, best {mdl.best_epoch_:3d}, mean p {out[f'{name}/fitted'].mean():.6f}")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    np.savez_compressed(OUT, **out)
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({os.path.getsize(OUT) / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
