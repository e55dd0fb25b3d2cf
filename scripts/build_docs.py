"""Build the documentation site into `_docs/` without Quarto, and check its links.

    python scripts/build_docs.py          # build _docs/ (exit 1 with the reason when anything is wrong)
    python scripts/build_docs.py --check  # only re-check the links of an existing _docs/

`nbdev_docs` does two things: it prepares the notebooks (nbdev's own processing into `_proc/`: `show_doc`
output, hidden and exported cells removed, doc links, `sidebar.yml`, `nbdev.yml`), then runs Quarto on
`_proc/`. Quarto cannot be installed everywhere (not on CI), so this script runs nbdev's first half itself,
the same functions `nbdev_docs` calls, minus its "install Quarto" step, and renders `_proc/` with smalldocs,
a pure-Python reader of Quarto projects. Where smalldocs differs from Quarto, it is patched here:

- page names: smalldocs names a page after its source (`02_data.html`); Quarto obeys the `output-file`
  that nbdev writes into each processed notebook (`data.html`), and nbdev's doc links (`_modidx.py`) point
  there. Pages get Quarto's names.
- maths: smalldocs loads KaTeX from a CDN; the pages load the copy npm installed (`package.json`), which is
  copied into `_docs/site_libs/katex/`, so the maths renders without a network.
- doc links: nbdev writes links to the API as absolute URLs of the published site; a link to a page of this
  site becomes relative, so the offline site is browsable and the link check proves `_modidx` agrees with
  the page names and anchors.

`nbs/_quarto.yml` is untouched: `nbdev_docs` with real Quarto builds the same site where Quarto exists.
The link check: every local `href`/`src` in the built HTML names a file of `_docs/` (and an `id` in it for a
`#fragment` to another page); no page or stylesheet loads anything (script, stylesheet, image, font) from the
network (the theme's Google-fonts @import is dropped: the pages use the theme's fallback fonts).
"""
import argparse, os, posixpath, re, shutil, subprocess, sys, time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
KATEX_CDN = re.compile(r"https://cdn\.jsdelivr\.net/npm/katex@[^/\"']+/dist/")
CSS_NET_IMPORT = re.compile(r"""@import\s+url\(\s*["']?(?:https?:)?//[^)]*\)\s*;?""")
CSS_NET_URL = re.compile(r"""url\(\s*["']?((?:https?:)?//[^)"']*)""")
KATEX_FILES = ["katex.min.js", "katex.min.css", "contrib/auto-render.min.js", "fonts"]


class DocsError(Exception):
    "Something that makes the site wrong: the build stops and says what."


def say(msg): print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- 1. nbdev's preparation (what nbdev_docs runs before Quarto)

def notebooks(nbs: Path) -> list[Path]:
    "The notebooks nbdev renders: `*.ipynb` not starting with `_` or `.` (nbdev's nbglob)."
    from nbdev.doclinks import nbglob
    return sorted(Path(p) for p in nbglob(nbs, func=Path))


def mixed_import_cells(nb: Path) -> list[str]:
    """Cells that nbdev will run to render the docs but that do more than import.

    To render `show_doc`, nbdev's `exec_show_docs` runs, in a fresh kernel, the exported cells and every cell
    that imports something, and skips the others. A cell with an import *and* other code then runs without
    the variables of the cells it skipped (a NameError kills the docs build), or reruns an experiment at
    every docs build. nbdev warns ("Found cells containing imports and other code", see its FAQ); here it
    is an error, found before anything runs, for every notebook at once. Same rule as nbdev: its own code."""
    import warnings
    from nbdev.process import NBProcessor
    from nbdev.processors import _do_eval, add_show_docs
    proc = NBProcessor(nb, procs=[add_show_docs], process=True)  # directives parsed; has_docs_ set, as in the docs run
    if not getattr(proc.nb, "has_docs_", False): return []       # nbdev runs no cell of a notebook without API docs
    out = []
    for cell in proc.nb.cells:
        if cell.cell_type != "code": continue
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            try: _do_eval(cell)
            except SyntaxError: pass
        if any("imports and other code" in str(x.message) for x in w):
            first = next((l for l in cell.source.splitlines() if l.strip() and not l.startswith("#|")), "")
            out.append(f"{nb.relative_to(ROOT)}: the cell that starts {first.strip()[:70]!r}: move its imports into a cell of their own")
    return out


