"""The documentation site, built offline (`scripts/build_docs.py`) and looked at in headless Chromium.

The site is built once (again only when a notebook, the library or the build is newer than `_docs/`), its
links are checked, then every page is loaded from a local web server in Chromium, driven over the DevTools
protocol on a pipe (no driver, no extra package), and checked: the maths is typeset by KaTeX and no raw TeX
is left, every figure is an image that loaded, the sidebar lists the notebooks in file order, and no cell
shows an nbdev directive or the content of a hidden cell.

The browser tests are skipped where Chromium is absent (`apt-get install chromium`; CI installs it).
`CFENS_DOCS_SCREENSHOTS=DIR pytest tests/test_docs.py` also saves a full-page PNG of every page in DIR.
"""
import functools, http.server, importlib.util, json, os, re, select, shutil, subprocess, sys, tempfile, threading, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "_docs"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
NBS = sorted(p for p in (ROOT / "nbs").glob("*.ipynb") if not p.name.startswith(("_", ".")))
SOURCES = [ROOT / "scripts" / "build_docs.py", ROOT / "settings.ini", ROOT / "package-lock.json", *(ROOT / "nbs").iterdir(),
           *(ROOT / "cfens").glob("*.py")]
pytestmark = pytest.mark.xdist_group("docs")   # one worker builds and browses the site (pytest -n 2 --dist loadgroup)
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (/usr/bin/chromium)")


def build_docs_module():
    spec = importlib.util.spec_from_file_location("build_docs", ROOT / "scripts" / "build_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def docs():
    "The built site: `_docs/`, rebuilt when anything it is made from is newer."
    index = DOCS / "index.html"
    newest = max(p.stat().st_mtime for p in SOURCES if p.exists())
    if not index.exists() or index.stat().st_mtime < newest:
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_docs.py")], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, f"the docs build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
    return DOCS


def proc_notebooks():
    "The processed notebooks (`_proc/`, what the site is rendered from), index first then file order, with their page names."
    out = []
    for nb in sorted((ROOT / "_proc").glob("*.ipynb"), key=lambda p: (p.stem != "index", p.name)):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        front = "".join(cells[0]["source"]) if cells and cells[0]["cell_type"] == "raw" else ""
        page = re.search(r"^output-file:\s*(\S+)", front, re.M)
        title = re.search(r"^title:\s*(.+)$", front, re.M)
        out.append(dict(nb=nb, cells=cells, page=page.group(1) if page else nb.with_suffix(".html").name,
                        title=title.group(1).strip().strip("'\"") if title else None))
    return out


def test_every_notebook_has_a_page_and_the_links_resolve(docs):
    pages = {p["nb"].name: p["page"] for p in proc_notebooks()}
    assert sorted(pages) == sorted(nb.name for nb in NBS), "every notebook of nbs/ is processed into _proc/"
    for nb, page in pages.items():
        assert (docs / page).is_file(), f"{nb} has no page {page}"
    assert pages["02_data.ipynb"] == "data.html", "pages carry the names Quarto gives them (nbdev's output-file)"
    problems = build_docs_module().check_links(docs, build_docs_module().site_url())
    assert not problems, "\n".join(problems)
    # nbdev's doc links (cfens/_modidx.py) land on a page of the site, and a top-level name on its own section
    # (methods and private names have no section unless a notebook calls show_doc on them, with Quarto too)
    ns = {}
    exec((ROOT / "cfens" / "_modidx.py").read_text(), ns)
    ids = {}
    for mod, syms in ns["d"]["syms"].items():
        for name, (link, _) in syms.items():
            page, _, anchor = link.partition("#")
            assert (docs / page).is_file(), f"_modidx.py links {name} to {page}, which the site does not have"
            short = name[len(mod) + 1:]
            if "." not in short and not short.startswith("_"):  # nbdev documents public top-level names
                ids.setdefault(page, build_docs_module().parse(docs / page).ids)
                assert anchor in ids[page], f"_modidx.py links {name} to {link}, but {page} has no id {anchor!r}"


def test_landing_page_shows_no_progress_bars(docs):
    "The quick start's output is its results only: no tqdm bar (fit(..., show_progress=False)), no warning."
    html = (docs / "index.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", html)
    assert not re.search(r"\d+%\|[^|]*\|\s*\d+/\d+|it/s\]|s/it\]", text), "index.html shows a progress bar's residue"
    assert "cell-output-stderr" not in html, "index.html shows output on stderr"


# ---------------------------------------------------------------- a small DevTools client over a pipe

class Chromium:
    "Headless Chromium driven over `--remote-debugging-pipe` (fd 3 in, fd 4 out, NUL-terminated JSON)."

    FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
             "--remote-debugging-pipe"]

    def __init__(self, exe):
        self.profile = tempfile.mkdtemp(prefix="cfens-chromium-")
        to_r, self.to_w = os.pipe()       # we write, Chromium reads on fd 3
        self.from_r, from_w = os.pipe()   # Chromium writes on fd 4, we read

        def fds():
            os.dup2(to_r, 3); os.dup2(from_w, 4)
        self.proc = subprocess.Popen([exe, *self.FLAGS, f"--user-data-dir={self.profile}", "about:blank"], preexec_fn=fds,
                                     close_fds=False, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r); os.close(from_w)
        self.buf, self.n, self.events = b"", 0, []

    def _read(self, timeout):
        while b"\0" not in self.buf:
            ready, _, _ = select.select([self.from_r], [], [], timeout)
            if not ready: raise TimeoutError("Chromium did not answer")
            chunk = os.read(self.from_r, 1 << 20)
            if not chunk: raise RuntimeError("Chromium closed the pipe (it crashed or could not start)")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, session=None, timeout=30, **params):
        "Call a DevTools method and return its result (events that arrive meanwhile are kept)."
        self.n += 1
        msg = {"id": self.n, "method": method, "params": params, **({"sessionId": session} if session else {})}
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        end = time.time() + timeout
        while True:
            m = self._read(max(0.1, end - time.time()))
            if m.get("id") == self.n:
                if "error" in m: raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method, session, timeout=30):
        end = time.time() + timeout
        while True:
            for i, m in enumerate(self.events):
                if m.get("method") == method and m.get("sessionId") == session:
                    return self.events.pop(i)
            self.events.append(self._read(max(0.1, end - time.time())))
            if time.time() > end: raise TimeoutError(f"no {method}")

    def close(self):
        try: self.send("Browser.close", timeout=5)
        except Exception: pass
        try: self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        os.close(self.to_w); os.close(self.from_r)
        shutil.rmtree(self.profile, ignore_errors=True)


