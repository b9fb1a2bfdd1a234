"""The development tools behind the tests and the docs: `tools/nbrun.py` runs a notebook in a real kernel and names
the failing cell; `tools/docsite.py` adds API docs, drops progress bars and refuses to publish when a notebook fails."""
import json, subprocess, sys
from pathlib import Path
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
import docsite, nbrun
from conftest import ROOT

def _demo_project(root: Path) -> Path:
    "A minimal nbdev project with one notebook: an exported function, a widget, a plot, a hidden input, a progress bar."
    (root/"pyproject.toml").write_text('[project]\nname = "demo_pkg"\n\n[tool.nbdev]\nlib_path = "demo_pkg"\ntst_flags = "slow"\n')
    (root/"demo_pkg").mkdir()
    (root/"demo_pkg"/"__init__.py").write_text("")
    (root/"demo_pkg"/"demo.py").write_text('def add_one(x: int = 1) -> int:\n    "Add one to `x`."\n    return x + 1\n')
    nbs = root/"nbs"; nbs.mkdir()
    cells = [new_markdown_cell("# Demo\n\n> A page to test the site builder."),
             new_code_cell("#| default_exp demo"),
             new_code_cell("#| export\ndef add_one(x: int = 1) -> int:\n    \"Add one to `x`.\"\n    return x + 1"),
             new_markdown_cell("See the [home page](index.ipynb). A slider:"),
             new_code_cell("import ipywidgets as w\nw.IntSlider(value=3, description='n')"),
             new_code_cell("import matplotlib.pyplot as plt\nplt.plot([1, 3, 2]); plt.show()"),
             new_code_cell("from tqdm import tqdm\nfor _ in tqdm(range(3)): pass"),
             new_code_cell("#| slow\nraise RuntimeError('a slow cell ran')"),
             new_code_cell("#| echo: false\nprint('output without its code')")]
    nbformat.write(new_notebook(cells=cells), nbs/"01_demo.ipynb")
    nbformat.write(new_notebook(cells=[new_markdown_cell("# Home\n\n> The demo site.\n\nRead the [demo](01_demo.ipynb).")]), nbs/"index.ipynb")
    return nbs

def test_names_and_order(tmp_path):
    assert docsite.page_name(Path("03_tokenize.ipynb")) == "tokenize.html"
    assert docsite.page_name(Path("data/01_clean.ipynb")) == "clean.html" and docsite.page_name(Path("index.ipynb")) == "index.html"
    for n in ["tutorial.ipynb", "01_b.ipynb", "index.ipynb", "00_a.ipynb", "_hidden.ipynb"]: (tmp_path/n).touch()
    assert [p.name for p in docsite.doc_notebooks(tmp_path)] == ["index.ipynb", "00_a.ipynb", "01_b.ipynb", "tutorial.ipynb"]
    assert nbrun.directives("#| export\n#| eval: false\nx = 1\n#| not a directive") == {"export": "", "eval": "false"}
    assert nbrun.skipped("#| slow\nx", ["slow"]) and nbrun.skipped("#| eval: false\nx", []) and not nbrun.skipped("x", ["slow"])

def test_site_from_a_demo_project(tmp_path, monkeypatch):
    nbs = _demo_project(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    r = nbrun.run_one(nbs/"01_demo.ipynb", tmp_path/"ex"/"01_demo.ipynb", flags=["slow"])
    assert r.ok, r.log
    d = json.loads((tmp_path/"ex"/"01_demo.ipynb").read_text())
    assert d["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]       # widget state kept
    assert any("image/png" in o.get("data", {}) for c in d["cells"] for o in c.get("outputs", []))
    with_docs = docsite.add_api_docs(d, "demo_pkg")
    md = ["".join(o["data"]["text/markdown"]) for c in with_docs["cells"] for o in c.get("outputs", []) if "text/markdown" in o.get("data", {})]
    assert any("Add one to" in m for m in md), md                                                      # API docs, rendered here
    node, title, summary = docsite.prepare_notebook(with_docs)
    assert (title, summary) == ("Demo", "A page to test the site builder.")
    outs = [o for c in node.cells for o in c.get("outputs", [])]
    assert not any(o.get("name") == "stderr" and "%|" in "".join(o.get("text", "")) for o in outs)  # no progress bar

def test_a_failing_notebook_is_named_and_nothing_is_published(tmp_path):
    nbs = _demo_project(tmp_path)
    nb = nbformat.read(nbs/"01_demo.ipynb", as_version=4)
    nb.cells.insert(4, new_code_cell("1/0"))
    nbformat.write(nb, nbs/"01_demo.ipynb")
    r = nbrun.run_one(nbs/"01_demo.ipynb", flags=["slow"])
    assert (r.ok, r.cell, r.error) == (False, 5, "ZeroDivisionError: division by zero")
    assert r.line() == "01_demo.ipynb: failed at cell 5: ZeroDivisionError: division by zero"
    p = subprocess.run([sys.executable, str(ROOT/"tools"/"nbrun.py"), str(nbs/"01_demo.ipynb"), "--all-cells"],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 1 and "failed at cell 5" in p.stdout
    p = subprocess.run([sys.executable, str(ROOT/"tools"/"docsite.py"), "--root", str(tmp_path), "--no-quarto", "--out", str(tmp_path/"site")],
                       capture_output=True, text=True, cwd=tmp_path)
    assert p.returncode == 1 and "01_demo.ipynb: failed at cell 5: ZeroDivisionError" in p.stderr, p.stderr
    assert not (tmp_path/"site").exists()

def test_readme_renders_from_the_index(tmp_path):
    nbformat.write(new_notebook(cells=[new_markdown_cell("# T\n\nText."), new_code_cell("#| hide\nimport x"),
                                       new_code_cell("print(1)")]), tmp_path/"index.ipynb")
    assert docsite.render_readme(tmp_path/"index.ipynb") == "# T\n\nText.\n\n```python\nprint(1)\n```\n"