def prepare(nbs: Path, n_workers: int) -> Path:
    "Run nbdev's docs preparation into `_proc/` (nbdev.quarto._pre_docs without `_ensure_quarto`) and return `_proc`."
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.serve import proc_nbs
    import nbdev.doclinks
    problems = []
    for nb in notebooks(nbs):
        try: problems += mixed_import_cells(nb)
        except Exception as e: raise DocsError(f"{nb.relative_to(ROOT)} cannot be read as a notebook: {type(e).__name__}: {e}") from e
    if problems:
        raise DocsError("nbdev runs every cell that imports something to render the docs (nbdev FAQ: 'Found cells "
                        "containing imports and other code'); these cells mix imports with other code:\n  " + "\n  ".join(problems))
    cfg = get_config()
    refresh_quarto_yml()                      # nbs/nbdev.yml from settings.ini (and _quarto.yml if missing)
    nbdev.doclinks._build_modidx()            # cfens/_modidx.py: the doc links
    nbdev_sidebar.__wrapped__(path=nbs)       # nbs/sidebar.yml: every notebook, in file order
    cache = cfg.config_path / "_proc"
    shutil.rmtree(cache, ignore_errors=True)  # a deleted notebook must not linger in the site
    try:
        proc_nbs(nbs, n_workers=n_workers, force=True)
    except Exception as e:  # nbdev names the notebook and the cell; the chain holds the notebook's own error
        cause = e
        while cause.__cause__ is not None: cause = cause.__cause__
        raise DocsError(f"nbdev could not process the notebooks for the docs:\n{e}\n{type(cause).__name__}: {cause}") from e
    missing = [nb.name for nb in notebooks(nbs) if not (cache / nb.relative_to(nbs)).exists()]
    if missing: raise DocsError(f"nbdev produced no processed copy of {', '.join(missing)}")
    return cache


# ---------------------------------------------------------------- 2. render _proc/ with smalldocs, as Quarto would

def quarto_site(proc: Path, out: Path):
    "A smalldocs Site over `_proc/` that names pages as Quarto does (front matter `output-file`)."
    from smalldocs.config import load
    from smalldocs.site import Site

    class QuartoNamedSite(Site):
        def read(self, src):
            page = super().read(src)
            name = page.front.get("output-file")
            if name:
                page.out = src.parent / str(name)
            return page

        def find_page(self, target):  # a link may name the page's output (`data.html`) as well as its source
            found = super().find_page(target)
            return found or next((p for p in self.pages.values() if p.out == target), None)

    site = QuartoNamedSite(load(proc), quiet=True)
    site.out = out
    return site


def render(proc: Path, out: Path):
    "Render `_proc/` into `out`; return the site (its pages and warnings)."
    from smalldocs.config import BuildError, ConfigError
    site = quarto_site(proc, out)
    outs = {}
    try:
        n = site.build()
    except (BuildError, ConfigError) as e:  # a notebook smalldocs cannot read, a bad config: say which
        raise DocsError(f"smalldocs could not render {proc.relative_to(ROOT)}/: {e}") from e
    for page in site.pages.values():
        if page.out in outs: raise DocsError(f"{page.src} and {outs[page.out]} both render to {page.out}")
        outs[page.out] = page.src
    broken = [w for w in site.warnings if "broken link" in w]
    quiet = ("output-file is not read", "html-math-method is ignored")  # handled above; smalldocs typesets with KaTeX
    for w in site.warnings:  # the others are Quarto options for formats smalldocs does not make
        if w not in broken and not any(q in w for q in quiet): say(f"smalldocs: {w}")
    if broken: raise DocsError("broken links:\n  " + "\n  ".join(broken))
    say(f"rendered {n} page(s) from {proc.relative_to(ROOT)}/ into {out.relative_to(ROOT)}/")
    return site


# ---------------------------------------------------------------- 3. local KaTeX, doc links made relative