# What each page reports once it has loaded, its fonts are ready and every image has settled.
PAGE_REPORT = r"""
(async () => {
  await document.fonts.ready;
  const imgs = [...document.querySelectorAll('img')];
  await Promise.all(imgs.map(i => i.complete ? 0 : new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); })));
  const skip = 'pre, code, script, style, template, noscript, .katex, .katex-display';
  const texts = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const n = walk.currentNode, el = n.parentElement;
    if (el && !el.closest(skip) && n.textContent.trim()) texts.push(n.textContent);
  }
  const prose = texts.join(' ');
  const raw = [...prose.matchAll(/\\\(|\\\)|\\\[|\\\]|\\[a-zA-Z]{2,}|\$\$|\$[^$\s][^$\n]{0,80}\$/g)].map(m => prose.slice(Math.max(0, m.index - 40), m.index + 40));
  const content = document.querySelector('main') || document.body;
  return JSON.stringify({
    title: document.title,
    katex: document.querySelectorAll('.katex').length,
    katexErrors: [...document.querySelectorAll('.katex-error')].map(e => e.textContent.slice(0, 80)),
    katexFonts: [...document.fonts].filter(f => f.family.includes('KaTeX') && f.status === 'loaded').length,
    rawMath: raw,
    images: imgs.map(i => ({src: i.getAttribute('src').slice(0, 40), w: i.naturalWidth, h: i.naturalHeight, inContent: content.contains(i)})),
    outputImages: content.querySelectorAll('.cell-output img').length,
    outputSvgs: content.querySelectorAll('.cell-output svg').length,
    sidebar: [...document.querySelectorAll('#quarto-sidebar a.sidebar-link')].map(a => ({href: a.getAttribute('href'), text: a.textContent.trim()})),
    directiveLines: document.body.innerText.split('\n').filter(l => l.trim().startsWith('#|')),
    codeLines: [...content.querySelectorAll('pre')].flatMap(p => p.innerText.split('\n')).map(l => l.trim()).filter(Boolean),
    height: document.documentElement.scrollHeight,
    column: (({left, right}) => ({left, right}))(content.getBoundingClientRect()),
    signatures: [...content.querySelectorAll('h3.anchored + .code-copy-outer-scaffold pre, h3.anchored + div.sourceCode pre')]
      .map(p => ({text: p.innerText.trim().slice(0, 60), hidden: p.scrollWidth > p.clientWidth + 1})),
    displays: [...content.querySelectorAll('.katex-display')].map(d => {
      const r = d.getBoundingClientRect(), tex = d.querySelector('annotation');
      return {tex: tex ? tex.textContent.trim().slice(0, 60) : '', left: r.left, right: r.right,
              overflows: d.scrollWidth > d.clientWidth + 1, overflowX: getComputedStyle(d).overflowX};
    }),
  });
})()
"""


