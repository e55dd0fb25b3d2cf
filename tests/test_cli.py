"""The `cfens` command, run as a user runs it: in a subprocess, through the installed console script.

Each test runs `cfens ...` (the console script next to this Python; `python -m cfens.cli` where the script is not
installed) and checks its exit status and output. Bad input must give a non-zero status and exactly one line on
stderr, never a traceback.
"""
import json, os, re, shutil, subprocess, sys
from pathlib import Path
import numpy as np
import pytest
from cfens.prediction_sets import save_predictions
from cfens.methods import METHODS

SCRIPT = shutil.which("cfens", path=str(Path(sys.executable).parent))
COMMAND = [SCRIPT] if SCRIPT else [sys.executable, "-m", "cfens.cli"]
ENV = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}


def cfens(*args, cwd=None, env=ENV):
    return subprocess.run([*COMMAND, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=600)


def prediction_set(path, n_train=60, n_test=40, m=4, seed=0, **override):
    rng = np.random.default_rng(seed)
    y_tr, y_te = rng.integers(0, 2, n_train), rng.integers(0, 2, n_test)
    noise = lambda n: 0.25 * rng.normal(size=(m, n))
    arrays = dict(R_train=np.clip(0.5 + 0.25 * (2 * y_tr - 1) + noise(n_train), 0, 1), y_train=y_tr,
                  R_test=np.clip(0.5 + 0.25 * (2 * y_te - 1) + noise(n_test), 0, 1), y_test=y_te)
    arrays.update(override)
    with open(path, "wb") as f:                                     # the exact name, whatever its extension
        np.savez(f, **{k: v for k, v in arrays.items() if v is not None})
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
    for option in ("--quick", "--npz", "--suite", "--methods", "--seeds", "--json", "--plots"):
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
    written = json.loads(out.read_text())
    scores = written["datasets"]
    assert list(scores) == ["good", "other"]
    assert list(scores["good"]) == ["average", "stacking"]
    for per in scores.values():
        for method, s in per.items():
            assert set(s) == {"pr_auc", "pr_auc_sd", "roc_auc", "seconds"}
            assert 0 <= s["pr_auc"] <= 1 and 0 <= s["roc_auc"] <= 1 and s["seconds"] >= 0
            assert f"{s['pr_auc']:.3f} ± {s['pr_auc_sd']:.3f}" in row(proc.stdout, method)   # the PR-AUC table
    assert row(proc.stdout, "method").split() == ["method", "good", "other"]             # columns are datasets
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == ["good.png", "other.png"]
    assert "test PR-AUC" in proc.stdout and "test ROC-AUC" in proc.stdout and "*" in proc.stdout
    paired = written["paired"]["pr_auc"]
    assert list(paired["differences"]) == ["good", "other"] and len(paired["differences"]["good"]["average"]) == 2
    summary = paired["summary"]["all datasets"]["average"]
    diffs = [np.mean(paired["differences"][d]["average"]) for d in ("good", "other")]
    assert summary["mean"] == pytest.approx(np.mean(diffs), abs=1e-12)
    assert summary["wins"] + summary["ties"] + summary["losses"] == 2
    assert "minus stacking's, paired over datasets" in proc.stdout
    assert row(proc.stdout, "average", 4).split()[-1] == summary["verdict"] == "level"   # two datasets: level
    assert_fits_100_columns(proc.stdout)


def row(text, label, k=0):
    "The `k`-th line of `text` that starts with the row label `label`."
    return [line for line in text.splitlines() if line.startswith(label + " ")][k]


def assert_fits_100_columns(text):
    "Every line of `text` at most 100 characters."
    too_long = [line for line in text.splitlines() if len(line) > 100]
    assert not too_long, too_long


def test_quick_fits_100_columns():
    """`cfens bench --quick`, every method: each line at most 100 characters, every method a row, every dataset a
    column, and a verdict for each method paired with stacking."""
    proc = cfens("bench", "--quick", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert_fits_100_columns(proc.stdout)
    assert row(proc.stdout, "method").split() == ["method", "balanced", "imbalanced_10", "breast_cancer"]
    for method in METHODS: assert row(proc.stdout, method).count("±") == 3, method
    verdicts = [row(proc.stdout, method, 4).split()[-1] for method in METHODS if method != "stacking"]
    assert verdicts == ["level"] * (len(METHODS) - 1)             # three datasets: no test reaches p < 0.05


def test_scores_are_the_test_columns(tmp_path):
    """Methods see y_train only; the score is against y_test on the test columns."""
    from sklearn.metrics import average_precision_score
    path = tmp_path / "p.npz"
    arrays = prediction_set(path)
    proc = cfens("bench", "--npz", path, "--methods", "average", "--seeds", 1, "--json", tmp_path / "s.json",
                 "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    expected = average_precision_score(arrays["y_test"], arrays["R_test"].mean(0))
    scores = json.loads((tmp_path / "s.json").read_text())["datasets"]
    assert scores["p"]["average"]["pr_auc"] == pytest.approx(expected, abs=1e-12)


def test_all_methods_by_default(good, tmp_path):
    proc = cfens("bench", "--npz", good, "--seeds", 1, "--json", tmp_path / "s.json")
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads((tmp_path / "s.json").read_text())["datasets"]["good"]) == list(METHODS)


def test_quick_builtin_suite(tmp_path):
    proc = cfens("bench", "--quick", "--methods", "average,stacking", "--seeds", 1, "--json", tmp_path / "q.json")
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads((tmp_path / "q.json").read_text())["datasets"]) == ["balanced", "imbalanced_10",
                                                                               "breast_cancer"]
    assert "cfens bench" in proc.stderr                             # the progress bar


QUICK_METHODS = ("--methods", "average,stacking")                 # every CLI call below stays quick


def assert_one_line_error(proc, message):
    "Non-zero exit status, nothing on stdout, one line on stderr that contains `message`, no traceback."
    assert proc.returncode != 0
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert message in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def snapshot(directory):
    "Every file under `directory` and its bytes."
    return {p: p.read_bytes() for p in Path(directory).rglob("*") if p.is_file()}


@pytest.mark.parametrize("case", ["missing file", "not an npz", "arrays missing", "shapes disagree", "labels disagree",
                                  "outside [0, 1]", "labels not 0/1", "unknown method", "unknown option", "no command",
                                  "no suite there", "two suites"])
def test_bad_input_one_line(case, tmp_path, good):
    bad = tmp_path / "bad.npz"
    args, message = {
        "missing file":    (["--npz", tmp_path / "nope.npz"], "nope.npz: no such file"),
        "not an npz":      (["--npz", bad], "not an .npz archive"),
        "arrays missing":  (["--npz", bad], "missing array(s) R_test, y_test"),
        "shapes disagree": (["--npz", bad], "bad.npz: R_train has 4 classifiers (rows) but R_test has 3"),
        "labels disagree": (["--npz", bad], "y_test has shape (5,) but R_test has 40 columns"),
        "outside [0, 1]":  (["--npz", bad], "probabilities in [0, 1]"),
        "labels not 0/1":  (["--npz", bad], "y_train must be 0, 1 or NaN"),
        "unknown method":  (["--npz", good, "--methods", "stacking,magic"], "unknown method magic"),
        "unknown option":  (["--fast"], "unrecognized arguments: --fast"),
        "no suite there":  (["--suite", tmp_path / "nocache"], "build it first: python scripts/build_suite.py"),
        "two suites":      (["--suite", tmp_path, "--npz", good], "--npz and --suite each choose a suite"),
        "no command":      (None, "the following arguments are required: command"),
    }[case]
    if case == "not an npz": bad.write_text("not an archive")
    if case == "arrays missing": prediction_set(bad, R_test=None, y_test=None)
    if case == "shapes disagree": prediction_set(bad, R_test=np.full((3, 40), 0.5))
    if case == "labels disagree": prediction_set(bad, y_test=np.zeros(5))
    if case == "outside [0, 1]": prediction_set(bad, R_train=np.full((4, 60), 1.5))
    if case == "labels not 0/1": prediction_set(bad, y_train=np.arange(60) % 3)
    proc = cfens(*([] if args is None else ["bench", *args]))
    assert_one_line_error(proc, message)


@pytest.mark.parametrize("case", ["zero test columns", "single-class y_test", "empty arrays"])
def test_unscorable_prediction_set(case, tmp_path):
    """Prediction sets the loader could read but nothing could score: refused by the loader, one line, exit 1."""
    bad = tmp_path / "bad.npz"
    override = {
        "zero test columns":   dict(R_test=np.empty((4, 0)), y_test=np.empty(0)),
        "single-class y_test": dict(y_test=np.ones(40)),
        "empty arrays":        dict(R_train=np.empty((0, 0)), y_train=np.empty(0), R_test=np.empty((0, 0)),
                                    y_test=np.empty(0)),
    }[case]
    prediction_set(bad, **override)
    proc = cfens("bench", "--npz", bad, *QUICK_METHODS, "--seeds", 1, "--no-progress")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert_one_line_error(proc, "bad.npz")
    assert proc.stderr.startswith("cfens: error: ")


def test_no_label_set_runs_what_needs_none(tmp_path):
    """A set with no label (every y_train NaN) runs: stacking shows "needs labels", the label-free methods score."""
    bad = tmp_path / "no_label.npz"
    prediction_set(bad, y_train=np.full(60, np.nan))
    proc = cfens("bench", "--npz", bad, "--methods", "average,stacking,anchored", "--seeds", 1, "--no-progress")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    first = {line.split()[0]: line for line in reversed(proc.stdout.splitlines()) if line.split()}
    assert "needs labels" in first["stacking"] and "needs labels" not in first["average"] + first["anchored"]


@pytest.mark.parametrize("seeds", [0, 101, 1000000000])
def test_seeds_out_of_range(seeds, good):
    proc = cfens("bench", "--npz", good, *QUICK_METHODS, "--seeds", seeds)
    assert proc.returncode == 1
    assert_one_line_error(proc, f"--seeds must be from 1 to 100, got {seeds}")


def test_seeds_help_says_what_they_vary():
    help_text = " ".join(cfens("bench", "--help").stdout.split())
    assert "1 to 100" in help_text
    assert "with --npz or --suite the data is fixed and a seed only sets the methods' random_state" in help_text


def test_json_is_an_input_leaves_it_untouched(tmp_path, good):
    """`--json` naming an input (directly, spelt otherwise, through a link) is refused; the input keeps its bytes."""
    (tmp_path / "soft.npz").symlink_to(good)
    os.link(good, tmp_path / "hard.npz")
    before = snapshot(tmp_path)
    for alias in (good, tmp_path / "." / "good.npz", tmp_path / "soft.npz", tmp_path / "hard.npz"):
        proc = cfens("bench", "--npz", good, *QUICK_METHODS, "--json", alias)
        assert_one_line_error(proc, "would destroy that prediction set")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("case", ["json is a directory", "json under a file", "json directory missing",
                                  "plots is a file", "plots under a file", "json is plots", "plot over an input",
                                  "plot over the json file"])
def test_bad_outputs_refused_before_any_work(case, tmp_path, good):
    (tmp_path / "figs").mkdir()
    prediction_set(tmp_path / "figs" / "mine.png")                  # an input named like a plot
    args, message = {
        "json is a directory":     (["--npz", good, "--json", tmp_path], "is a directory"),
        "json under a file":       (["--npz", good, "--json", good / "s.json"], "is under a file"),
        "json directory missing":  (["--npz", good, "--json", tmp_path / "no" / "s.json"], "does not exist"),
        "plots is a file":         (["--npz", good, "--plots", good], "is the input"),
        "plots under a file":      (["--npz", good, "--plots", good / "figs"], "is under a file"),
        "json is plots":           (["--npz", good, "--json", tmp_path / "out", "--plots", tmp_path / "out"],
                                    "--json and --plots both name"),
        "plot over an input":      (["--npz", tmp_path / "figs" / "mine.png", "--plots", tmp_path / "figs"],
                                    "would overwrite the input"),
        "plot over the json file": (["--npz", good, "--json", tmp_path / "figs" / "good.png",
                                     "--plots", tmp_path / "figs"], "would overwrite the --json file"),
    }[case]
    before = snapshot(tmp_path)
    proc = cfens("bench", *args, *QUICK_METHODS, "--seeds", 1)
    assert proc.returncode == 1
    assert_one_line_error(proc, message)
    assert snapshot(tmp_path) == before                             # nothing written, nothing overwritten
    assert not (tmp_path / "out").exists()


def test_plots_is_a_file_that_is_not_an_input(tmp_path, good):
    other = tmp_path / "notes.txt"
    other.write_text("keep me")
    proc = cfens("bench", "--npz", good, *QUICK_METHODS, "--plots", other)
    assert_one_line_error(proc, "exists and is not a directory")
    assert other.read_text() == "keep me"


def test_json_in_a_read_only_directory(tmp_path, good):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as root: permissions do not stop writing (the missing-directory case still runs)")
        proc = cfens("bench", "--npz", good, *QUICK_METHODS, "--json", locked / "s.json")
        assert_one_line_error(proc, f"cannot create a file in {locked} (Permission denied)")
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs Linux's /proc")
@pytest.mark.parametrize("command, option, place", [("bench", "--json", "/proc/out.json"),
                                                    ("bench", "--plots", "/proc/figs"),
                                                    ("fit", "--out", "/proc/p.npy"),
                                                    ("fit", "--train-out", "/proc/t.npy")])
def test_output_where_no_file_can_be_created(command, option, place, tmp_path, good):
    """/proc passes `os.access` but takes no new file: refused before any work (nothing on stdout, no table), one
    line, exit status 1, nothing left behind."""
    before = snapshot(tmp_path)
    other = ["--out", tmp_path / "p.npy"] if option == "--train-out" else []
    proc = cfens(command, "--npz", good, *other, option, place, "--no-progress")
    assert proc.returncode == 1
    assert_one_line_error(proc, f"cfens: error: {option} {place}: cannot create a file in /proc (")
    assert re.fullmatch(r"cfens: error: .*\(.+\); choose a directory you can write to\.\n", proc.stderr)
    assert snapshot(tmp_path) == before and not (tmp_path / "p.npy").exists()


def test_suite_from_a_cache(tmp_path):
    """`--suite DIR` runs the prediction sets that DIR's suite.json lists; a `_150` set has unlabeled columns."""
    from cfens.prediction_sets import save_predictions as save_prediction_set
    cache = tmp_path / "cache"
    cache.mkdir()
    full = prediction_set(tmp_path / "scratch.npz")
    save_prediction_set(cache / "toy.npz", **full)
    save_prediction_set(cache / "toy_150.npz", full["R_train"][:, :30], full["y_train"][:30], full["R_test"],
                        full["y_test"], R_unlabeled=full["R_train"][:, 30:])
    (cache / "suite.json").write_text(json.dumps(dict(sets=["toy", "toy_150"])))
    proc = cfens("bench", "--suite", cache, *QUICK_METHODS, "--seeds", 1, "--json", tmp_path / "s.json",
                 "--no-progress")
    assert proc.returncode == 0, proc.stderr
    written = json.loads((tmp_path / "s.json").read_text())
    assert list(written["datasets"]) == ["toy", "toy_150"]
    assert list(written["paired"]["pr_auc"]["summary"]) == ["all sets", "all labels", "150 labels"]
    assert "150 labels (1)" in proc.stdout
    assert_fits_100_columns(proc.stdout)
    before = snapshot(cache)
    proc = cfens("bench", "--suite", cache, *QUICK_METHODS, "--json", cache / "suite.json")
    assert_one_line_error(proc, "would destroy that prediction set")
    assert snapshot(cache) == before


def torchrun(nprocs, *args):
    "`torchrun --nproc-per-node nprocs cfens *args` (one thread per process)."
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nprocs)]
    run = [SCRIPT] if SCRIPT else ["-m", "cfens.cli"]
    if not SCRIPT: launch += ["--module"]; run = ["cfens.cli"]
    env = {**ENV, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*launch, *run, *map(str, args)], capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.parametrize("method", ["joint"])
