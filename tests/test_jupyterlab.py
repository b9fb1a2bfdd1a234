"""What a newcomer does: start JupyterLab, open a notebook, Run All from the Run menu, look at the widgets.

A real `jupyter lab` server on 127.0.0.1 (from the Python in `TINYSTORIES_KERNEL_PYTHON` when set, which CI points at
a venv made with the README's install command alone, so the kernels run without the development extras), driven by
headless Chromium through Playwright. It works on a copy of nbs/, so nothing in the checkout is written. For the
tutorial and the grading notebook: Run All completes, no cell shows an error, and a widget drawn by the notebook
responds to a click (the sampler writes a new story; the grading widget saves a grade and moves on). Screenshots
land in _proc/screenshots/. Without Chromium the test is skipped, unless `TINYSTORIES_REQUIRE_BROWSER=1` (CI)."""
import json, os, secrets, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest
from conftest import ROOT
import docsite

PY = os.environ.get("TINYSTORIES_KERNEL_PYTHON") or sys.executable
SHOTS = ROOT/"_proc"/"screenshots"

def _chromium():
    c = docsite.find_chromium()
    if c is None:
        if os.environ.get("TINYSTORIES_REQUIRE_BROWSER") == "1": pytest.fail("Chromium is required here (apt-get install chromium)")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")
    return c

def _free_port() -> int:
    with socket.socket() as s: s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    "A JupyterLab server over a copy of nbs/: yields (base URL with token, the copy's folder)."
    chrome = _chromium()
    tmp = tmp_path_factory.mktemp("lab")
    work = tmp/"nbs"
    shutil.copytree(ROOT/"nbs", work, ignore=shutil.ignore_patterns("_*", ".*", "tmp*"))
    settings = tmp/"settings"/"@jupyterlab"/"notebook-extension"
    settings.mkdir(parents=True)
    (settings/"tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))   # every cell in the DOM
    port, token = _free_port(), secrets.token_hex(16)
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(tmp/"settings"), "JUPYTERLAB_WORKSPACES_DIR": str(tmp/"ws"),
           "JUPYTER_CONFIG_DIR": str(tmp/"cfg"), "JUPYTER_RUNTIME_DIR": str(tmp/"rt"), "OMP_WAIT_POLICY": "PASSIVE"}
    log = open(tmp/"lab.log", "w")
    proc = subprocess.Popen([PY, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
                             f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={work}",
                             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                             "--LabApp.expose_app_in_browser=True"],                   # so the test can read the notebook model
                            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if proc.poll() is not None: pytest.fail(f"jupyter lab exited:\n{(tmp/'lab.log').read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2); break
            except OSError: time.sleep(0.5)
        else: pytest.fail(f"jupyter lab did not start:\n{(tmp/'lab.log').read_text()[-3000:]}")
        from playwright.sync_api import sync_playwright
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chrome, args=docsite.CHROME_FLAGS[1:])
            yield browser, base, token, work
            browser.close()
    finally:
        proc.terminate()
        try: proc.wait(20)
        except subprocess.TimeoutExpired: proc.kill()

NOTEBOOK_STATE = """(name) => {
  if (!window.jupyterapp || !window.jupyterapp.shell) return {current: false};   // the app object appears a moment after the page
  const panel = window.jupyterapp.shell.currentWidget;
  if (!panel || !panel.context || panel.context.path !== name) return {current: false};
  const m = panel.content.model, cells = [];
  for (let i = 0; i < m.cells.length; i++) {
    const c = m.cells.get(i);
    if (c.type !== 'code') continue;
    const outs = [];
    for (let j = 0; j < c.outputs.length; j++) {
      const o = c.outputs.get(j).toJSON();
      outs.push(o.output_type === 'error' ? `${o.ename}: ${o.evalue}`.slice(0, 300) : null);
    }
    cells.push({index: i + 1, n: c.executionCount, errors: outs.filter(x => x)});
  }
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return {current: true, ready: panel.sessionContext.isReady, status: kernel ? kernel.status : null, cells};
}"""

def run_all(browser, base, token, work: Path, name: str, timeout: float = 240):
    "Open `name` in JupyterLab, Run All from the Run menu, wait until every cell ran or one failed; return (page, state)."
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab/workspaces/{Path(name).stem}/tree/{name}?reset&token={token}")    # a fresh workspace: one tab
    page.wait_for_function(f"(n) => {{ const s = ({NOTEBOOK_STATE})(n); return s.current && s.ready && s.status === 'idle'; }}",
                           arg=name, timeout=60_000)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator("li[data-command='runmenu:run-all']").click()
    t0, idle_since = time.time(), None
    while True:
        time.sleep(1)
        st = page.evaluate(NOTEBOOK_STATE, name)
        failed = [c for c in st["cells"] if c["errors"]]
        ran_all = all(c["n"] is not None for c in st["cells"])
        idle_since = (idle_since or time.time()) if st["status"] == "idle" else None
        if idle_since and time.time() - idle_since > 2 and (ran_all or failed): break    # done, or Run All stopped at an error
        if time.time() - t0 > timeout:
            page.screenshot(path=str(SHOTS/f"jupyterlab-timeout-{Path(name).stem}.png"))
            pytest.fail(f"{name}: Run All did not finish in {timeout}s: kernel {st['status']}, "
                        f"not run: {[c['index'] for c in st['cells'] if c['n'] is None][:20]}")
    return page, st

def errors_in(st: dict) -> list[str]:
    return [f"cell {c['index']}: {e}" for c in st["cells"] for e in c["errors"]] + \
           [f"cell {c['index']} did not run" for c in st["cells"] if c["n"] is None]

def test_tutorial_runs_and_its_sampler_responds(lab):
    browser, base, token, work = lab
    page, st = run_all(browser, base, token, work, "tutorial.ipynb")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS/"jupyterlab-tutorial.png"), full_page=False)
    assert errors_in(st) == []
    story = page.locator(".widget-textarea textarea").last          # the SamplerWidget's output box
    before = story.input_value()
    assert before.startswith("One day, a little bird")
    seed = page.locator(".widget-text input[type='number']").last   # the seed box
    seed.fill("7"); seed.press("Enter")
    page.locator("button", has_text="Generate").last.click()
    page.wait_for_function("([el, old]) => el.value !== old && el.value.length > old.length / 2",
                           arg=[story.element_handle(), before], timeout=30_000)
    page.locator("button", has_text="Generate").last.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS/"jupyterlab-tutorial-sampler.png"))
    assert story.input_value().startswith("One day, a little bird") and story.input_value() != before
    page.close()

def test_grading_widget_saves_after_run_all(lab):
    browser, base, token, work = lab
    page, st = run_all(browser, base, token, work, "04_eval/08_grading.ipynb")
    assert errors_in(st) == []
    status = page.locator(".widget-label", has_text="saved,").first
    assert status.inner_text().strip() == "1 saved, 10 to go"          # the notebook saved one grade and skipped one
    page.locator("button", has_text="Save and next").first.click()
    page.wait_for_function("el => el.textContent.includes('2 saved')", arg=status.element_handle(), timeout=15_000)
    status.scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS/"jupyterlab-grading.png"))
    assert status.inner_text().strip() == "2 saved, 9 to go"
    page.close()
