"""Build the documentation site from the notebooks, with or without Quarto, and check it in a real browser.

    python tools/docsite.py                 # run every notebook, render _docs/ (nbdev-docs where Quarto exists)
    python tools/docsite.py --check         # ... then open every page in headless Chromium
    python tools/docsite.py --readme        # regenerate README.md from nbs/index.ipynb
    python -m http.server -d _docs 8000  # serve it: http://127.0.0.1:8000/

The site is the notebooks: each is run top to bottom in a fresh kernel (tools/nbrun.py, the same runner as the
tests, with progress bars off), nbdev's processors add API docs after each exported definition and drop exported
and hidden cells, and nbconvert renders pages with a sidebar. Widgets keep their state and are drawn by the
Jupyter widgets HTML manager served from the site itself, so a page never loads anything from outside.

If any notebook fails, nothing is published: the build stops with a non-zero exit and names the notebook, the
cell and the error. This is a development tool (`pip install -e ".[dev]"`), not part of the runtime package."""
from __future__ import annotations
import argparse, contextlib, functools, html, http.server, importlib, json, os, re, shutil, subprocess, sys, tarfile
import tempfile, threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urldefrag, urljoin, urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nbrun

ROOT = nbrun.ROOT
TEMPLATE = Path(__file__).resolve().parent/"docs_template"
WIDGETS_VERSION = "1.0.15"   # @jupyter-widgets/html-manager for ipywidgets 8

class SiteError(Exception):
    "The site cannot be built; the message says why and what to do."

# --- which notebooks, which pages -------------------------------------------------------------------------------

def doc_notebooks(nbs: Path) -> list[Path]:
    "The notebooks that make the site: the home page, then the rest in path order (numbered folders and files first)."
    nbs = Path(nbs)
    nbl = [p for p in nbs.rglob("*.ipynb") if not any(part.startswith(("_", ".")) for part in p.relative_to(nbs).parts)]
    key = lambda p: (p.name != "index.ipynb", not p.relative_to(nbs).parts[0][0].isdigit(), p.relative_to(nbs).parts)
    nbl, seen = sorted(nbl, key=key), {}
    for p in nbl:                                      # the fallback site is one flat folder: a page name must be unique
        if (other := seen.setdefault(page_name(p), p)) is not p:
            raise SystemExit(f"docs: {other.relative_to(nbs)} and {p.relative_to(nbs)} would both become {page_name(p)}; rename one")
    return nbl

def page_name(nb: Path) -> str:
    "The HTML file a notebook becomes: nbdev's naming (numeric prefix dropped), one flat folder."
    name = Path(nb).name
    return "index.html" if name == "index.ipynb" else re.sub(r"^\d+[a-z]?_", "", Path(name).stem) + ".html"

def lib_module(nb: dict, lib: str) -> str | None:
    "The module a notebook exports to (`#| default_exp name` -> `lib.name`)."
    src = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    m = re.search(r"^#\|\s*default_exp\s+(\S+)", src, flags=re.M)
    return f"{lib}.{m.group(1)}" if m else None

# --- API docs ---------------------------------------------------------------------------------------------------

def _show_doc_markdown(module: str | None, name: str) -> str:
    "nbdev's `show_doc` of the exported object `module.name`, or its signature and docstring if nbdev cannot render it."
    import inspect
    from nbdev.showdoc import show_doc
    obj = importlib.import_module(module) if module else None
    for part in name.split("."): obj = getattr(obj, part)
    try: return show_doc(obj)._repr_markdown_()
    except Exception:
        try: sig = str(inspect.signature(obj))
        except (TypeError, ValueError): sig = ""
        return f"---\n\n### {name}\n\n```python\n{name}{sig}\n```\n\n*{inspect.getdoc(obj) or ''}*"