def test_fit_two_processes_equal_one(tmp_path, method):
    "The issue's command: `torchrun --nproc-per-node 2 cfens fit --npz FILE --method M --out OUT.npy` equals one process."
    path = tmp_path / "set.npz"
    prediction_set(path, n_train=400, n_test=300, m=6)
    one, two = tmp_path / "one.npy", tmp_path / "two.npy"
    proc = cfens("fit", "--npz", path, "--method", method, "--out", one, "--no-progress")
    assert proc.returncode == 0, proc.stderr
    proc = torchrun(2, "fit", "--npz", path, "--method", method, "--out", two, "--no-progress")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2 processes" in proc.stdout
    p1, p2 = np.load(one), np.load(two)
    assert p1.shape == p2.shape == (300,)
    assert np.abs(p1 - p2).max() < 1e-3      # float32 joint descent: 0.6e-4 to 1.6e-4 seen over three seeds of this set


def test_fit_two_processes_bad_input_one_line(tmp_path):
    "An inf in process 1's share: both processes stop, one line (from process 0) names the process that found it."
    directory = tmp_path / "set"; directory.mkdir()
    arrays = prediction_set(tmp_path / "set.npz", n_train=60, n_test=40)
    R_test = arrays["R_test"].copy(); R_test[0, -1] = np.inf
    for name, a in dict(R_train=arrays["R_train"], y_train=arrays["y_train"], R_test=R_test).items():
        np.save(directory / f"{name}.npy", a)
    proc = torchrun(2, "fit", "--dir", directory, "--method", "joint", "--out", tmp_path / "p.npy", "--no-progress")
    assert proc.returncode != 0
    errors = [line for line in proc.stderr.splitlines() if line.startswith("cfens: error")]
    assert errors == [f"cfens: error: {directory}: process 1 of 2: R_test contains inf at 1 cell(s); a base model's "
                      "prediction is a probability in [0, 1], or NaN where the model did not score the point."], \
        proc.stderr[-2000:]
    assert not (tmp_path / "p.npy").exists()


