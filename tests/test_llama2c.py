"""llama2.c interop, checked against independent implementations: llama2.c's own `model.py`, `export.py`,
`tokenizer.py` and its compiled `run.c` (from `../shared/peers/llama2c`, run as oracles and never copied), and the
`sentencepiece` library. The llama2.c checks are skipped with the reason where no peers folder is found
(`TINYSTORIES_PEERS`, or `../shared/peers` beside the checkout); a fresh clone runs the rest."""
import dataclasses, importlib.util, io, os, re, shutil, struct, subprocess, sys
from pathlib import Path
import pytest
import torch
from tinystories_nb.core import TinyStoriesError
from tinystories_nb.data.stories import read_stories
from tinystories_nb.data.tokenize import train_tokenizer
from tinystories_nb.model.gpt import GPT, GPTConfig
from tinystories_nb.model.llama2c import (export_llama2c, import_llama2c, read_sentencepiece, read_tokenizer_bin,
                                          sentencepiece_tokenizer, to_llama2c_state_dict, write_bin)
from tinystories_nb.model.sample import generate_ids
from tinystories_nb.synth.samples import sample_path

ROOT = Path(__file__).resolve().parent.parent

@pytest.fixture(scope="session")
def peers() -> Path:
    env = os.environ.get("TINYSTORIES_PEERS")
    p = (Path(env) if env else ROOT.parent/"shared"/"peers")/"llama2c"
    if not (p/"run.c").is_file(): pytest.skip(f"no llama2.c peer here ({p}); set TINYSTORIES_PEERS to run the oracle checks")
    return p

@pytest.fixture(scope="session")
def l2c(peers):
    "llama2.c's model.py and export.py as modules (export.py imports `model` by that name)."
    saved = sys.modules.get("model")
    mods = {}
    for name in ("model", "export"):
        spec = importlib.util.spec_from_file_location(name, peers/f"{name}.py")
        mods[name] = importlib.util.module_from_spec(spec)
        sys.modules[name] = mods[name]
        spec.loader.exec_module(mods[name])
    yield mods
    sys.modules.pop("export", None)
    if saved is None: sys.modules.pop("model", None)
    else: sys.modules["model"] = saved

@pytest.fixture(scope="session")
def run_c(peers, tmp_path_factory) -> Path:
    if shutil.which("gcc") is None: pytest.skip("no C compiler (gcc) to build run.c")
    exe = tmp_path_factory.mktemp("runc")/"run"
    subprocess.run(["gcc", "-O3", "-fopenmp", peers/"run.c", "-lm", "-o", exe], check=True, capture_output=True)
    return exe

def stories(n: int = 400) -> list[str]:
    return [s.text for s, _ in zip(read_stories(sample_path()), range(n))]

def their_model(l2c, tied: bool = True, seed: int = 0):
    torch.manual_seed(seed)
    args = l2c["model"].ModelArgs(dim=64, n_layers=2, n_heads=4, n_kv_heads=2, vocab_size=320, multiple_of=32, max_seq_len=64)
    m = l2c["model"].Transformer(args).eval()
    if not tied: m.output.weight = torch.nn.Parameter(m.output.weight.detach() + 0.01 * torch.randn_like(m.output.weight))
    return m, args

def their_logits(m, ids):
    with torch.no_grad(): return m(ids, ids)            # with targets, llama2.c returns every position's logits

def our_logits(path, ids, **kw):
    model, _, _ = import_llama2c(path, tokenizer=False, device="cpu", **kw)
    with torch.no_grad(): return model(ids)[0]

# ---------------------------------------------------------------------------------------------- llama2.c's own files
@pytest.mark.parametrize("tied", [True, False])
def test_files_written_by_llama2c_load_with_its_logits(l2c, tmp_path, tied):
    m, args = their_model(l2c, tied)
    ids = torch.randint(0, 320, (2, 40))
    want = their_logits(m, ids)
    torch.save({"model": {f"_orig_mod.{k}": v for k, v in m.state_dict().items()}, "model_args": dataclasses.asdict(args),
                "iter_num": 10, "best_val_loss": 2.5, "config": {"batch_size": 8, "dataset": "tinystories"}}, tmp_path/"ckpt.pt")
    l2c["export"].legacy_export(m, str(tmp_path/"v0.bin"))
    m.params.vocab_size = abs(m.params.vocab_size)      # legacy_export negates it in place for an untied model
    l2c["export"].version1_export(m, str(tmp_path/"v1.bin"))
    for name in ("ckpt.pt", "v0.bin", "v1.bin"):
        assert (our_logits(tmp_path/name, ids) - want).abs().max() < 1e-4, name