def add_api_docs(d: dict, lib: str) -> dict:
    "After each exported definition, a cell holding its API docs (rendered here, from the installed package)."
    from fastcore.nbio import dict2nb, nb2dict
    from nbdev.process import NBProcessor
    from nbdev.processors import add_show_docs
    module = lib_module(d, lib)
    nb = dict2nb(json.loads(json.dumps(d)))
    NBProcessor(nb=nb, procs=[add_show_docs], rm_directives=False, process=True)
    for c in nb.cells:
        if getattr(c, "has_sd", False):
            name = c.source[len("show_doc("):-1]
            c.outputs = [{"output_type": "display_data", "metadata": {},
                          "data": {"text/markdown": _show_doc_markdown(module, name), "text/plain": name}}]
            c.execution_count = None
    out = nb2dict(nb)
    for c in out["cells"]: c.pop("idx_", None)
    return out

# --- rendering --------------------------------------------------------------------------------------------------

_RENDER_PROCS = ("populate_language", "add_links", "strip_ansi", "hide_line", "filter_stream_", "rm_header_dash",
                 "clean_show_doc", "rm_export", "clean_magics", "hide_", "strip_hidden_metadata")
_NB_KEYS = {"cell_type", "source", "metadata", "outputs", "execution_count", "id", "attachments"}
_QUARTO_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)\{[^}]*\}")

def _title_summary(cells) -> tuple[str, str, list]:
    "Take the `# Title` and `> summary` of the first markdown cell out of the cells."
    if cells and cells[0]["cell_type"] == "markdown":
        src = "".join(cells[0]["source"]).strip()
        m = re.match(r"#\s+(.+?)\s*(?:\n|$)(?:\s*>\s*(.+?)\s*(?:\n\n|$))?", src, flags=re.S)
        if m:
            rest = src[m.end():].strip()
            body = [{**cells[0], "source": rest}] if rest else []
            return m.group(1), (m.group(2) or "").replace("\n> ", " "), body + cells[1:]
    return "", "", cells

def _plain_markdown(md: str) -> str:
    "Quarto-only markdown in API docs as plain HTML: `[source](url){target=...}` becomes a right-aligned link."
    return _QUARTO_LINK.sub(lambda m: f'<a class="ts-source" href="{re.sub(r"#LNone$", "", m.group(2))}">{m.group(1)}</a>', md)

_BAR = re.compile(r"\d+%\|")

def _is_progress(o: dict) -> bool:
    "A progress bar's output: tqdm's text bars on stderr, or its widget (whose plain-text form is the same bar)."
    if o.get("output_type") == "stream" and o.get("name") == "stderr": return bool(_BAR.search("".join(o.get("text", ""))))
    data = o.get("data", {})
    return "application/vnd.jupyter.widget-view+json" in data and bool(_BAR.search("".join(data.get("text/plain", ""))))

def prepare_notebook(d: dict):
    "Run nbdev's doc processors and Quarto cell options over an executed notebook; return (nbformat node, title, summary)."
    import nbformat
    import nbdev.processors as P
    from fastcore.nbio import dict2nb, nb2dict
    from nbdev.process import NBProcessor
    nb = dict2nb(json.loads(json.dumps(d)))
    NBProcessor(nb=nb, procs=[getattr(P, n) for n in _RENDER_PROCS], rm_directives="quarto", process=True)
    cells = []
    for cell, c in zip(nb.cells, nb2dict(nb)["cells"]):
        dirs = {k: " ".join(v) if isinstance(v, list) else str(v) for k, v in (getattr(cell, "directives_", None) or {}).items()}
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        dirs.update(re.findall(r"^#\|\s*([\w-]+)\s*:\s*(\S+)\s*$", src, flags=re.M))   # added by processors (clean_show_doc)
        c = {k: v for k, v in c.items() if k in _NB_KEYS}
        c["outputs"] = [o for o in c.get("outputs", []) if not _is_progress(o)] if "outputs" in c else c.get("outputs")
        if c.get("outputs") is None: c.pop("outputs", None)
        for o in c.get("outputs", []):
            if isinstance(md := o.get("data", {}).get("text/markdown"), (str, list)):
                o["data"]["text/markdown"] = _plain_markdown("".join(md) if isinstance(md, list) else md)
        c.setdefault("metadata", {}).pop("execution", None)
        if c["cell_type"] == "code":
            if dirs.get("include") == "false": continue
            c["source"] = re.sub(r"^#\|.*(?:\n|$)", "", src, flags=re.M)
            if dirs.get("output") == "false": c["outputs"] = []
            if dirs.get("echo") == "false" or not c["source"].strip():
                c["metadata"].setdefault("tags", []).append("remove_input")
            if not c["source"].strip() and not c.get("outputs"): continue
        cells.append(c)
    title, summary, cells = _title_summary(cells)
    meta = {k: v for k, v in d.get("metadata", {}).items() if k in ("widgets", "kernelspec", "language_info")}
    node = nbformat.reads(json.dumps({"cells": cells, "metadata": meta, "nbformat": 4, "nbformat_minor": 5}), as_version=4)
    return node, title, summary

