"""`metrics.val_metrics` reproduces the trainer's own validation numbers for the same model and settings."""
import math
import numpy as np
import pytest
from tinystories_nb.eval.metrics import val_metrics
from tinystories_nb.model.gpt import GPT, preset
from tinystories_nb.model.train import TokenArrays, TrainConfig, train

def test_val_metrics_equals_the_trainers_evaluation():
    rng = np.random.default_rng(0)
    data = TokenArrays(rng.integers(0, 64, 20_000).astype(np.uint16), rng.integers(0, 64, 3_000).astype(np.uint16), 64, val_bytes_per_token=3.5)
    model = GPT(preset("tiny", vocab_size=64, block_size=32))
    cfg = TrainConfig(max_steps=8, batch_size=8, seq_len=32, warmup_steps=2, eval_every=8, eval_tokens=1024, device="cpu", dtype="fp32")
    res = train(cfg, data, model=model, callbacks=[])
    vm = val_metrics(model, data, eval_tokens=cfg.eval_tokens, seq_len=32, batch_size=8)
    assert vm["val_loss"] == pytest.approx(res.val_loss, abs=1e-5)
    assert vm["val_bpb"] == pytest.approx(res.val_bpb, abs=1e-5)
    assert vm["val_bpb"] == pytest.approx(vm["val_loss"] / 3.5 / math.log(2))