def test_two_positives_fit_with_one_warning_line(tmp_path):
    """Two labeled positives: too few for joint descent's and MM-ALS's validation split. They fit without one (as
    stacking fits), and the command says so once, in one line, not with a Python traceback of the warning."""
    path = tmp_path / "few.npz"
    y_train = np.zeros(60); y_train[:2] = 1
    prediction_set(path, y_train=y_train)
    env = {k: v for k, v in ENV.items() if k != "PYTHONWARNINGS"}       # the warnings shown, as a user sees them
    proc = cfens("bench", "--npz", path, "--methods", "stacking,joint,mm_als", "--seeds", 2, "--no-progress", env=env)
    assert proc.returncode == 0, proc.stderr
    for method in ("stacking", "joint", "mm_als"): assert row(proc.stdout, method).count("±") == 1
    assert proc.stderr.splitlines() == ["cfens: warning: class 1 has 2 labeled point(s): too few to hold out a "
                                        "validation fraction of 0.2 of them; label more points or set "
                                        "validation_fraction=0. Fitting without a validation split: early stopping "
                                        "watches the training loss."]



def test_one_positive_every_method_fits(tmp_path):
    """One labeled positive: a set stacking fits, so every method fits it — those that need a validation split or
    inner folds fall back, and each fallback is one warning line."""
    path = tmp_path / "one.npz"
    y_train = np.zeros(60); y_train[:1] = 1
    prediction_set(path, y_train=y_train)
    env = {k: v for k, v in ENV.items() if k != "PYTHONWARNINGS"}
    proc = cfens("bench", "--npz", path, "--seeds", 1, "--no-progress", env=env)
    assert proc.returncode == 0, proc.stderr
    for method in METHODS: assert row(proc.stdout, method).count("±") == 1, method
    warnings = proc.stderr.splitlines()
    assert all(line.startswith("cfens: warning: ") for line in warnings) and len(set(warnings)) == len(warnings)
    for words in ("Fitting without a validation split", "Spectral:", "Reliability:", "Auto: "):
        assert sum(words in line for line in warnings) == 1, (words, warnings)


