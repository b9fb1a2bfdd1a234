"""An imported GPT-2 is an ordinary `GPT`: checkpoint loading, the sampler (batched, past its context tricks), the
KV-cache decoder, the attention-weights path, neuron hooks and the evaluation runner all work on it and agree with
`transformers`' `GPT2LMHeadModel` on the same weights."""
import json
from pathlib import Path
import pytest
import torch

transformers = pytest.importorskip("transformers")
from transformers import GPT2Config, GPT2LMHeadModel
from tinystories_nb.core import TinyStoriesError
from tinystories_nb.model.hf import export_hf, import_hf

V = 300


def _tokenizer():
    from tokenizers import Tokenizer, models, trainers, pre_tokenizers, decoders
    from tinystories_nb.synth.samples import sample_path
    texts = sample_path().read_text(encoding="utf-8").split("<|endoftext|>")[:100]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer, tok.decoder = pre_tokenizers.ByteLevel(add_prefix_space=False), decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(vocab_size=V, special_tokens=["<|endoftext|>"], show_progress=False,
                                                       initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return tok


@pytest.fixture(scope="module")
def gpt2_dir(tmp_path_factory):
    "A random GPT2LMHeadModel (weights drawn large, biases too) saved with save_pretrained, with a tokenizer."
    torch.manual_seed(0)
    tok = _tokenizer()
    hf = GPT2LMHeadModel(GPT2Config(vocab_size=tok.get_vocab_size(), n_positions=128, n_embd=48, n_layer=3, n_head=4,
                                    bos_token_id=0, eos_token_id=0, scale_attn_by_inverse_layer_idx=True))
    with torch.no_grad():
        for n, p in hf.named_parameters(): p.normal_(1.0 if ".ln_" in n and n.endswith("weight") else 0.0, 0.15)
    d = tmp_path_factory.mktemp("gpt2")/"model"
    hf.save_pretrained(d)
    tok.save(str(d/"tokenizer.json"))
    return d, hf.eval(), tok


def _hf_logits(hf, idx):
    with torch.no_grad(): return hf(input_ids=idx).logits


def test_load_model_reads_gpt2_dirs(gpt2_dir, tmp_path):
    from tinystories_nb.model.checkpoint import load_model
    d, hf, tok = gpt2_dir
    idx = torch.randint(0, V, (2, 100))
    model, tok2, meta = load_model(d)
    assert meta["format"] == "huggingface" and meta["model"]["config"]["qkv_bias"] is True
    torch.testing.assert_close(model(idx)[0].detach(), _hf_logits(hf, idx), atol=1e-4, rtol=0)
    assert tok2.encode("Once upon a time").ids == tok.encode("Once upon a time").ids
    # the same weights as a pickled pytorch_model.bin in the released layout (no prefix, mask buffers saved)
    b = tmp_path/"bin"; b.mkdir()
    sd = {k.removeprefix("transformer."): v for k, v in hf.state_dict().items() if k != "lm_head.weight"}
    sd |= {f"h.{i}.attn.bias": torch.ones(1, 1, 128, 128).tril() for i in range(3)}
    torch.save(sd, b/"pytorch_model.bin")
    for f in ("config.json", "tokenizer.json"): (b/f).write_text((d/f).read_text())
    model, _, _ = load_model(b)
    torch.testing.assert_close(model(idx)[0].detach(), _hf_logits(hf, idx), atol=1e-4, rtol=0)


def test_sampler_batched_and_decoder(gpt2_dir):
    from tinystories_nb.model.sample import generate_ids
    d, hf, _ = gpt2_dir
    model, _ = import_hf(d, tokenizer=False)
    prompts = [[5, 17, 200, 4], [9], list(range(40, 70))]
    batched = generate_ids(model, prompts, max_new_tokens=60, temperature=0)
    for p, row in zip(prompts, batched):
        ids = torch.tensor([p])
        with torch.no_grad():
            ref = hf.generate(input_ids=ids, attention_mask=torch.ones_like(ids), do_sample=False, max_new_tokens=60,
                              min_new_tokens=60, pad_token_id=0, eos_token_id=None)[0, len(p):].tolist()
        assert row == ref
    # sampling with a seed is reproducible and the top-k cut holds
    kw = dict(max_new_tokens=30, temperature=1.0, top_k=5, seed=3)
    assert generate_ids(model, prompts, **kw) == generate_ids(model, prompts, **kw)


def test_attention_and_neurons_match_transformers(gpt2_dir):
    from tinystories_nb.studies.attention import attention_weights
    from tinystories_nb.studies.neurons import neuron_activations
    d, hf, _ = gpt2_dir
    model, _ = import_hf(d, tokenizer=False)
    idx = torch.randint(0, V, (1, 40))
    logits, atts = attention_weights(model, idx)
    hf_logits, hf_atts = attention_weights(hf, idx)
    torch.testing.assert_close(logits, hf_logits, atol=1e-4, rtol=0)
    for a, b in zip(atts, hf_atts): torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    for layer in range(3):
        torch.testing.assert_close(neuron_activations(model, idx, layer), neuron_activations(hf, idx, layer), atol=1e-4, rtol=0)


def test_evaluation_runs_on_gpt2(gpt2_dir):
    from tinystories_nb.eval.completions import EvalPrompt, complete
    d, _, tok = gpt2_dir
    model, tok2 = import_hf(d)
    prompts = [EvalPrompt(kind="beginning", id=f"b{i}", text=t) for i, t in enumerate(["Once upon a time", "Lily saw a dog"])]
    rows = complete(model, tok2, prompts, n=2, max_new_tokens=20, seed=0)
    assert [len(r) for r in rows] == [2, 2] and all(c["tokens"] <= 20 for r in rows for c in r)
    assert rows == complete(model, tok2, prompts, n=2, max_new_tokens=20, seed=0)


def test_export_round_trip_and_refusals(gpt2_dir, tmp_path):
    d, hf, tok = gpt2_dir
    model, _ = import_hf(d, tokenizer=False)
    export_hf(model, tmp_path/"out", tok)
    cfg = json.loads((tmp_path/"out"/"config.json").read_text())
    assert cfg["model_type"] == "gpt2" and cfg["scale_attn_by_inverse_layer_idx"] is True
    back = GPT2LMHeadModel.from_pretrained(tmp_path/"out").eval()
    idx = torch.randint(0, V, (2, 128))
    torch.testing.assert_close(_hf_logits(back, idx), _hf_logits(hf, idx), atol=1e-4, rtol=0)
    bad = json.loads((d/"config.json").read_text()) | {"activation_function": "relu"}
    (tmp_path/"bad").mkdir(); (tmp_path/"bad"/"config.json").write_text(json.dumps(bad))
    with pytest.raises(TinyStoriesError, match="activation 'relu' is not supported"): import_hf(tmp_path/"bad")