def widgets_js_dir(fetch: bool = True) -> Path | None:
    """The Jupyter widgets HTML manager (`embed.js` and its fonts), from `$TINYSTORIES_WIDGETS_JS`, the user cache,
    or fetched once from the npm registry with `npm pack`; None if unavailable (widgets then show as text)."""
    if env := os.environ.get("TINYSTORIES_WIDGETS_JS"):
        p = Path(env)
        if (p/"embed.js").exists(): return p
        raise SiteError(f"TINYSTORIES_WIDGETS_JS={env} has no embed.js (point it at html-manager's dist/ folder)")
    from tinystories_nb.core import cache_dir
    cache = cache_dir(f"html-manager-{WIDGETS_VERSION}")
    if (cache/"dist"/"embed.js").exists(): return cache/"dist"
    npm = shutil.which("npm")
    if not fetch or not npm: return None
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([npm, "pack", f"@jupyter-widgets/html-manager@{WIDGETS_VERSION}", "--silent"], cwd=tmp,
                           capture_output=True, text=True, timeout=300)
        tgz = list(Path(tmp).glob("*.tgz"))
        if r.returncode != 0 or not tgz:
            print(f"warning: could not fetch the widgets HTML manager with npm: {(r.stderr or '').strip()[:200]}", file=sys.stderr)
            return None
        with tarfile.open(tgz[0]) as tf: tf.extractall(tmp, filter="data")
        shutil.rmtree(cache/"dist", ignore_errors=True)
        shutil.copytree(Path(tmp)/"package"/"dist", cache/"dist", ignore=shutil.ignore_patterns("*.map", "*amd*"))
    return cache/"dist"

def section(nb: Path, nbs: Path) -> str:
    "The sidebar section of a notebook: its folder under nbs/ without the number (`02_model` -> `model`), '' at the top."
    parts = Path(nb).relative_to(nbs).parts
    return re.sub(r"^\d+[a-z]?_", "", parts[0]) if len(parts) > 1 else ""

def _nav_html(pages: list[tuple[str, str, str]], current: str, brand: str) -> str:
    "The sidebar: the home page, then the top-level pages, then one section per subpackage; the current page highlighted."
    active = ' class="active"'
    li = lambda href, t: f'<li><a href="{html.escape(href)}"{active if href == current else ""}>{html.escape(t)}</a></li>'
    out, sections = [f'<a class="ts-brand" href="index.html">{html.escape(brand)}</a>'], {}
    for href, t, sec in pages[1:]: sections.setdefault(sec, []).append(li(href, t))
    for sec, items in sorted(sections.items(), key=lambda kv: kv[0] != ""):
        out.append(f'<div class="ts-section">{html.escape(sec or "Start here")}</div><ul>{"".join(items)}</ul>')
    return "".join(out)

def _fix_links(body: str, nb_to_page: dict, doc_url: str) -> str:
    "Point links to notebooks and to the hosted docs at the local pages."
    def sub(m):
        url = m.group(2)
        if doc_url and url.startswith(doc_url): url = url[len(doc_url):].lstrip("/")
        url = re.sub(r"\.html\.md(?=$|#)", ".html", url)
        path, frag = urldefrag(url)
        if path.endswith(".ipynb") and not urlparse(path).scheme:
            path = nb_to_page.get(Path(unquote(path)).name, path)
        elif path.endswith(".html") and not urlparse(path).scheme and "/" in path:
            path = Path(path).name                                         # the site is one flat folder
        return f'{m.group(1)}"{path}{"#" + frag if frag else ""}"'
    return re.sub(r'(href=)"([^"]*)"', sub, body)

