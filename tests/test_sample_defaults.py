"""Sampling defaults fit the model: `max_new_tokens=None` fills the context after the prompt (`generate`, `generate_ids`,
`tinystories sample`, the widget's length slider); an explicit value that does not fit is a clear TinyStoriesError."""
import contextlib, io, json
import pytest
import torch
from tinystories_nb.core import TinyStoriesError
from tinystories_nb.model.gpt import GPT, preset
from tinystories_nb.model.sample import SamplerWidget, generate, generate_ids
from tinystories_nb.data.tokenize import train_tokenizer


@pytest.fixture(scope="module")
def tiny():
    tok = train_tokenizer(["Once upon a time there was a little dog. It was happy."] * 20, vocab_size=300)
    torch.manual_seed(0)
    return GPT(preset("tiny", vocab_size=tok.get_vocab_size())).eval(), tok     # block_size 64


def test_readme_snippet_fits_the_tiny_preset(tiny):
    model, tok = tiny
    assert model.cfg.block_size == 64
    outs = generate(model, tok, ["Once upon a time"], n=2, temperature=0.8)
    assert len(outs) == 1 and len(outs[0]) == 2


def test_default_fills_the_context(tiny):
    model, tok = tiny
    prompt = [tok.token_to_id("<|endoftext|>")] + tok.encode("Once upon a time").ids
    rows = generate_ids(model, [prompt], temperature=0)                  # no EOT stop: exactly what fits
    assert len(rows[0]) == 64 - len(prompt)
    with pytest.raises(TinyStoriesError, match="fills the model's context"): generate_ids(model, [[1] * 64])


def test_explicit_value_that_does_not_fit_is_an_error(tiny):
    model, tok = tiny
    with pytest.raises(TinyStoriesError, match=r"exceed the model's context \(64\)"):
        generate(model, tok, ["Once upon a time"], max_new_tokens=256)


def test_cli_default_and_widget_slider(tiny, tmp_path):
    from tinystories_nb.model.checkpoint import save_checkpoint
    from tinystories_nb.app.cli import main
    model, tok = tiny
    save_checkpoint(tmp_path/"run"/"ckpt", 1, model, tokenizer=tok)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["sample", "--ckpt", str(tmp_path/"run"), "--temperature", "0", "--jsonl"]) == 0
    rec = json.loads(out.getvalue())
    assert rec["max_new_tokens"] is None and rec["completion"] == generate(model, tok, "Once upon a time", temperature=0)[0][0]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main(["sample", "--ckpt", str(tmp_path/"run"), "--max-new-tokens", "256"]) == 2
    assert "exceed the model's context (64)" in err.getvalue()
    w = SamplerWidget({"tiny": (model, tok)})
    assert (w.max_new_tokens.value, w.max_new_tokens.max) == (64, 64)
    assert w.set(temperature=0).run().startswith("Once upon a time")
