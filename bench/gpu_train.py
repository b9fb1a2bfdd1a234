"""Train the 33M preset on one GPU with bf16 autocast and torch.compile through the package's trainer, and print
tokens/s and model FLOPs utilisation against the GPU's measured bf16 matmul peak and its datasheet peak.

    python bench/gpu_train.py                        # 33M, vocab 8192, T 512, 64 x 4 sequences per step, ~3 minutes
    python bench/gpu_train.py --data DIR             # real prepared tokens instead of random ones
    python bench/gpu_train.py --cpu-check            # the same code path on the CPU: tiny preset, fp32, no compile

Random tokens are the default (throughput does not depend on the data, and the GPU machine needs nothing
but this checkout). MFU counts 6·N FLOPs per token (N = weights in matmuls: non-embedding parameters plus the
tied output head), and is also shown with the attention term (6·L·T·C per token, causal-halved not applied,
as nanoGPT counts it)."""
import argparse, json, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run from a bare checkout too

DATASHEET_BF16 = [("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("GH200", 989e12), ("A100", 312e12),
                  ("L40S", 362e12), ("L4", 121e12), ("A10", 125e12)]   # dense bf16 tensor-core peaks, FLOP/s

def datasheet_peak(name: str) -> float | None:
    return next((v for k, v in DATASHEET_BF16 if k in name), None)

def measured_peak(device: str, n: int = 8192, reps: int = 10) -> float:
    "bf16 matmul FLOP/s on `device` (CUDA events), or fp32 on the CPU."
    import torch
    if not device.startswith("cuda"):
        a = torch.randn(1024, 1024); b = torch.randn(1024, 1024); a @ b
        t = time.perf_counter()
        for _ in range(5): a @ b
        return 2 * 1024**3 * 5 / (time.perf_counter() - t)
    a = torch.randn(n, n, device=device, dtype=torch.bfloat16); b = torch.randn(n, n, device=device, dtype=torch.bfloat16)
    for _ in range(3): a @ b
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(reps):
        start.record(); a @ b; end.record(); torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / 1e3)
    return 2 * n**3 / sorted(times)[len(times) // 2]

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="33M"); ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--seq-len", type=int, default=512)
    ap.add_argument("--batch-size", type=int, default=64); ap.add_argument("--grad-accum", type=int, default=4)
    ap.add_argument("--steps", type=int, default=200, help="timed steps"); ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--dtype", default="bf16"); ap.add_argument("--device", default="cuda")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--data", help="a prepared directory (default: random tokens)")
    ap.add_argument("--out", help="also write a run directory (metrics, a final checkpoint) here")
    ap.add_argument("--json", help="write the figures to this JSON file too")
    ap.add_argument("--cpu-check", action="store_true", help="check the script on the CPU: tiny preset, fp32, no compile, 6 steps")
    a = ap.parse_args()
    if a.cpu_check:
        a.preset, a.vocab, a.seq_len, a.batch_size, a.grad_accum, a.steps, a.warmup = "tiny", 512, 64, 4, 2, 4, 2
        a.dtype, a.device, a.no_compile = "fp32", "cpu", True

    import numpy as np, torch
    from tinystories_nb.core import pick_device
    from tinystories_nb.train import Callback, TokenArrays, TrainConfig, default_callbacks, mfu, train
    device = pick_device(a.device)
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "CPU"
    if a.data:
        from tinystories_nb.tokenize import load_prepared
        data = load_prepared(a.data)
    else:
        toks = np.random.default_rng(0).integers(0, a.vocab, 1 << (16 if a.cpu_check else 24), dtype=np.int64).astype(np.uint16)
        data = TokenArrays(toks, toks[: 1 << 16], a.vocab)

    peak = measured_peak(device)
    sheet = datasheet_peak(name) if device.startswith("cuda") else None
    times = []
    class Timer(Callback):
        def on_step_end(self, tr, rec): times.append(tr.tokens_per_step / rec["tokens_per_s"])
    cfg = TrainConfig(preset=a.preset, model={"block_size": a.seq_len}, max_steps=a.warmup + a.steps, batch_size=a.batch_size,
                      grad_accum=a.grad_accum, seq_len=a.seq_len, lr=5e-4, warmup_steps=a.warmup, eval_every=0,
                      dtype=a.dtype, compile=not a.no_compile, device=device)
    if device.startswith("cuda"): torch.cuda.reset_peak_memory_stats(device)
    t0 = time.time()
    res = train(cfg, data, out=a.out, callbacks=default_callbacks(cfg, a.out) + [Timer()])
    wall = time.time() - t0
    from tinystories_nb.model import preset
    mcfg = preset(a.preset, vocab_size=data.vocab_size, block_size=a.seq_len)
    timed = times[a.warmup:]
    tokens_per_step = a.batch_size * a.grad_accum * a.seq_len
    tps = tokens_per_step * len(timed) / sum(timed)
    out = {"device": name, "preset": a.preset, "dtype": a.dtype, "compile": not a.no_compile, "seq_len": a.seq_len,
           "tokens_per_step": tokens_per_step, "steps_timed": len(timed), "tokens_per_s": tps,
           "first_step_s": times[0], "wall_s": wall, "final_train_loss": res.train_loss,
           "measured_peak_tflops": peak / 1e12, "datasheet_peak_tflops": sheet / 1e12 if sheet else None,
           "mfu_measured": mfu(tps, mcfg, peak), "mfu_measured_with_attn": mfu(tps, mcfg, peak, a.seq_len, attention=True),
           "mfu_datasheet": mfu(tps, mcfg, sheet) if sheet else None,
           "peak_mem_gb": torch.cuda.max_memory_allocated(device) / 2**30 if device.startswith("cuda") else None}
    print(f"{name}: preset {a.preset}, {a.dtype}, compile={not a.no_compile}, {out['tokens_per_step']:,} tokens/step, "
          f"first step (compile) {times[0]:.1f}s, {len(timed)} timed steps")
    print(f"throughput: {tps:,.0f} tokens/s; final train loss {res.train_loss:.3f}")
    print(f"matmul peak (measured): {peak / 1e12:,.{1 if peak > 1e12 else 4}f} TFLOP/s -> MFU {out['mfu_measured']:.1%} "
          f"({out['mfu_measured_with_attn']:.1%} counting attention)")
    if sheet: print(f"datasheet bf16 peak: {sheet / 1e12:,.0f} TFLOP/s -> MFU {out['mfu_datasheet']:.1%}")
    if out["peak_mem_gb"] is not None: print(f"peak GPU memory: {out['peak_mem_gb']:.1f} GiB")
    if a.json: Path(a.json).write_text(json.dumps(out, indent=2))

if __name__ == "__main__":
    main()