def _links(page_html: str) -> list[str]:
    return re.findall(r'<(?:a|link)\s[^>]*href="([^"]*)"', page_html) + re.findall(r'<(?:script|img)\s[^>]*src="([^"]*)"', page_html)

def _ids(page_html: str) -> set:
    return set(re.findall(r'\sid="([^"]+)"', page_html)) | set(re.findall(r'\sname="([^"]+)"', page_html))

def _lowercase_anchors(body: str) -> str:
    "nbdev links API names to lower-case anchors (`#story`); give each heading with another id that one too."
    ids = set(re.findall(r'\sid="([^"]+)"', body))
    def sub(m):
        low = m.group(2).lower()
        if low in ids: return m.group(0)
        ids.add(low)
        return f'<span id="{low}"></span>' + m.group(0)
    return re.sub(r'<h([1-6])[^>]*\sid="([^"]+)"', sub, body)

def render_page(node, title: str, summary: str, nav: str, nb_to_page: dict, doc_url: str = "",
                widgets_js: str | None = None, footer: str = "") -> str:
    "One HTML page from a prepared notebook, with the site's sidebar and styles."
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor
    ex = HTMLExporter(extra_template_basedirs=[str(TEMPLATE)], template_name="tsdocs",
                      exclude_input_prompt=True, exclude_output_prompt=True)
    ex.register_preprocessor(TagRemovePreprocessor(remove_input_tags={"remove_input"}, remove_cell_tags={"remove_cell"},
                                                   enabled=True), enabled=True)
    res = {"metadata": {"name": title or "tinystories_nb"}, "nav_html": nav, "page_title": title, "page_summary": summary,
           "widgets_js": widgets_js, "site_css": "static/site.css", "footer_html": footer}
    body, _ = ex.from_notebook_node(node, resources=res)
    return _lowercase_anchors(_fix_links(body, nb_to_page, doc_url))

def _drop_dangling_anchors(out: Path):
    "nbdev links every backticked API name; where a name has no heading of its own (a method, a private helper), link its page."
    ids = {p.name: _ids(p.read_text(encoding="utf-8")) for p in out.glob("*.html")}
    for p in out.glob("*.html"):
        src = p.read_text(encoding="utf-8")
        def sub(m):
            path, frag = m.group(1), m.group(2)
            target = path or p.name
            return m.group(0) if target not in ids or frag in ids[target] else f'href="{path or p.name}"'
        new = re.sub(r'href="([^"#:]*\.html|)#([^"]+)"', sub, src)
        if new != src: p.write_text(new, encoding="utf-8")

@dataclass
class Site:
    "A built docs site: where it is and what it holds."
    path: Path
    pages: dict = field(default_factory=dict)      # page file -> title
    builder: str = "fallback"

def _config(root: Path):
    from nbdev.config import get_config
    cfg = get_config(root)
    if not cfg.config_file.exists(): raise SiteError(f"no nbdev project at {root}")
    return cfg

def run_notebooks(nbs: list[Path], executed_dir: Path, workers: int = 2, python: str | None = None, reuse: bool = False):
    "Run the notebooks (progress bars off) into `executed_dir`; with `reuse`, only those without a newer good copy there."
    fresh = lambda nb: (ex := executed_dir/nb.name).exists() and ex.stat().st_mtime > nb.stat().st_mtime and _ran_ok(ex)
    todo = [nb for nb in nbs if not (reuse and fresh(nb))]
    results = nbrun.run_many(todo, executed_dir, workers=workers, python=python,
                             env={"TINYSTORIES_PROGRESS": "0", "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")})
    failed = [r for r in results if not r.ok]
    if failed:
        raise SiteError("notebooks failed, so no page was published:\n" + "\n".join("  " + r.line() for r in failed))
    return results

def _ran_ok(executed: Path) -> bool:
    return bool(json.loads(executed.read_text(encoding="utf-8")).get("metadata", {}).get("tinystories_nb", {}).get("ok"))

MODES = ("run", "reuse", "executed", "stored")

