"""Write README.md from nbs/index.ipynb (the landing page is the single source of both).

nbdev's own `nbdev_readme` needs Quarto; this does the same job in plain Python: markdown cells as they
are, visible code cells as fenced blocks with their text output, cells marked `#| hide` left out.
`python scripts/make_readme.py --check` exits non-zero when README.md is out of date (CI runs it).
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
    out = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o.get("name") == "stdout")
    out += "".join("".join(o.get("data", {}).get("text/plain", "")) for o in cell.get("outputs", [])
                   if o.get("output_type") == "execute_result")
    block = f"```python\n{code}\n```"
    return block + (f"\n\n```\n{out.rstrip()}\n```" if out.strip() else "")


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