def katex_dist() -> Path:
    "KaTeX's dist/ from node_modules, installing the locked version with `npm ci` when it is missing."
    dist = ROOT / "node_modules" / "katex" / "dist"
    if not dist.is_dir():
        if not shutil.which("npm"):
            raise DocsError("KaTeX is not installed and npm is missing: install Node.js and npm, then run `npm ci` here")
        say("installing KaTeX with `npm ci` (package-lock.json)")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=ROOT, check=True)
    if not (dist / "katex.min.js").is_file():
        raise DocsError(f"{dist}/katex.min.js is missing: run `npm ci`")
    return dist


def offset(page: Path, out: Path) -> str:
    "The relative path from a page up to the site's root: '' or '../'..."
    return "../" * (len(page.relative_to(out).parts) - 1)


def postprocess(out: Path, site_url: str) -> None:
    "Point the pages at the local KaTeX, and links into this site (nbdev's doc links) at its local pages."
    dist = katex_dist()
    dest = out / "site_libs" / "katex"
    shutil.rmtree(dest, ignore_errors=True)                  # a site rendered over an earlier one: KaTeX copied anew
    for f in KATEX_FILES:
        (dest / f).parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if (dist / f).is_dir() else shutil.copy)(dist / f, dest / f)
    shutil.copy(dist.parent / "LICENSE", dest / "LICENSE")
    for css in (out / "site_libs").rglob("*.css"):  # the Bootswatch theme @imports its web font from Google: use the fallback fonts
        text = css.read_text(encoding="utf-8")
        new = CSS_NET_IMPORT.sub("", text)
        if new != text: css.write_text(new, encoding="utf-8")
    base = site_url.rstrip("/") + "/"
    ids, unanchored = {}, set()
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        up = offset(page, out)
        new = KATEX_CDN.sub(lambda m: f"{up}site_libs/katex/", text)

        def local(m):  # href="https://cfens.github.io/cfens/data.html#x" -> href="data.html#x" when the page is ours
            url = m.group(2)
            parts = urlsplit(url)
            path = parts.path[len(urlsplit(base).path):] or "index.html"
            target = out / unquote(path)
            if not target.is_file():
                return m.group(0)  # left absolute: the link check reports it
            rel = posixpath.relpath(path, posixpath.dirname(page.relative_to(out).as_posix()) or ".")
            frag = unquote(parts.fragment)
            if frag and frag not in ids.setdefault(target, parse(target).ids):
                # nbdev links every backticked name of _modidx; a private name or a method that no `show_doc`
                # documents has no section (with Quarto neither): link its page, as a browser would
                unanchored.add(f"{path}#{frag}")
                return f'{m.group(1)}"{rel}"'
            return f'{m.group(1)}"{rel}{"#" + parts.fragment if parts.fragment else ""}"'
        new = re.sub(r'(href=)"(' + re.escape(base) + r'[^"]*)"', local, new)
        new = toc_maths(new)
        if new != text: page.write_text(new, encoding="utf-8")
    if unanchored:
        say(f"doc links to names without a section of their own now link their page: {', '.join(sorted(unanchored))}")


def toc_maths(html: str) -> str:
    "smalldocs writes a heading's TeX raw into the table of contents (`\\hat R`); give the entry the heading's maths, as Quarto does."
    heads = {m.group(2): m.group(3) for m in re.finditer(r'<h([1-6])\b[^>]*\bdata-anchor-id="([^"]+)"[^>]*>(.*?)</h\1>', html, re.S)}
    toc = re.search(r'<nav id="TOC".*?</nav>', html, re.S)
    if not toc: return html

    def entry(m):
        inner = heads.get(m.group(2), "")
        return m.group(1) + inner + "</a>" if 'class="math' in inner else m.group(0)
    fixed = re.sub(r'(<a href="#([^"]+)"[^>]*class="nav-link"[^>]*>)(.*?)</a>', entry, toc.group(0), flags=re.S)
    return html[:toc.start()] + fixed + html[toc.end():]


# ---------------------------------------------------------------- 4. the link check

