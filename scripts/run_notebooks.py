"""Execute notebooks in place, so that the outputs kept in nbs/ are the ones the code gives now.

    python scripts/run_notebooks.py nbs/05_real.ipynb nbs/19_spectral.ipynb   # fast cells only
    python scripts/run_notebooks.py --flags slow nbs/19_spectral.ipynb        # slow cells too

A cell flagged `#| slow` or `#| cuda` is run only when its flag is named in `--flags`; otherwise it is left as it
is, with the outputs it had (so a slow cell's kept output says what the last full run printed). Each notebook runs in
a fresh Jupyter kernel from the notebook's folder, as nbdev's tests do; the first error stops that notebook, prints
the cell and the traceback, and leaves the file as it was. Afterwards run `nbdev_clean`.
"""
import argparse, re, sys, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

FLAG = re.compile(r"^#\|\s*(slow|cuda)\b", re.M)


class SelectiveClient(NotebookClient):
    "A NotebookClient that leaves the cells whose test flag is not asked for as they are."
    def __init__(self, nb, flags, **kw):
        super().__init__(nb, **kw)
        self.flags = set(flags)

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        found = FLAG.search(cell.source) if cell.cell_type == "code" else None
        if found and found.group(1) not in self.flags: return cell
        return await super().async_execute_cell(cell, cell_index, execution_count, store_history)


def run(path, flags, timeout):
    nb = nbformat.read(path, as_version=4)
    client = SelectiveClient(nb, flags, timeout=timeout, kernel_name="python3",
                             resources={"metadata": {"path": str(Path(path).parent)}})
    start = time.perf_counter()
    try: client.execute()
    except CellExecutionError as e:
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))                   # the kernel's colours
        cell, _, trace = text.partition("------------------\n\n")
        print(f"{path}: FAILED after {time.perf_counter() - start:.0f} s\n{cell[-1500:]}\n{trace[-2500:]}", file=sys.stderr)
        return False
    nbformat.write(nb, path)
    print(f"{path}: ran in {time.perf_counter() - start:.0f} s")
    return True


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+")
    parser.add_argument("--flags", default="", help="comma-separated test flags whose cells run too: slow, cuda")
    parser.add_argument("--timeout", type=int, default=7200, help="seconds a cell may take")
    args = parser.parse_args()
    flags = [f for f in args.flags.split(",") if f]
    ok = [run(p, flags, args.timeout) for p in args.notebooks]
    sys.exit(0 if all(ok) else 1)
