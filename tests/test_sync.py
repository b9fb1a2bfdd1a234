"""The library is generated: CI fails when `nbdev-export` would change `tinystories_nb/` or `nbdev-clean`
would change a notebook. Both are checked on a copy, so running the tests never edits the tree."""
import filecmp, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

def _copy_project(dst: Path):
    shutil.copy(ROOT/"pyproject.toml", dst)
    shutil.copytree(ROOT/"nbs", dst/"nbs", ignore=shutil.ignore_patterns("_proc", "_site", ".ipynb_checkpoints", "tmp*"))
    shutil.copytree(ROOT/"tinystories_nb", dst/"tinystories_nb", ignore=shutil.ignore_patterns("__pycache__"))

def _py_files(d: Path): return sorted(p.relative_to(d) for p in d.rglob("*.py") if "__pycache__" not in p.parts)

def test_library_matches_notebooks(tmp_path):
    _copy_project(tmp_path)
    for f in _py_files(tmp_path/"tinystories_nb"):  # export from scratch: stale modules must not survive
        if f.name != "__init__.py": (tmp_path/"tinystories_nb"/f).unlink()
    subprocess.run([str(BIN/"nbdev-export")], cwd=tmp_path, check=True, capture_output=True)
    repo, fresh = ROOT/"tinystories_nb", tmp_path/"tinystories_nb"
    assert _py_files(repo) == _py_files(fresh), "modules differ from what the notebooks export: run nbdev-export"
    changed = [str(f) for f in _py_files(repo) if not filecmp.cmp(repo/f, fresh/f, shallow=False)]
    assert not changed, f"run nbdev-export: these modules differ from the notebooks: {changed}"

def test_notebooks_are_clean(tmp_path):
    _copy_project(tmp_path)
    subprocess.run([str(BIN/"nbdev-clean")], cwd=tmp_path, check=True, capture_output=True)
    dirty = [str(p.relative_to(ROOT)) for p in sorted((ROOT/"nbs").rglob("*.ipynb"))
             if "_proc" not in p.parts and not filecmp.cmp(p, tmp_path/p.relative_to(ROOT), shallow=False)]
    assert not dirty, f"run nbdev-clean: these notebooks are not clean: {dirty}"

def test_readme_matches_index():
    from docsite import render_readme
    assert (ROOT/"README.md").read_text() == render_readme(ROOT/"nbs"/"index.ipynb"), \
        "README.md is generated from nbs/index.ipynb: run `python tools/docsite.py --readme`"
