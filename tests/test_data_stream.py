"""Readers stream: reading a large file holds about one story (or one JSON record) at a time. Each check runs
in a fresh process and compares its peak RSS after reading everything with the peak after the imports."""
import json, subprocess, sys, textwrap
from pathlib import Path
import pytest
from tinystories_nb.synth.samples import sample_path

MEASURE = textwrap.dedent("""
    import resource, sys
    from tinystories_nb.data.stories import read_stories
    it = read_stories(sys.argv[1]); next(it)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    n, chars = 1, 0
    for s in it: n += 1; chars += len(s.text)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(n, chars, (peak - base) // 1024)
""")

def _measure(path):
    r = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    n, chars, grew_mb = map(int, r.stdout.split())
    return n, chars, grew_mb

@pytest.fixture(scope="module")
def stories():
    return sample_path().read_text(encoding="utf-8")

def test_text_reader_streams(tmp_path, stories):
    p = tmp_path/"big.txt"
    reps = int(40e6 // len(stories.encode("utf-8"))) + 1
    with open(p, "w", encoding="utf-8") as f:
        for _ in range(reps): f.write(stories)         # ~40 MB
    n, chars, grew_mb = _measure(p)
    assert n == reps * stories.count("<|endoftext|>")
    assert p.stat().st_size > 38e6 and grew_mb < 16, f"reading {p.stat().st_size / 1e6:.0f} MB grew RSS by {grew_mb} MB"

def test_all_data_reader_streams(tmp_path, stories):
    texts = [t for t in stories.split("<|endoftext|>\n") if t.strip()]
    p = tmp_path/"data00.json"
    with open(p, "w", encoding="utf-8") as f:        # ~35 MB JSON array, written record by record
        f.write("[")
        for i in range(40_000):
            rec = {"story": texts[i % len(texts)], "instruction": {"prompt:": "Write a short story...", "words": ["a", "b", "c"], "features": []},
                   "summary": "A summary.", "source": "GPT-4"}
            f.write(("," if i else "") + json.dumps(rec))
        f.write("]")
    n, chars, grew_mb = _measure(p)
    assert n == 40_000
    assert p.stat().st_size > 30e6 and grew_mb < 16, f"reading {p.stat().st_size / 1e6:.0f} MB grew RSS by {grew_mb} MB"