def build_site(out=None, root=ROOT, executed_dir=None, mode: str = "run", workers: int = 2, prefer_quarto: bool = True,
               python: str | None = None) -> Site:
    """Build the docs site from the notebooks of the project at `root` into `out` (default: the project's `_docs`).
    `mode`: "run" every notebook first; "reuse" run only those without a newer good executed copy; "executed" use
    the executed copies as they are (all must exist and have run without error); "stored" render the notebooks as
    stored, without outputs."""
    if mode not in MODES: raise SiteError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    root = Path(root)
    cfg = _config(root)
    out = Path(out or cfg.doc_path)
    if prefer_quarto and shutil.which("quarto"):
        subprocess.run([shutil.which("nbdev-docs") or "nbdev-docs"], cwd=root, check=True)
        return Site(Path(cfg.doc_path), builder="quarto")
    nbs = doc_notebooks(cfg.nbs_path)
    executed_dir = Path(executed_dir or root/"_proc"/"executed")
    if mode in ("run", "reuse"): run_notebooks(nbs, executed_dir, workers, python, reuse=mode == "reuse")
    if mode != "stored":
        bad = [nb.name for nb in nbs if not (executed_dir/nb.name).exists() or not _ran_ok(executed_dir/nb.name)]
        if bad: raise SiteError(f"no good executed copy in {executed_dir} of: {', '.join(bad)} (build with --mode reuse)")
    out.mkdir(parents=True, exist_ok=True)
    static = out/"static"; static.mkdir(exist_ok=True)
    shutil.copy(TEMPLATE/"tsdocs"/"site.css", static/"site.css")
    wjs = widgets_js_dir()
    if wjs: shutil.copytree(wjs, static/"widgets", dirs_exist_ok=True)
    nb_to_page = {p.name: page_name(p) for p in nbs}
    lib = Path(cfg.lib_path).name
    prepared = []
    for nb in nbs:
        d = json.loads((nb if mode == "stored" else executed_dir/nb.name).read_text(encoding="utf-8"))
        node, title, summary = prepare_notebook(add_api_docs(d, lib))
        prepared.append((nb, node, title or nb.stem, summary))
    pages = [(page_name(nb), t, section(nb, cfg.nbs_path)) for nb, _, t, _ in prepared]
    brand = cfg.get("title") or cfg.lib_name
    doc_url = (cfg.doc_url or "").rstrip("/") + "/" if cfg.doc_url else ""
    site = Site(out)
    for nb, node, title, summary in prepared:
        page = page_name(nb)
        footer = f"Generated from <code>{html.escape(str(nb.relative_to(root)))}</code> by tinystories_nb's site builder."
        body = render_page(node, title, summary, _nav_html(pages, page, brand), nb_to_page, doc_url,
                           widgets_js="static/widgets/embed.js" if wjs else None, footer=footer)
        (out/page).write_text(body, encoding="utf-8")
        site.pages[page] = title
    for stale in set(p.name for p in out.glob("*.html")) - set(site.pages): (out/stale).unlink()   # pages of removed notebooks
    _drop_dangling_anchors(out)
    return site

# --- README -----------------------------------------------------------------------------------------------------

def render_readme(index_nb) -> str:
    "Markdown for README.md from the index notebook."
    nb = json.loads(Path(index_nb).read_text(encoding="utf-8"))
    parts = []
    for c in nb["cells"]:
        src = "".join(c["source"]).strip()
        if not src: continue
        if c["cell_type"] == "markdown": parts.append(src)
        elif c["cell_type"] == "code":
            dirs = re.findall(r"^#\|\s*(.+)$", src, flags=re.M)
            if any(d.split()[0] in ("hide", "export", "exporti", "default_exp") or d.replace(" ", "") in ("include:false", "echo:false")
                   for d in dirs): continue
            parts.append("```python\n" + re.sub(r"^#\|.*\n?", "", src, flags=re.M).strip() + "\n```")
    return "\n\n".join(parts) + "\n"

def write_readme(root=ROOT) -> Path:
    "Regenerate README.md from nbs/index.ipynb."
    cfg = _config(Path(root))
    out = cfg.config_path/"README.md"
    out.write_text(render_readme(cfg.nbs_path/cfg.readme_nb), encoding="utf-8")
    return out