def test_int8_files_dequantise_as_llama2c_quantised(l2c, tmp_path):
    m, _ = their_model(l2c)
    l2c["export"].version2_export(m, str(tmp_path/"v2.bin"), group_size=32)
    with torch.no_grad():                               # the model llama2.c's int8 weights stand for
        for name, w in m.named_parameters():
            if w.dim() == 2:
                q, s, _ = l2c["export"].quantize_q80(w, 32)
                w.copy_((q.float() * s[:, None]).view_as(w))
    ids = torch.randint(0, 320, (2, 40))
    assert (our_logits(tmp_path/"v2.bin", ids) - their_logits(m, ids)).abs().max() < 1e-4

@pytest.mark.parametrize("version", [0, 1, 2])
def test_our_bin_files_are_byte_for_byte_llama2cs(l2c, tmp_path, version):
    m, _ = their_model(l2c, tied=version != 1)
    ours = GPT(GPTConfig(family="modern", vocab_size=320, block_size=64, n_layer=2, n_head=4, n_kv_head=2, n_embd=64,
                         ffn_hidden=m.layers[0].feed_forward.w1.weight.shape[0], tie_embeddings=version != 1))
    ours.load_state_dict(import_llama2c_state(m, ours.cfg))
    write_bin(ours, tmp_path/"ours.bin", version=version, group_size=32)
    export = l2c["export"]
    {0: export.legacy_export, 1: export.version1_export, 2: lambda m, p: export.version2_export(m, p, group_size=32)}[version](m, str(tmp_path/"theirs.bin"))
    assert (tmp_path/"ours.bin").read_bytes() == (tmp_path/"theirs.bin").read_bytes()

def import_llama2c_state(m, cfg):
    from tinystories_nb.model.llama2c import from_llama2c_state_dict
    return from_llama2c_state_dict(cfg, m.state_dict())

def test_round_trip_through_llama2cs_model_is_exact(l2c, tmp_path):
    "Our weights -> llama2.c's names -> its Transformer: the same logits (so its training code can continue our models)."
    torch.manual_seed(3)
    ours = GPT(GPTConfig(family="modern", vocab_size=320, block_size=64, n_layer=2, n_head=4, n_kv_head=2, n_embd=64, ffn_hidden=192)).eval()
    m, _ = their_model(l2c)
    m.load_state_dict(to_llama2c_state_dict(ours), strict=False)
    ids = torch.randint(0, 320, (2, 40))
    with torch.no_grad(): assert (their_logits(m, ids) - ours(ids)[0]).abs().max() < 1e-4

# ----------------------------------------------------------------------------------------------------------- run.c
def runc_text(pieces: list[bytes], ids: list[int]) -> bytes:
    "What run.c prints for `ids` after BOS: each piece's bytes, but the first piece's leading space and lone unprintable bytes."
    out, prev = b"", 1
    for t in ids:
        p = pieces[t]
        if prev == 1 and p.startswith(b" "): p = p[1:]
        if m := re.fullmatch(rb"<0x([0-9A-F]{2})>", p): p = bytes([int(m[1], 16)])
        if p and p[0] != 0 and not (len(p) == 1 and not (32 <= p[0] < 127 or p[0] in b" \t\n\v\f\r")): out += p
        prev = t
    return out

def bin_pieces(path: Path) -> list[bytes]:
    raw, at, out = path.read_bytes(), 4, []
    while at < len(raw):
        _, n = struct.unpack_from("<fi", raw, at); out.append(raw[at + 8:at + 8 + n]); at += 8 + n
    return out