@pytest.fixture(scope="module")
def browsed(docs):
    "Every page loaded in headless Chromium from a local server: page name -> its report. Screenshots when asked."
    handler = functools.partial(type("Quiet", (http.server.SimpleHTTPRequestHandler,), {"log_message": lambda *a: None}), directory=str(docs))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    shots = os.environ.get("CFENS_DOCS_SCREENSHOTS")
    if shots: Path(shots).mkdir(parents=True, exist_ok=True)
    browser = Chromium(CHROMIUM)
    reports = {}
    try:
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        browser.send("Page.enable", session)
        browser.send("Network.enable", session)
        browser.send("Emulation.setDeviceMetricsOverride", session, width=1280, height=900, deviceScaleFactor=1, mobile=False)
        for p in proc_notebooks():
            browser.events.clear()
            browser.send("Page.navigate", session, url=f"http://127.0.0.1:{server.server_port}/{p['page']}")
            browser.wait_event("Page.loadEventFired", session)
            r = browser.send("Runtime.evaluate", session, expression=PAGE_REPORT, awaitPromise=True, returnByValue=True)
            assert "exceptionDetails" not in r, r
            reports[p["page"]] = json.loads(r["result"]["value"])
            reports[p["page"]]["requests"] = [m["params"]["request"]["url"] for m in browser.events
                                              if m.get("method") == "Network.requestWillBeSent"]
            if shots:
                h = reports[p["page"]]["height"]
                png = browser.send("Page.captureScreenshot", session, timeout=60, format="png", captureBeyondViewport=True,
                                   clip=dict(x=0, y=0, width=1280, height=h, scale=1))["data"]
                import base64
                (Path(shots) / p["page"].replace(".html", ".png")).write_bytes(base64.b64decode(png))
    finally:
        browser.close()
        server.shutdown(); server.server_close()
    return reports


PAGES = ["index.html"] + [f"notebook {nb.stem}" for nb in NBS if nb.stem != "index"]


def expected(page_id):
    "The processed notebook behind a test id, found once `_proc/` exists."
    stem = "index" if page_id == "index.html" else page_id.split()[-1]
    return next(p for p in proc_notebooks() if p["nb"].stem == stem)


def image_outputs(cells):
    "How many pictures the processed notebook's visible outputs hold: (raster images, svg)."
    raster = svg = 0
    for c in cells:
        for o in c.get("outputs", []):
            data = o.get("data", {})
            if "text/html" in data: continue  # smalldocs, like Quarto, shows the HTML form first
            if "image/svg+xml" in data: svg += 1
            elif any(k in data for k in ("image/png", "image/jpeg", "image/gif")): raster += 1
    return raster, svg