# --- the browser check ------------------------------------------------------------------------------------------

def find_chromium() -> str | None:
    "The headless browser to use: `$CHROMIUM`, else chromium / chromium-browser / google-chrome on the PATH."
    for c in [os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"]:
        if c and (p := shutil.which(c)): return p
    return None

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass

@contextlib.contextmanager
def serve_dir(path):
    "Serve `path` over HTTP on 127.0.0.1 (a free port) in a background thread; yields the base URL."
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(path)))
    t = threading.Thread(target=srv.serve_forever, daemon=True); t.start()
    try: yield f"http://127.0.0.1:{srv.server_address[1]}/"
    finally: srv.shutdown(); srv.server_close()

CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--mute-audio",
                "--disable-default-apps", "--disable-extensions", "--metrics-recording-only", "--no-default-browser-check"]

def _chrome(chrome, args, tmp, timeout=90):
    prof = tempfile.mkdtemp(dir=tmp)
    r = subprocess.run([chrome, *CHROME_FLAGS, f"--user-data-dir={prof}", *args], capture_output=True, text=True, timeout=timeout)
    return r.stdout

def _netlog_requests(path: Path) -> list[tuple[str, str]]:
    "(url, initiator) of every request Chromium started, from a --log-net-log file."
    try: txt = path.read_text(errors="replace")
    except FileNotFoundError: return []
    try: d = json.loads(txt)
    except json.JSONDecodeError: d = json.loads(txt.rstrip().rstrip(",") + "]}")   # a log cut short at exit
    names = {v: k for k, v in d["constants"]["logEventTypes"].items()}
    return [(e["params"]["url"], str(e["params"].get("initiator", ""))) for e in d.get("events", [])
            if names.get(e.get("type")) == "URL_REQUEST_START_JOB" and "url" in e.get("params", {})]

@dataclass
class SiteReport:
    "What the browser saw."
    pages: dict = field(default_factory=dict)        # page -> {"text_chars", "widgets", "widget_views", "stderr_blocks", ...}
    broken_links: list = field(default_factory=list)
    external_requests: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    @property
    def ok(self) -> bool: return not self.problems

def check_links(site) -> list[str]:
    "Links and sources inside the site that don't resolve to a file (or to an id on the target page)."
    site, bad = Path(site), []
    for page in sorted(site.glob("*.html")):
        src = page.read_text(encoding="utf-8")
        for url in _links(src):
            if not url or url.startswith(("data:", "mailto:", "javascript:")): continue
            if urlparse(url).scheme in ("http", "https"): continue          # outbound links are not fetched by the page
            path, frag = urldefrag(url)
            target = (page.parent/unquote(path)).resolve() if path else page
            if not target.exists(): bad.append(f"{page.name}: {url} (no such file)"); continue
            if frag and target.suffix == ".html" and frag not in _ids(target.read_text(encoding="utf-8")):
                bad.append(f"{page.name}: {url} (no such anchor)")
    return bad

def _png_colours(png: Path) -> int:
    "Number of distinct colours in a screenshot (1 means blank)."
    import numpy as np
    from PIL import Image
    a = np.asarray(Image.open(png).convert("RGB"))[::4, ::4].reshape(-1, 3)
    return len(np.unique(a, axis=0))