def assert_runc_agrees(run_c, folder: Path, steps: int = 120):
    "run.c's greedy text equals the package's greedy tokens printed by run.c's rules, up to a near-tie in the logits."
    res = subprocess.run([run_c, folder/"model.bin", "-z", folder/"tokenizer.bin", "-t", "0", "-n", str(steps)],
                         capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert res.returncode == 0, res.stderr
    model, tok, _ = import_llama2c(folder, device="cpu")
    ids = generate_ids(model, [[1]], max_new_tokens=steps, temperature=0, eot_id=1)[0]   # run.c: one token per step
    assert len(ids) > 20                                  # a real comparison, not two empty stories
    pieces, got = bin_pieces(folder/"tokenizer.bin"), res.stdout[:-1]     # run.c ends with a newline
    if got == runc_text(pieces, ids): return
    k = next(k for k in range(len(ids) + 1) if not got.startswith(runc_text(pieces, ids[:k + 1])))
    with torch.no_grad(): logits = model(torch.tensor([[1] + ids[:k]]))[0][0, -1]
    top2 = logits.topk(2).values
    assert top2[0] - top2[1] < 1e-4, f"run.c and the package part at token {k} with a clear winner ({float(top2[0] - top2[1]):.2e} apart)"

def test_run_c_writes_what_the_package_writes(run_c, tmp_path):
    tok = train_tokenizer(stories(), vocab_size=512)
    torch.manual_seed(0)
    model = GPT(GPTConfig(family="modern", vocab_size=520, block_size=128, n_layer=2, n_head=4, n_kv_head=2, n_embd=64,
                          tie_embeddings=False)).eval()
    with torch.no_grad(): model.lm_head.weight[tok.token_to_id("<|endoftext|>")] = 0   # random weights: keep it from ending at once
    export_llama2c(model, tmp_path/"out", tok)
    assert_runc_agrees(run_c, tmp_path/"out")

def test_run_c_runs_an_imported_llama2c_model_exported_again(l2c, run_c, tmp_path):
    "A llama2.c .pt with a sentencepiece vocabulary: import, export, and run.c agrees with the package on it."
    spm = pytest.importorskip("sentencepiece")
    model_file = train_sentencepiece(spm, tmp_path, vocab_size=320)
    m, args = their_model(l2c, tied=False, seed=1)
    with torch.no_grad():
        for w in m.parameters(): w.mul_(4) if w.dim() == 2 else None    # livelier text than a fresh init's
        m.output.weight[1] = 0
    torch.save({"model": m.state_dict(), "model_args": dataclasses.asdict(args)}, tmp_path/"ckpt.pt")
    model, tok, _ = import_llama2c(tmp_path/"ckpt.pt", tokenizer=model_file)
    export_llama2c(model, tmp_path/"out", tok)
    assert_runc_agrees(run_c, tmp_path/"out", steps=60)

# -------------------------------------------------------------------------------------------------- sentencepiece
def train_sentencepiece(spm, d: Path, vocab_size: int = 512, model_type: str = "bpe", **kw) -> Path:
    "A sentencepiece model trained the way llama2.c trains its TinyStories vocabularies."
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(stories()), model_writer=buf, model_type=model_type,
        vocab_size=vocab_size, self_test_sample_size=0, character_coverage=1.0, num_threads=1, split_digits=True,
        allow_whitespace_only_pieces=True, byte_fallback=True, unk_surface=r" \342\201\207 ",
        normalization_rule_name="identity", minloglevel=2, **kw)
    (p := d/f"tok{vocab_size}.model").write_bytes(buf.getvalue())
    return p

CHECK_TEXTS = ["  Two  spaces,\ttabs\tand\nnew lines. ", "Ünïcödé, emoji 😀 and 日本語 fall back to bytes.", "", "12345 apples"]

@pytest.mark.parametrize("model_type,kw", [("bpe", {}), ("bpe", {"remove_extra_whitespaces": False}), ("unigram", {})])
def test_sentencepiece_models_encode_as_sentencepiece_does(tmp_path, model_type, kw):
    spm = pytest.importorskip("sentencepiece")
    path = train_sentencepiece(spm, tmp_path, model_type=model_type, **kw)
    sp, ours = spm.SentencePieceProcessor(model_file=str(path)), sentencepiece_tokenizer(read_sentencepiece(path))
    for text in stories(1000)[200:] + CHECK_TEXTS:
        ids = sp.encode(text)
        assert ours.encode(text).ids == ids, text[:80]
        assert ours.decode(ids) == sp.decode(ids)

def test_tokenizer_bin_from_llama2cs_tokenizer_py(peers, tmp_path):
    "llama2.c's tokenizer.py writes tokenizer.bin from a .model; read back, it encodes as the .model does."
    pytest.importorskip("sentencepiece")
    path = train_sentencepiece(pytest.importorskip("sentencepiece"), tmp_path, remove_extra_whitespaces=False)
    subprocess.run([sys.executable, peers/"tokenizer.py", "-t", path], check=True, capture_output=True, cwd=tmp_path)
    from_bin, from_model = (sentencepiece_tokenizer(f(p)) for f, p in ((read_tokenizer_bin, path.with_suffix(".bin")), (read_sentencepiece, path)))
    for text in stories(300) + CHECK_TEXTS:
        assert from_bin.encode(text).ids == from_model.encode(text).ids

