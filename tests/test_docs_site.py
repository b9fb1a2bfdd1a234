"""The docs site builds from the executed notebooks and passes a real browser check: every page renders
non-blank in headless Chromium, widgets are drawn, every internal link resolves and no page request leaves
the machine. Screenshots land in _proc/screenshots/ for a human to look at."""
from conftest import ROOT, EXECUTED

def test_docs_site(executed):
    from tinystories_nb.docs import build_site, check_site, doc_notebooks, find_chromium
    assert find_chromium(), "headless Chromium is needed for this test: apt-get install chromium (.ci/run does)"
    site = build_site(ROOT/"_docs", root=ROOT, executed_dir=EXECUTED, reuse=True, prefer_quarto=False)
    assert not site.failed, f"notebooks failed to execute: {site.failed}"
    assert len(site.pages) == len(doc_notebooks(ROOT/"nbs"))
    assert (site.path/"static"/"widgets"/"embed.js").exists(), "the widgets HTML manager is missing (npm pack failed?)"
    rep = check_site(site.path, shots=ROOT/"_proc"/"screenshots")
    assert rep.ok, "\n".join(rep.problems)
    assert set(rep.pages) == set(site.pages)
