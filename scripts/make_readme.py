"""Write README.md from nbs/index.ipynb (the landing page is the single source of both).

nbdev's own `nbdev_readme` needs Quarto; this does the same job in plain Python: markdown cells as they
are, visible code cells as fenced blocks with their text output (only the output for `#| echo: false`), cells
marked `#| hide` left out.
`python scripts/make_readme.py --check` exits non-zero when README.md is out of date (CI runs it).
A visible cell with output on stderr (a progress bar's residue, a warning) is refused: the landing page and the
README show only what the quick start prints (pass `show_progress=False` to `fit`).
"""
import json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = "<!-- Generated from nbs/index.ipynb by scripts/make_readme.py: edit the notebook, not this file. -->\n\n"


def cell_markdown(cell):
    src = "".join(cell["source"])
    if cell["cell_type"] == "markdown":
        return src.strip()
    lines = src.splitlines()
    directives = [l for l in lines if l.startswith("#|")]
    if any(re.match(r"#\|\s*(hide|exporti?|default_exp)", l) for l in directives):
        return None
    code = "\n".join(l for l in lines if not l.startswith("#|")).strip()
    noise = [o for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    if noise:
        text = "".join("".join(o.get("text", "")) for o in noise).replace("\r", "\n").strip().splitlines()
        last = text[-1][:80] if text else ""
        sys.exit(f"nbs/index.ipynb: the cell {code.splitlines()[0]!r} writes to stderr ({last!r}): "
                 "a visible cell of the landing page must print only its result (fit(..., show_progress=False)); "
                 "fix the cell and run the notebook again.")
    out = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stdout")
    out += "".join("".join(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", [])
                   if o.get("output_type") == "execute_result")
    output = f"```\n{out.rstrip()}\n```" if out.strip() else ""
    if any(re.match(r"#\|\s*echo:\s*false", l) for l in directives):  # Quarto's echo: false shows the output only
        return output or None
    block = f"```python\n{code}\n```"
    return block + (f"\n\n{output}" if output else "")


def render():
    nb = json.loads((ROOT / "nbs" / "index.ipynb").read_text())
    parts = [p for p in (cell_markdown(c) for c in nb["cells"]) if p]
    return HEADER + "\n\n".join(parts) + "\n"


if __name__ == "__main__":
    text, readme = render(), ROOT / "README.md"
    if "--check" in sys.argv:
        if not readme.exists() or readme.read_text() != text:
            sys.exit("README.md is out of date with nbs/index.ipynb: run `python scripts/make_readme.py` and commit.")
        print("README.md is current")
    else:
        readme.write_text(text)