# ---------------------------------------------------------------------------------------------------- bad files
class Hook:
    "Any class: unpickling one means running the code that builds it."
def test_bad_files_get_one_clear_error(tmp_path):
    bad = tmp_path/"model.bin"
    for content, message in [(b"", "too short"), (b"\x00" * 28, "implausible header"),
                             (struct.pack("<7i", 64, 192, 2, 4, 4, 320, 64) + b"\0" * 100, "truncated or damaged"),
                             (struct.pack("<Ii", 0x616B3432, 9) + b"\0" * 300, "version 9")]:
        bad.write_bytes(content)
        with pytest.raises(TinyStoriesError, match=message): import_llama2c(bad, tokenizer=False)
    pt = tmp_path/"evil.pt"
    torch.save({"model": {}, "model_args": {}, "x": Hook()}, pt)
    with pytest.raises(TinyStoriesError, match="was not loaded"): import_llama2c(pt, tokenizer=False)
    (tmp_path/"tokenizer.bin").write_bytes(struct.pack("<ifi", 5, 0.0, 99) + b"abc")
    with pytest.raises(TinyStoriesError, match="claims 99 bytes"): read_tokenizer_bin(tmp_path/"tokenizer.bin")
    (tmp_path/"tok.model").write_bytes(b"\x0a\xff\xff\xff")
    with pytest.raises(TinyStoriesError, match="not a sentencepiece model"): read_sentencepiece(tmp_path/"tok.model")

# ---------------------------------------------------------------------------------------------------------- the CLI
def cli(*argv) -> tuple[int, str, str]:
    res = subprocess.run([sys.executable, "-m", "tinystories_nb.app.cli", *map(str, argv)], capture_output=True, text=True, timeout=300)
    return res.returncode, res.stdout, res.stderr

def test_cli_samples_and_exports_a_llama2c_checkpoint(tmp_path):
    "`tinystories sample --ckpt ckpt.pt` with its sentencepiece tokenizer, and `tinystories export` back to llama2.c files."
    spm = pytest.importorskip("sentencepiece")
    tok_file = train_sentencepiece(spm, tmp_path, vocab_size=320)
    torch.manual_seed(0)
    ours = GPT(GPTConfig(family="modern", vocab_size=320, block_size=64, n_layer=2, n_head=4, n_embd=64))
    args = {"dim": 64, "n_layers": 2, "n_heads": 4, "n_kv_heads": 4, "vocab_size": 320, "multiple_of": 32, "max_seq_len": 64, "dropout": 0.0}
    (d := tmp_path/"model").mkdir()
    torch.save({"model": to_llama2c_state_dict(ours), "model_args": args}, d/"stories.pt")
    rc, out, err = cli("sample", "--ckpt", d/"stories.pt", "--tokenizer", tok_file, "--prompt", "Once upon a time",
                       "--max-new-tokens", "20", "--seed", "0", "--device", "cpu")
    assert rc == 0 and out.startswith("Once upon a time"), err
    shutil.copy(tok_file, d/"tokenizer.model")                                    # found beside the model
    rc, out2, err = cli("sample", "--ckpt", d/"stories.pt", "--prompt", "Once upon a time", "--max-new-tokens", "20", "--seed", "0", "--device", "cpu")
    assert (rc, out2) == (0, out), err
    rc, out, err = cli("export", "--ckpt", d/"stories.pt", "--out", tmp_path/"runc")
    assert rc == 0 and "./run" in out, err
    assert sorted(f.name for f in (tmp_path/"runc").iterdir()) == ["model.bin", "tokenizer.bin", "tokenizer.json"]
    back, tok, _ = import_llama2c(tmp_path/"runc", device="cpu")
    ids = torch.randint(0, 320, (1, 20))
    with torch.no_grad(): assert torch.equal(back(ids)[0], ours(ids)[0])           # a sentencepiece vocabulary keeps its ids

def test_cli_refuses_a_damaged_file_in_one_line(tmp_path):
    (tmp_path/"model.bin").write_bytes(struct.pack("<7i", 64, 192, 2, 4, 4, 320, 64) + b"\0" * 1000)
    rc, _, err = cli("sample", "--ckpt", tmp_path/"model.bin")
    assert rc == 2 and err.count("\n") == 1 and "truncated or damaged" in err, err
