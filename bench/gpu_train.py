"""The one prepared script for a GPU: train the paper's 33M preset at T = 512 (local layers through SDPA with a mask,
then through FlexAttention) and llama2.c's 15M preset at T = 256, through the package's trainer with torch.compile,
and print tokens/s, model FLOPs utilisation, peak memory and the loss after the timed steps, side by side.

    python bench/gpu_train.py                       # the three runs, ~5 minutes on one H100
    python bench/gpu_train.py --steps 50            # shorter
    python bench/gpu_train.py --data DIR            # real prepared tokens instead of random ones
    python bench/gpu_train.py --cpu-check           # the same code path on the CPU: tiny shapes, fp32, no compile

MFU is `tinystories_nb.model.train.mfu`: PaLM's count (6·N per token for the weights in matmuls, plus 12·C·S per layer
for attention over S keys, S = min(T, window) for local layers) over the matmul peak measured by
`train.matmul_peak` in the training dtype on this device; the datasheet's dense peak is shown beside it. Random
tokens are the default: throughput does not depend on the data, and the GPU machine needs nothing but this checkout."""
import argparse, json, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # run from a bare checkout too

DATASHEET = {"bf16": [("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("GH200", 989e12), ("A100", 312e12),
                      ("L40S", 362e12), ("L4", 121e12), ("A10", 125e12)],
             "fp16": [("H100 PCIe", 756e12), ("H100", 989e12), ("H200", 989e12), ("A100", 312e12), ("V100", 125e12),
                      ("T4", 65e12), ("L4", 121e12)]}   # dense tensor-core peaks, FLOP/s

RUNS = [dict(name="33M sdpa", preset="33M", seq_len=512, attention="sdpa"),
        dict(name="33M flex", preset="33M", seq_len=512, attention="flex"),
        dict(name="15M", preset="15M", seq_len=256, attention="auto")]

def one_run(run: dict, a, data, device: str, dtype: str) -> dict:
    import torch
    from tinystories_nb.model.gpt import preset
    from tinystories_nb.model.train import Callback, TrainConfig, matmul_peak, mfu, train
    times, losses = [], []
    class Timer(Callback):
        def on_step_end(self, tr, rec): times.append(tr.tokens_per_step / rec["tokens_per_s"]); losses.append(rec["train_loss"])
    cfg = TrainConfig(preset=run["preset"], model={"block_size": run["seq_len"]}, max_steps=a.warmup + a.steps,
                      batch_size=a.batch_size, grad_accum=a.grad_accum, seq_len=run["seq_len"], lr=5e-4, warmup_steps=a.warmup,
                      eval_every=0, dtype=dtype, compile=not a.no_compile, device=device, attention=run["attention"])
    if device.startswith("cuda"): torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats(device)
    t0 = time.time()
    res = train(cfg, data, callbacks=[Timer()])
    wall = time.time() - t0
    mcfg = preset(run["preset"], vocab_size=data.vocab_size, block_size=run["seq_len"])
    timed = times[a.warmup:]
    tps = a.batch_size * a.grad_accum * run["seq_len"] * len(timed) / sum(timed)
    peak = matmul_peak(device, dtype, budget_s=2.0)[0]
    return {**run, "tokens_per_s": tps, "mfu": mfu(tps, mcfg, peak, run["seq_len"]), "peak_flops": peak,
            "first_step_s": times[0], "wall_s": wall, "loss_first": losses[0], "loss_last": res.train_loss,
            "steps": len(times), "peak_mem_gib": torch.cuda.max_memory_allocated(device) / 2**30 if device.startswith("cuda") else None}

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vocab", type=int, default=8192, help="vocabulary of the random tokens")
    ap.add_argument("--batch-size", type=int, default=64, help="sequences per micro-batch")
    ap.add_argument("--grad-accum", type=int, default=2, help="micro-batches per step")
    ap.add_argument("--steps", type=int, default=100, help="timed steps per run")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps first (compilation)")
    ap.add_argument("--dtype", default="auto", help="auto (the trainer's choice: bf16 where native, else fp16), bf16, fp16, fp32")
    ap.add_argument("--device", default="auto", help="auto, cuda, cuda:N")
    ap.add_argument("--no-compile", action="store_true", help="eager mode (FlexAttention then falls back to SDPA)")
    ap.add_argument("--only", default=None, help="comma-separated run names to do (default: all)")
    ap.add_argument("--data", help="a prepared directory (default: random tokens)")
    ap.add_argument("--json", help="write the figures to this JSON file too")
    ap.add_argument("--cpu-check", action="store_true", help="check the script on the CPU: tiny shapes, fp32, no compile, 4 steps")
    a = ap.parse_args()
    runs = [r for r in RUNS if a.only is None or r["name"] in a.only.split(",")]
    if a.cpu_check:
        a.vocab, a.batch_size, a.grad_accum, a.steps, a.warmup, a.dtype, a.device, a.no_compile = 512, 2, 1, 3, 1, "fp32", "cpu", True
        runs = [dict(r, seq_len=r["seq_len"] // 8, attention="sdpa" if r["attention"] == "flex" else r["attention"]) for r in runs]

    import numpy as np, torch
    from tinystories_nb.core import pick_device, precision
    from tinystories_nb.model.train import TokenArrays
    device = pick_device(a.device)
    prec = precision(device, a.dtype)
    name = torch.cuda.get_device_name(device) if device.startswith("cuda") else "CPU"
    if a.data:
        from tinystories_nb.data.tokenize import load_prepared
        data = load_prepared(a.data)
    else:
        toks = np.random.default_rng(0).integers(0, a.vocab, 1 << (16 if a.cpu_check else 24), dtype=np.int64).astype(np.uint16)
        data = TokenArrays(toks, toks[: 1 << 16], a.vocab)
    sheet = next((v for k, v in DATASHEET.get(prec.dtype, []) if k in name), None) if device.startswith("cuda") else None
    print(f"{name}, torch {torch.__version__}: {prec.dtype} ({prec.reason}); compile={not a.no_compile}; "
          f"{a.batch_size} x {a.grad_accum} sequences per step; {a.steps} timed steps after {a.warmup}")
    rows = []
    for run in runs:
        r = one_run(run, a, data, device, prec.dtype)
        rows.append(r)
        print(f"  ran {r['name']}: {r['tokens_per_s']:,.0f} tokens/s", file=sys.stderr)
    print(f"\n{'run':<10}{'T':>5}{'attention':>10}{'tokens/s':>12}{'MFU':>7}{'datasheet MFU':>15}{'peak GiB':>10}"
          f"{'compile s':>10}{'loss first→last':>18}")
    for r in rows:
        dmfu = f"{r['mfu'] * r['peak_flops'] / sheet:.1%}" if sheet else "-"
        mem = f"{r['peak_mem_gib']:.1f}" if r["peak_mem_gib"] is not None else "-"
        print(f"{r['name']:<10}{r['seq_len']:>5}{r['attention']:>10}{r['tokens_per_s']:>12,.0f}{r['mfu']:>7.1%}{dmfu:>15}{mem:>10}"
              f"{r['first_step_s']:>10.1f}{r['loss_first']:>9.3f}→{r['loss_last']:.3f}")
    flex = {r["name"]: r for r in rows}
    if "33M sdpa" in flex and "33M flex" in flex:
        print(f"\nFlexAttention vs SDPA with a mask (33M, T = {flex['33M flex']['seq_len']}): "
              f"{flex['33M flex']['tokens_per_s'] / flex['33M sdpa']['tokens_per_s']:.2f}x tokens/s")
    print(f"matmul peak measured in {prec.dtype}: {rows[0]['peak_flops'] / 1e12:,.1f} TFLOP/s" +
          (f"; datasheet {sheet / 1e12:,.0f} TFLOP/s" if sheet else ""))
    if a.json: Path(a.json).write_text(json.dumps({"device": name, "precision": prec._asdict(), "runs": rows}, indent=2))

if __name__ == "__main__":
    main()
