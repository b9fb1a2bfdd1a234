"""API key hygiene: with a recognisable key in the environment, run real jobs (direct and Batch API) against a
loopback server that insists on that key, export every format, log verbosely, execute the LLM notebooks — then
scan the job stores, every file written, the logs and the notebook outputs for the key."""
import json, os, shutil, subprocess, sys
from pathlib import Path
import pytest
from tinystories_nb.synth import prompts
from tinystories_nb.synth.generate import EXPORTS, export, fake_teacher
from tinystories_nb.synth.testing import FakeOpenAI

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-hygiene-" + os.urandom(12).hex()
RUN = "import sys; from tinystories_nb.app.cli import main; sys.exit(main(sys.argv[1:]))"

def _scan(paths, texts=()) -> list[str]:
    leaks = [str(p) for p in paths if KEY.encode() in Path(p).read_bytes()]
    return leaks + [f"text #{i}" for i, t in enumerate(texts) if KEY in t]

def test_key_never_written(tmp_path):
    env = {**os.environ, "OPENAI_API_KEY": KEY, "TINYSTORIES_PROGRESS": "0"}
    specs = prompts.sample_prompts(10, seed=31)
    extra = ["--instruct"] if hasattr(prompts, "build_instruct") else []
    outs = []
    with FakeOpenAI(fake_teacher(specs, seed=31), require_key=KEY) as srv:
        for name, flags in [("direct", []), ("batch", ["--batch-api", "--poll-s", "0.01"])]:
            cmd = [sys.executable, "-c", RUN, "-v", "generate", "--teacher", "openai", "--base-url", srv.base_url,
                   "--n", "10", "--seed", "31", "--out", str(tmp_path/name), *flags, *extra]
            r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
            assert r.returncode == 0, r.stderr
            assert "10 stories" in r.stdout
            outs += [r.stdout, r.stderr]
        assert srv.requests and all(q["auth"] for q in srv.requests)          # the key really was sent
        assert len(srv.batches) == 2
    export(tmp_path/"direct", tmp_path/"exports", formats=list(EXPORTS))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"jobs.sqlite", "stories.jsonl", "generate.json", "stories.parquet", "data00.json"} <= names
    assert any("INFO" in o for o in outs)                                    # verbose logging was on
    assert _scan(files, outs) == []

@pytest.mark.parametrize("notebook", ["03_synth/01_llm.ipynb", "03_synth/08_generate.ipynb"])
def test_key_not_in_notebook_outputs(tmp_path, notebook, monkeypatch):
    "Run a copy of the notebook in a kernel with the key in the environment, save its outputs, and scan them."
    import nbrun
    copy = tmp_path/Path(notebook).name
    shutil.copy(ROOT/"nbs"/notebook, copy)
    monkeypatch.setenv("OPENAI_API_KEY", KEY); monkeypatch.setenv("TINYSTORIES_PROGRESS", "0")
    r = nbrun.run_one(copy, tmp_path/"executed.ipynb")
    assert r.ok, r.line() + "\n" + r.log[-4000:]
    cells = json.loads((tmp_path/"executed.ipynb").read_text())["cells"]
    outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
    assert len(outputs) >= 2                                                  # outputs were really saved
    assert _scan([tmp_path/"executed.ipynb"], [r.log]) == []