class Refs(HTMLParser):
    "Collect a page's ids, and every URL it links to or loads."
    LOADS = {("script", "src"), ("img", "src"), ("link", "href"), ("iframe", "src"), ("source", "src"),
             ("video", "src"), ("audio", "src"), ("embed", "src"), ("object", "data"), ("input", "src")}

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.loads = set(), [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get("id"): self.ids.add(a["id"])
        if tag == "a" and a.get("name"): self.ids.add(a["name"])
        for key in ("href", "src", "data", "poster"):
            v = a.get(key)
            if not v: continue
            if (tag, key) in self.LOADS and not (tag == "link" and a.get("rel") in ("canonical", "alternate")):
                self.loads.append(v)
            else:
                self.links.append(v)


def parse(page: Path) -> Refs:
    r = Refs()
    r.feed(page.read_text(encoding="utf-8"))
    return r


def check_links(out: Path, site_url: str = "") -> list[str]:
    "Every local href/src resolves to a file of `out` (and a `#fragment` to an id there); nothing loads from the network."
    problems, parsed = [], {}
    pages = sorted(out.rglob("*.html"))
    if not pages: return [f"{out} holds no page"]
    for page in pages:
        parsed[page] = parse(page)
    for css in sorted(out.rglob("*.css")):
        for url in CSS_NET_URL.findall(css.read_text(encoding="utf-8")):
            problems.append(f"{css.relative_to(out).as_posix()}: loads {url} from the network")
    for page, refs in parsed.items():
        name = page.relative_to(out).as_posix()
        for url in refs.loads:
            if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", url) and not url.startswith("data:"):
                problems.append(f"{name}: loads {url} from the network")
        for url in refs.links + refs.loads:
            if url.startswith(("data:", "mailto:", "javascript:")) or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^//", url):
                if site_url and url.startswith(site_url.rstrip("/") + "/"):
                    problems.append(f"{name}: {url} names a page this site does not have")
                continue
            parts = urlsplit(url)
            path = unquote(parts.path)
            target = page if not path else (page.parent / path)
            target = Path(os.path.normpath(target))
            if target.is_dir(): target = target / "index.html"
            if out.resolve() not in target.resolve().parents and target.resolve() != out.resolve():
                problems.append(f"{name}: {url} points outside the site"); continue
            if not target.is_file():
                problems.append(f"{name}: {url} does not exist"); continue
            frag = unquote(parts.fragment)
            if frag and path and target.suffix == ".html":  # a fragment into another page: the id must be there
                ids = (parsed.get(target) or parse(target)).ids
                if frag not in ids:
                    problems.append(f"{name}: {url}: {target.name} has no id {frag!r}")
    return problems


# ---------------------------------------------------------------- the command

def site_url() -> str:
    from nbdev.config import get_config
    cfg = get_config()
    return f"{cfg.doc_host}{cfg.doc_baseurl}"


def build(n_workers: int = 2) -> Path:
    "The whole build: nbdev's preparation, smalldocs, local KaTeX, the link check. Returns `_docs/`."
    from nbdev.config import get_config
    cfg = get_config()
    out = cfg.doc_path
    t0 = time.time()
    proc = prepare(cfg.nbs_path, n_workers)
    say(f"nbdev prepared {len(notebooks(cfg.nbs_path))} notebook(s) in _proc/ ({time.time() - t0:.1f}s)")
    if out.exists() and not (out / "site_libs").is_dir() and any(out.iterdir()):
        raise DocsError(f"{out} is not a built site; remove it and build again")
    site = render(proc, out)
    rendered = {p.src.name for p in site.pages.values()}
    lost = [nb.name for nb in notebooks(cfg.nbs_path) if nb.name not in rendered]
    if lost: raise DocsError(f"no page was rendered for {', '.join(lost)}")
    postprocess(out, site_url())
    problems = check_links(out, site_url())
    if problems: raise DocsError("the link check failed:\n  " + "\n  ".join(problems))
    say(f"link check passed: {len(list(out.rglob('*.html')))} page(s) in {out.relative_to(ROOT)}/ ({time.time() - t0:.1f}s in all)")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="only check the links of the existing _docs/")
    p.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1), help="processes for nbdev's notebook processing")
    args = p.parse_args(argv)
    os.chdir(ROOT)  # nbdev finds settings.ini from the working directory
    try:
        if args.check:
            problems = check_links(ROOT / "_docs", site_url())
            if problems: raise DocsError("the link check failed:\n  " + "\n  ".join(problems))
            say("link check passed")
        else:
            build(args.workers)
    except DocsError as e:
        say(f"build_docs: FAILED: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
