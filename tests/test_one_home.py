"""Every concept has one home: the statistics a user reads do not depend on which module computed them, and the
package source holds one definition of each shared helper (issue 14: three copies of distinct-n once gave three
different answers on the same text)."""
import ast, re
from pathlib import Path
import pytest
from tinystories_nb.data.text import corpus_stats, distinct_n, words
from tinystories_nb.eval.metrics import completion_metrics

PKG = Path(__file__).resolve().parent.parent/"tinystories_nb"
TEXT = ("Tom didn't want to share his red ball. Tom's mom said, \u201cSharing is good, Tom.\u201d "
        "So Tom shared the red ball with Sue, and Sue shared her kite with Tom.")

def test_every_caller_gets_the_same_distinct_n():
    d1, d2, d3 = (distinct_n(TEXT, n) for n in (1, 2, 3))
    stats, per_story = corpus_stats([TEXT]), completion_metrics("", TEXT)
    assert (stats["distinct_1"], stats["distinct_2"], stats["distinct_3"]) == (d1, d2, d3)
    assert (per_story["distinct_1"], per_story["distinct_2"]) == (d1, d2)
    ws = words(TEXT)
    assert d1 == len(set(ws)) / len(ws) and "didn't" in ws and "tom's" in ws   # contractions and curly quotes read alike

def definitions() -> dict[str, list[str]]:
    "Top-level function names -> the modules that define them, over the whole package."
    out = {}
    for f in PKG.rglob("*.py"):
        if f.name == "_modidx.py": continue
        for node in ast.parse(f.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("__"):
                out.setdefault(node.name, []).append(str(f.relative_to(PKG)))
    return out

@pytest.mark.parametrize("name,home", [
    ("words", "data/text.py"), ("ngrams", "data/text.py"), ("distinct_n", "data/text.py"), ("corpus_stats", "data/text.py"),
    ("is_refusal", "data/text.py"), ("iter_jsonl", "core.py"), ("append_jsonl", "core.py"), ("batched", "core.py"),
    ("cpu_threads", "core.py"), ("atomic_dir", "core.py"), ("load_torch_file", "core.py"), ("bootstrap_mean", "eval/stats.py"),
    ("story_separator", "data/tokenize.py"), ("renumber_tokenizer", "data/tokenize.py"), ("html_table", "eval/report.py"),
    ("run_bounded", "synth/llm.py"), ("check_judge_settings", "eval/judge.py")])
def test_one_definition(name, home):
    assert definitions().get(name) == [home]

def test_no_private_copies_of_shared_helpers():
    "No module keeps a private twin of a shared helper (`_batched`, `_fmt`, `make_judge`, a JSON-lines loop)."
    defs = definitions()
    for name in ("_batched", "_fmt", "make_judge", "judge_key_env", "_pool", "_png", "_table", "forward_with_attention"):
        assert defs.get(name, []) in ([], ["eval/judge.py"] if name == "judge_key_env" else []), (name, defs.get(name))
    # JSON lines that do not come from a file the package reads: the Batch API's reply, the fake server's upload, and
    # the one last line of a cell's metrics that the sweep's progress bar shows
    not_files = {"synth/llm.py": 1, "synth/testing.py": 1, "studies/sweep.py": 1}
    loops = {str(f.relative_to(PKG)): len(re.findall(r"json\.loads\(line", f.read_text(encoding="utf-8"))) for f in PKG.rglob("*.py")
             if f.name != "core.py"}
    assert {k: v for k, v in loops.items() if v} == not_files, f"JSON lines read outside core.iter_jsonl: {loops}"