@needs_chromium
@pytest.mark.parametrize("page_id", PAGES)
def test_page_in_chromium(browsed, page_id):
    p = expected(page_id)
    r = browsed[p["page"]]
    src = "".join("".join(c["source"]) for c in p["cells"] if c["cell_type"] == "markdown")
    # maths: typeset by the local KaTeX, nothing left raw, no KaTeX error
    if re.search(r"\$[^$\s]", src):
        assert r["katex"] > 0, f"{p['page']}: the notebook has maths but no KaTeX element was made"
    assert not r["katexErrors"], f"{p['page']}: KaTeX could not typeset {r['katexErrors']}"
    assert not r["rawMath"], f"{p['page']}: raw TeX left in the text: {r['rawMath'][:5]}"
    if r["katex"]:
        assert r["katexFonts"] > 0, f"{p['page']}: KaTeX's fonts did not load"
    # a display equation stays inside the text column; one wider than the column scrolls inside its own box
    col = r["column"]
    outside = [d for d in r["displays"] if d["left"] < col["left"] - 1 or d["right"] > col["right"] + 1]
    assert not outside, f"{p['page']}: display equations wider than the text column ({col}): {outside[:3]}"
    spilled = [d for d in r["displays"] if d["overflows"] and d["overflowX"] not in ("auto", "scroll")]
    assert not spilled, f"{p['page']}: display equations that run past their box instead of scrolling: {spilled[:3]}"
    # show_doc: each documented name shows its signature with the parameters' comments (docments), all of it
    # inside the column (wrapped, not cut at the edge)
    if any(c["cell_type"] == "code" and "show_doc(" in "".join(c["source"]) for c in p["cells"]):
        assert r["signatures"], f"{p['page']}: the notebook calls show_doc but the page shows no signature"
    cut = [s["text"] for s in r["signatures"] if s["hidden"]]
    assert not cut, f"{p['page']}: show_doc signatures wider than the column: {cut[:3]}"
    # offline: the page asked for nothing but the local server
    local = f"http://127.0.0.1:"
    away = [u for u in r["requests"] if not u.startswith((local, "data:", "about:"))]
    assert r["requests"] and not away, f"{p['page']}: requests to the network: {away[:5]}"
    # figures: every image loaded, and every picture output of the notebook is on the page
    broken = [i for i in r["images"] if i["w"] == 0]
    assert not broken, f"{p['page']}: images that did not load: {broken}"
    raster, svg = image_outputs(p["cells"])
    assert r["outputImages"] >= raster and r["outputSvgs"] >= svg, \
        f"{p['page']}: the notebook has {raster} images and {svg} svg outputs; the page shows {r['outputImages']} and {r['outputSvgs']}"
    # the sidebar: the landing page, then the notebooks in file order, with their titles
    order = proc_notebooks()
    assert [a["href"] for a in r["sidebar"]] == [o["page"] for o in order], f"{p['page']}: sidebar {r['sidebar']}"
    for a, o in zip(r["sidebar"], order):
        if o["title"] and "$" not in o["title"]:  # the title as Markdown renders it: `code` and *emphasis* lose their marks
            assert a["text"] == re.sub(r"[`*]", "", o["title"]), f"sidebar entry {a} should read {o['title']!r}"
    # no nbdev directive, no hidden cell
    assert not r["directiveLines"], f"{p['page']}: directives shown: {r['directiveLines'][:5]}"
    nb_src = ROOT / "nbs" / p["nb"].name
    cells = [c for c in json.loads(nb_src.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]
    hidden_re = re.compile(r"^#\|\s*(hide\b|include:\s*false)", re.M)
    hidden = {l.strip() for c in cells if hidden_re.search("".join(c["source"])) for l in "".join(c["source"]).splitlines()}
    shown = {l.strip() for c in cells if not hidden_re.search("".join(c["source"])) for l in "".join(c["source"]).splitlines()}
    leaked = [l for l in r["codeLines"] if l in hidden - shown and len(l) > 6 and not l.startswith("#")]
    assert not leaked, f"{p['page']}: hidden cells' code is shown: {leaked[:5]}"