def with_holes(path, share=0.25, seed=1, **sizes):
    "A prediction set whose models 1.. miss a `share` of their cells (NaN: not scored); model 0 scores every point."
    arrays = prediction_set(path, **sizes)
    rng = np.random.default_rng(seed)
    for part in ("R_train", "R_test"):
        holes = rng.uniform(size=arrays[part].shape) < share
        holes[0] = False
        arrays[part] = np.where(holes, np.nan, arrays[part])
    prediction_set(path, **sizes, **{p: arrays[p] for p in ("R_train", "R_test")})
    return arrays


def test_missing_predictions_fit_and_bench(tmp_path):
    "NaN cells: `cfens fit` without --method runs the missing-prediction default, one process and two; bench pairs."
    path = tmp_path / "gappy.npz"
    with_holes(path, n_train=300, n_test=200, m=6)
    one, two = tmp_path / "one.npy", tmp_path / "two.npy"
    proc = cfens("fit", "--npz", path, "--out", one, "--no-progress")
    assert proc.returncode == 0 and "(cf_fill)" in proc.stdout, proc.stderr
    proc = torchrun(2, "fit", "--npz", path, "--out", two, "--no-progress")
    assert proc.returncode == 0 and "two_stage, 2 processes" in proc.stdout, proc.stderr[-3000:]
    alone = tmp_path / "alone.npy"
    assert cfens("fit", "--npz", path, "--method", "two_stage", "--out", alone, "--no-progress").returncode == 0
    assert np.abs(np.load(two) - np.load(alone)).max() < 1e-6          # the mask splits with the columns
    assert np.isfinite(np.load(one)).all() and np.load(one).shape == (200,)
    proc = cfens("fit", "--npz", path, "--method", "stacking", "--out", tmp_path / "s.npy", "--no-progress")
    assert_one_line_error(proc, "Stacking needs a prediction from every base model")
    assert not (tmp_path / "s.npy").exists()
    proc = cfens("bench", "--npz", path, "--seeds", "1", "--no-progress")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "paired with" in proc.stdout and "the best practitioner baseline" in proc.stdout
    assert "cf_fill" in proc.stdout and "\nstacking " not in proc.stdout     # only methods that take missing cells
