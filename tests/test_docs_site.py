"""The docs site builds from the executed notebooks and passes a real browser check: every page renders
non-blank in headless Chromium, widgets are drawn, no progress bar is shown, every internal link resolves and no
page request leaves the machine. Screenshots land in _proc/screenshots/ for a human to look at. Needs Chromium and
the widgets' JavaScript (fetched once with npm); skipped without them unless `TINYSTORIES_REQUIRE_BROWSER=1` (CI)."""
import os
import pytest
from conftest import ROOT, EXECUTED, NBS
import docsite

def _need(ok: bool, why: str):
    if ok: return
    if os.environ.get("TINYSTORIES_REQUIRE_BROWSER") == "1": pytest.fail(why)
    pytest.skip(why)

def test_docs_site(executed):
    _need(docsite.find_chromium() is not None, "no Chromium on this machine (apt-get install chromium)")
    _need(docsite.widgets_js_dir() is not None, "the widgets' JavaScript could not be fetched (npm and its registry needed once)")
    failed = [r.line() for r in executed.values() if not r.ok]
    assert not failed, f"notebooks failed: {failed}"
    site = docsite.build_site(ROOT/"_docs", root=ROOT, executed_dir=EXECUTED, mode="executed", prefer_quarto=False)
    assert len(site.pages) == len(NBS)
    assert (site.path/"static"/"widgets"/"embed.js").exists()
    rep = docsite.check_site(site.path, shots=ROOT/"_proc"/"screenshots")
    assert rep.ok, "\n".join(rep.problems)
    assert set(rep.pages) == set(site.pages)
