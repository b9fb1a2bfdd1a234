"""Shared test set-up.

- Tests never reach the network and never need data beside the checkout: unless `TINYSTORIES_SAMPLE` is set, the
  package's sample of stories is the offline engine's (`TINYSTORIES_SAMPLE=offline`). Checks on real TinyStories
  live in `test_real_sample.py` and run only where a real sample is found (`TINYSTORIES_REAL_SAMPLE`, or
  `../shared/data/tinystories_valid_sample.txt` beside the checkout).
- Notebooks are run once per test session, each in a fresh Jupyter kernel, two at a time, by the same runner that
  builds the docs (`tools/nbrun.py`); `test_notebooks.py` reports each one as a test and the docs-site test renders
  the executed copies, so nothing runs twice. `TINYSTORIES_KERNEL_PYTHON` picks the Python the kernels run in (CI
  points it at a venv made with the README's install command alone)."""
import os, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/"tools"))
os.environ.setdefault("TINYSTORIES_SAMPLE", "offline")
os.environ.setdefault("TINYSTORIES_OFFLINE", "1")

import docsite, nbrun   # noqa: E402  (tools/, put on the path above)

NBS = docsite.doc_notebooks(ROOT/"nbs")
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
    "name -> nbrun.ExecResult for every notebook this session's tests need, run on first use."
    if not _RESULTS:
        workers = int(os.environ.get("TINYSTORIES_TEST_WORKERS", "2"))
        env = {"TINYSTORIES_PROGRESS": os.environ.get("TINYSTORIES_PROGRESS", "0"),
               "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}   # two kernels share the cores: idle threads sleep
        for r in nbrun.run_many(_wanted(request.session), EXECUTED, workers=workers, env=env,
                                python=os.environ.get("TINYSTORIES_KERNEL_PYTHON") or None):
            _RESULTS[Path(r.nb).name] = r
    return _RESULTS

@pytest.fixture(scope="session")
def real_sample():
    "The published TinyStories sample, where this machine has one; else the test is skipped."
    env = os.environ.get("TINYSTORIES_REAL_SAMPLE")
    p = Path(env) if env else ROOT.parent/"shared"/"data"/"tinystories_valid_sample.txt"
    if not p.is_file(): pytest.skip(f"no real TinyStories sample here ({p}); set TINYSTORIES_REAL_SAMPLE to run these checks")
    return p

def pytest_terminal_summary(terminalreporter):
    if _RESULTS:
        terminalreporter.section("notebook times")
        py = os.environ.get("TINYSTORIES_KERNEL_PYTHON")
        if py: terminalreporter.write_line(f"kernels ran in {py}")
        for r in sorted(_RESULTS.values(), key=lambda r: -r.seconds): terminalreporter.write_line(f"{r.seconds:7.1f}s  {r.line()}")


def tiny_eval_run(d, n_beginnings: int) -> Path:
    "In `d`: an untrained tiny checkpoint (`run/`) with its tokenizer, and a set of the first `n_beginnings` beginnings (`set.jsonl`)."
    import torch
    from tinystories_nb.data.tokenize import train_tokenizer
    from tinystories_nb.eval.evalsets import EvalSet, load_beginnings
    from tinystories_nb.model.checkpoint import save_checkpoint
    from tinystories_nb.model.gpt import GPT, preset
    from tinystories_nb.synth.samples import sample_stories
    tok = train_tokenizer([s.text for s in sample_stories(100)], vocab_size=512)
    torch.manual_seed(0)
    save_checkpoint(d/"run"/"ckpt", 1, GPT(preset("tiny", vocab_size=512, block_size=128)), tokenizer=tok)
    EvalSet(f"first{n_beginnings}", 1, "beginnings", load_beginnings().items[:n_beginnings]).save(d/"set.jsonl")
    return d