def check_site(site, shots=None, chrome: str | None = None, width: int = 1280, height: int = 1600) -> SiteReport:
    "Open every page of `site` in headless Chromium; see `SiteReport`."
    site = Path(site)
    chrome = chrome or find_chromium()
    if not chrome: raise SiteError("no Chromium found for the browser check: install Debian's chromium package or set $CHROMIUM")
    rep = SiteReport(broken_links=check_links(site))
    rep.problems += [f"broken link {b}" for b in rep.broken_links]
    shots = Path(shots) if shots else None
    if shots: shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, serve_dir(site) as base:
        host = urlparse(base).netloc
        for page in sorted(site.glob("*.html")):
            url, net = urljoin(base, page.name), Path(tmp)/f"{page.stem}.netlog.json"
            dom = _chrome(chrome, ["--virtual-time-budget=15000", "--run-all-compositor-stages-before-draw",
                                   f"--log-net-log={net}", "--dump-dom", url], tmp)
            text = re.sub(r"<script.*?</script>|<style.*?</style>|<[^>]+>", " ", dom, flags=re.S)
            src = page.read_text(encoding="utf-8")
            info = {"text_chars": len(" ".join(text.split())),
                    "widget_views": src.count('type="application/vnd.jupyter.widget-view+json"'),
                    "widgets": len(re.findall(r'class="[^"]*\bwidget-(?:slider|inline-hbox|hbox|vbox|box|text|html|label|output|button|dropdown|readout|textarea)\b', dom)),
                    "progress_bars": len(re.findall(r"\d+%\|[█▏▎▍▌▋▊▉ ]*\|", text))}
            png = (shots or Path(tmp))/f"{page.stem}.png"
            _chrome(chrome, ["--virtual-time-budget=15000", "--run-all-compositor-stages-before-draw",
                             f"--window-size={width},{height}", f"--screenshot={png}", url], tmp)
            info["screenshot"] = str(png) if png.exists() else None
            info["distinct_colours"] = _png_colours(png) if png.exists() else 0
            rep.pages[page.name] = info
            for u, initiator in _netlog_requests(net):
                # Chromium's own background calls (updates, sign-in) carry no page origin; the page's requests do.
                from_page = urlparse(initiator).netloc == host or u == url
                if from_page and urlparse(u).netloc != host: rep.external_requests.append(f"{page.name}: {u}")
            if info["text_chars"] < 20: rep.problems.append(f"{page.name}: rendered page has no text")
            if info["distinct_colours"] < 3: rep.problems.append(f"{page.name}: screenshot is blank")
            if info["widget_views"] and not info["widgets"]: rep.problems.append(f"{page.name}: {info['widget_views']} widget(s) not drawn")
            if info["progress_bars"]: rep.problems.append(f"{page.name}: shows {info['progress_bars']} progress bar(s)")
    rep.problems += [f"request left the machine: {u}" for u in sorted(set(rep.external_requests))]
    return rep

# --- command line -----------------------------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tools/docsite.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--root", default=str(ROOT), help="the nbdev project (default: the checkout this tool is in)")
    ap.add_argument("--out", default=None, help="output folder (default: the project's _docs)")
    ap.add_argument("--mode", choices=MODES, default="run",
                    help="run: run every notebook first; reuse: only those changed since their last good run; "
                         "executed: render the last executed copies; stored: render without running (no outputs)")
    ap.add_argument("--workers", type=int, default=2, help="notebooks run at once (default: 2)")
    ap.add_argument("--python", default=None, help="the Python the notebooks' kernels run in (default: this one)")
    ap.add_argument("--no-quarto", action="store_true", help="use the built-in builder even if quarto is installed")
    ap.add_argument("--check", action="store_true", help="open every page in headless Chromium and check it")
    ap.add_argument("--screenshots", default=None, help="where --check saves screenshots")
    ap.add_argument("--readme", action="store_true", help="only regenerate README.md from nbs/index.ipynb")
    a = ap.parse_args(argv)
    try:
        if a.readme: print(f"wrote {write_readme(a.root)}"); return 0
        site = build_site(a.out, root=a.root, mode=a.mode, workers=a.workers, prefer_quarto=not a.no_quarto, python=a.python)
        print(f"built {len(site.pages) or 'the'} pages with {site.builder} in {site.path}")
        if a.check:
            rep = check_site(site.path, a.screenshots)
            for pg, info in rep.pages.items():
                print(f"  {pg:28s} text={info['text_chars']:6d} widgets={info['widgets']:3d} colours={info['distinct_colours']}")
            if not rep.ok:
                for pr in rep.problems: print(f"  problem: {pr}")
                print(f"browser check failed: {len(rep.problems)} problem(s)"); return 1
            print("browser check passed")
        print(f"serve it with: python -m http.server -d {site.path} 8000")
        return 0
    except SiteError as e:
        print(f"site: error: {e}", file=sys.stderr); return 1

if __name__ == "__main__": sys.exit(main())
