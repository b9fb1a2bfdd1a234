"""`tinystories prepare` as a user runs it (a subprocess), and the multi-process path against the in-process one."""
import json, os, subprocess, sys
from pathlib import Path
import numpy as np
from tinystories_nb.synth.samples import sample_path
from tinystories_nb.data.tokenize import PrepareConfig, prepare
from tinystories_nb.data.clean import CleanConfig

CLI = "import sys; from tinystories_nb.app.cli import main; sys.exit(main())"

def tinystories(*args, env=None):
    return subprocess.run([sys.executable, "-c", CLI, *map(str, args)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TINYSTORIES_PROGRESS": "0", **(env or {})})

def test_prepare_cli_on_the_sample(tmp_path):
    r = tinystories("prepare", sample_path(), "--out", tmp_path/"out", "--vocab-size", "512")
    assert r.returncode == 0, r.stderr
    assert "train" in r.stdout and "val" in r.stdout and str(tmp_path/"out") in r.stdout
    m = json.loads((tmp_path/"out"/"manifest.json").read_text())
    s = m["splits"]
    assert s["train"]["stories"] + s["val"]["stories"] + sum(m["cleaning"]["removed"].values()) == 1000
    assert {p.name for p in (tmp_path/"out").iterdir()} == {".lock", "manifest.json", "tokenizer.json", "train.bin", "val.bin"}
    r = tinystories("prepare", sample_path(), "--out", tmp_path/"out", "--vocab-size", "512")
    assert r.returncode == 0 and "up to date" in r.stdout

def test_prepare_cli_user_errors(tmp_path):
    (tmp_path/"garbage.txt").write_bytes(bytes(range(256)) * 100)
    (tmp_path/"cut.json").write_text(json.dumps([{"story": "Once upon a time."}] * 5)[:-25])
    cases = [([tmp_path/"missing.txt"], "input file not found"),
             ([tmp_path/"garbage.txt"], "looks like a binary file"),
             ([tmp_path/"cut.json"], "truncated or malformed JSON at record 4"),
             ([sample_path(), "--vocab-size", "100"], "too small")]
    for args, msg in cases:
        r = tinystories("prepare", *args, "--out", tmp_path/"out")
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert r.stderr.startswith("tinystories: error: ") and msg in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert not (tmp_path/"out"/"manifest.json").exists()

def test_workers_match_in_process(tmp_path):
    "Several worker processes write exactly what one process writes (order, splits, report)."
    big = tmp_path/"big.txt"
    big.write_text(sample_path().read_text(encoding="utf-8") * 3)     # 2.4 MB: several chunks, and duplicates
    tok_dir = tmp_path/"tok"
    prepare(sample_path(), tok_dir, cfg=PrepareConfig(vocab_size=512))
    outs = {}
    for n in (1, 2):
        outs[n] = prepare(big, tmp_path/f"out{n}", tokenizer=tok_dir/"tokenizer.json",
                          cfg=PrepareConfig(n_proc=n, clean=CleanConfig(dedupe=False)))
    a, b = outs[1], outs[2]
    assert np.array_equal(a.train, b.train) and np.array_equal(a.val, b.val)
    assert a.manifest["splits"] == b.manifest["splits"] and a.manifest["cleaning"] == b.manifest["cleaning"]
    assert a.manifest["splits"]["train"]["stories"] + a.manifest["splits"]["val"]["stories"] == 3000

def test_prepare_with_a_restricted_gpt_neo_style_tokenizer(tmp_path):
    "--tokenizer + --top-k: a GPT-Neo-style tokenizer.json (<|endoftext|> last) cut to its top K tokens, ids remapped."
    from tokenizers import Tokenizer
    from tinystories_nb.data.clean import clean_text
    from tinystories_nb.data.stories import read_stories
    from tinystories_nb.data.tokenize import load_prepared, train_tokenizer
    texts = [clean_text(s.text)[0] for s in read_stories(sample_path())]
    spec = json.loads(train_tokenizer(texts, vocab_size=1200).to_str())
    last = len(spec["model"]["vocab"]) - 1
    spec["model"]["vocab"] = {t: (last if i == 0 else i - 1) for t, i in spec["model"]["vocab"].items()}
    spec["added_tokens"][0]["id"] = last
    (tmp_path/"neo.json").write_text(json.dumps(spec))
    r = tinystories("prepare", sample_path(), "--out", tmp_path/"out", "--tokenizer", tmp_path/"neo.json", "--top-k", 700)
    assert r.returncode == 0, r.stderr
    p = load_prepared(tmp_path/"out")
    t = p.manifest["tokenizer"]
    assert t["restricted"]["top_k"] == 700 and p.vocab_size <= 700 and p.eot_id == p.vocab_size - 1
    new_to_old = json.loads((tmp_path/"out"/"token_map.json").read_text())["new_to_old"]
    assert len(new_to_old) == p.vocab_size and new_to_old[p.eot_id] == last
    assert int(p.train.max()) < p.vocab_size
    first = p.train[:int(np.argmax(p.train == p.eot_id))].tolist()
    assert p.tokenizer.decode(first) in texts
