"""Notebooks are executed once per test session, each in a fresh process, two at a time, by the same code that
builds the docs (`tinystories_nb.docs.execute_notebooks`); `test_notebooks.py` reports each one as a test and the
docs-site test renders the executed copies, so nothing runs twice."""
import os
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = sorted(p for p in (ROOT/"nbs").glob("*.ipynb") if not p.name.startswith(("_", ".")))
EXECUTED = ROOT/"_proc"/"executed"
_RESULTS = {}

def _wanted(session) -> list[Path]:
    names = set()
    for item in session.items:
        cs = getattr(item, "callspec", None)
        if cs and item.originalname == "test_notebook": names.add(cs.params["nb"].name)
        if item.name == "test_docs_site": names |= {p.name for p in NBS}
    return [p for p in NBS if p.name in names]

@pytest.fixture(scope="session")
def executed(request):
    "name -> ExecResult for every notebook this session's tests need, executed on first use."
    if not _RESULTS:
        from tinystories_nb.docs import execute_notebooks
        workers = int(os.environ.get("TINYSTORIES_TEST_WORKERS", "2"))
        for r in execute_notebooks(_wanted(request.session), EXECUTED, workers=workers,
                                   env={"TINYSTORIES_PROGRESS": os.environ.get("TINYSTORIES_PROGRESS", "0"),
                                        # two notebooks share the cores: idle OpenMP threads must sleep, not spin
                                        "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}):
            _RESULTS[r.nb.name] = r
    return _RESULTS

def pytest_terminal_summary(terminalreporter):
    if _RESULTS:
        terminalreporter.section("notebook times")
        for r in sorted(_RESULTS.values(), key=lambda r: -r.seconds):
            terminalreporter.write_line(f"{r.seconds:7.1f}s  {'ok  ' if r.ok else 'FAIL'}  {r.nb.name}")
