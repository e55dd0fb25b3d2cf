"""The `cfens` command, run as a user runs it: in a subprocess, through the installed console script.

Each test runs `cfens ...` (the console script next to this Python; `python -m cfens.cli` where the script is not
installed) and checks its exit status and output. Bad input must give a non-zero status and exactly one line on
stderr, never a traceback.
"""
import json, os, shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from cfens.data import save_predictions
from cfens.estimator import METHODS

SCRIPT = shutil.which("cfens", path=str(Path(sys.executable).parent))
COMMAND = [SCRIPT] if SCRIPT else [sys.executable, "-m", "cfens.cli"]
ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}


def cfens(*args, cwd=None):
    return subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True, env=ENV, cwd=cwd, timeout=600)


def prediction_set(path, n_train=60, n_test=40, m=4, seed=0, **override):
    rng = np.random.default_rng(seed)
    y_tr, y_te = rng.integers(0, 2, n_train), rng.integers(0, 2, n_test)
    arrays = dict(R_train=np.clip(0.5 + 0.25 * (2 * y_tr - 1) + 0.25 * rng.normal(size=(m, n_train)), 0, 1), y_train=y_tr,
                  R_test=np.clip(0.5 + 0.25 * (2 * y_te - 1) + 0.25 * rng.normal(size=(m, n_test)), 0, 1), y_test=y_te)
    arrays.update(override)
    np.savez(path, **{k: v for k, v in arrays.items() if v is not None})
    return arrays


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "good.npz"
    arrays = prediction_set(path)
    save_predictions(tmp_path / "good_checked.npz", **arrays)      # the library's writer accepts it too
    return path


def test_help():
    proc = cfens("bench", "--help")
    assert proc.returncode == 0
    for option in ("--quick", "--npz", "--methods", "--seeds", "--json", "--plots"):
        assert option in proc.stdout


def test_console_script_installed():
    if SCRIPT is None:
        pytest.skip("the `cfens` console script is not installed in this environment (`pip install -e .` installs it)")
    assert cfens("bench", "--help").returncode == 0


def test_npz_json_and_plots(tmp_path, good):
    other = tmp_path / "other.npz"
    prediction_set(other, seed=1)
    out = tmp_path / "scores.json"
    proc = cfens("bench", "--npz", good, other, "--methods", "average,stacking", "--seeds", 2,
                 "--json", out, "--plots", tmp_path / "figs")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    scores = json.loads(out.read_text())
    assert list(scores) == ["good", "other"]
    assert list(scores["good"]) == ["average", "stacking"]
    for per in scores.values():
        for s in per.values():
            assert set(s) == {"pr_auc", "pr_auc_sd", "roc_auc", "seconds"}
            assert 0 <= s["pr_auc"] <= 1 and 0 <= s["roc_auc"] <= 1 and s["seconds"] >= 0
            assert f"{s['pr_auc']:.3f} ± {s['pr_auc_sd']:.3f}" in proc.stdout
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["good.png", "other.png"]
    assert "test PR-AUC" in proc.stdout and "test ROC-AUC" in proc.stdout and "*" in proc.stdout


def test_scores_are_the_test_columns(tmp_path):
    """Methods see y_train only; the score is against y_test on the test columns."""
    from sklearn.metrics import average_precision_score
    path = tmp_path / "p.npz"
    arrays = prediction_set(path)
    proc = cfens("bench", "--npz", path, "--methods", "average", "--seeds", 1, "--json", tmp_path / "s.json", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    expected = average_precision_score(arrays["y_test"], arrays["R_test"].mean(0))
    assert json.loads((tmp_path / "s.json").read_text())["p"]["average"]["pr_auc"] == pytest.approx(expected, abs=1e-12)


def test_all_methods_by_default(good, tmp_path):
    proc = cfens("bench", "--npz", good, "--seeds", 1, "--json", tmp_path / "s.json")
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads((tmp_path / "s.json").read_text())["good"]) == list(METHODS)


def test_quick_builtin_suite(tmp_path):
    proc = cfens("bench", "--quick", "--methods", "average,stacking", "--seeds", 1, "--json", tmp_path / "q.json")
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads((tmp_path / "q.json").read_text())) == ["balanced", "imbalanced_10", "breast_cancer"]
    assert "cfens bench" in proc.stderr                             # the progress bar


@pytest.mark.parametrize("case", ["missing file", "not an npz", "arrays missing", "shapes disagree", "labels disagree",
                                  "outside [0, 1]", "labels not 0/1", "unknown method", "zero seeds",
                                  "json directory missing", "unknown option", "no command"])
def test_bad_input_one_line(case, tmp_path, good):
    bad = tmp_path / "bad.npz"
    args, message = {
        "missing file":           (["--npz", tmp_path / "nope.npz"], "nope.npz: no such file"),
        "not an npz":             (["--npz", bad], "not an .npz archive"),
        "arrays missing":         (["--npz", bad], "missing array(s) R_test, y_test"),
        "shapes disagree":        (["--npz", bad], "bad.npz: R_train has 4 classifiers (rows) but R_test has 3"),
        "labels disagree":        (["--npz", bad], "y_test has 5 labels but R_test has 40 columns"),
        "outside [0, 1]":         (["--npz", bad], "probabilities in [0, 1]"),
        "labels not 0/1":         (["--npz", bad], "must be 0, 1 or NaN"),
        "unknown method":         (["--npz", good, "--methods", "stacking,magic"], "unknown method magic"),
        "zero seeds":             (["--npz", good, "--seeds", 0], "--seeds must be at least 1"),
        "json directory missing": (["--npz", good, "--json", tmp_path / "no" / "s.json"], "does not exist"),
        "unknown option":         (["--fast"], "unrecognized arguments: --fast"),
        "no command":             (None, "the following arguments are required: command"),
    }[case]
    if case == "not an npz": bad.write_text("not an archive")
    if case == "arrays missing": prediction_set(bad, R_test=None, y_test=None)
    if case == "shapes disagree": prediction_set(bad, R_test=np.full((3, 40), 0.5))
    if case == "labels disagree": prediction_set(bad, y_test=np.zeros(5))
    if case == "outside [0, 1]": prediction_set(bad, R_train=np.full((4, 60), 1.5))
    if case == "labels not 0/1": prediction_set(bad, y_train=np.arange(60) % 3)
    proc = cfens(*([] if args is None else ["bench", *args]))
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
