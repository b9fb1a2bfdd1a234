"""Training throughput on this machine's CPU: the package's trainer vs Hugging Face `GPTNeoForCausalLM` of the same
shape and precision, side by side in one run, plus the compile-or-not question for the small presets.

    python bench/bench_train.py                      # 8M preset, vocab 8192, T 256, batch 8; fp32 and bf16
    python bench/bench_train.py --dtypes fp32 --steps 10
    python bench/bench_train.py --smoke              # tiny shapes, no compile, seconds: checks the script itself

Each configuration runs in its own process (fresh allocator, so peak memory is its own, and compile caches do
not leak between rows). Throughput is from the median optimizer step (forward, backward, clipping, AdamW, batch
assembly) after `--warmup` steps, best of `--rounds` interleaved runs; the first step, which pays for
torch.compile, is reported separately. MFU is `tinystories_nb.model.train.mfu` (tokens/s × `flops_per_token`: 6·N for the
weights in matmuls plus 12·C·S for attention) over this machine's matmul peak in the same dtype (`train.matmul_peak`)."""
import argparse, json, os, resource, subprocess, sys, tempfile, time

def rss_mb() -> float:
    with open("/proc/self/statm") as f: return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def peak_rss_mb() -> float: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

def matmul_peak(dtype: str, threads: int, max_n: int = 2048, budget_s: float = 3.0) -> tuple[float, int]:
    "Best FLOP/s of square matmuls in `dtype` on `threads` CPU threads: the trainer's `matmul_peak`, measured afresh."
    import torch
    from tinystories_nb.model.train import matmul_peak as peak
    torch.set_num_threads(threads)
    return peak.__wrapped__("cpu", dtype, max_n, budget_s)     # not the cached value: the machine is shared

# ---- one configuration, in a worker process ---------------------------------------------------------------
def random_tokens(vocab: int, n: int = 1 << 20, seed: int = 0):
    import numpy as np
    return np.random.default_rng(seed).integers(0, vocab, n, dtype=np.int64).astype(np.uint16 if vocab <= 65536 else np.uint32)

def run_ours(s: dict) -> dict:
    from tinystories_nb.model.train import Callback, TokenArrays, TrainConfig, train
    toks = random_tokens(s["vocab"])
    data = TokenArrays(toks, toks[: 1 << 14], s["vocab"])
    times = []
    class Timer(Callback):
        def on_step_end(self, tr, rec): times.append(tr.tokens_per_step / rec["tokens_per_s"])
    cfg = TrainConfig(preset=s["preset"], model={"block_size": s["seq_len"]},
                      max_steps=s["warmup"] + s["steps"], batch_size=s["batch"], seq_len=s["seq_len"], eval_every=0,
                      dtype=s["dtype"], compile=s["compile"], threads=s["threads"], device="cpu", warmup_steps=10)
    t0 = time.perf_counter()
    train(cfg, data, callbacks=[Timer()])
    return {"first_step_s": times[0], "step_s": times[s["warmup"]:], "wall_s": time.perf_counter() - t0}

def run_hf(s: dict) -> dict:
    import numpy as np, torch
    from tinystories_nb.core import autocast
    from tinystories_nb.model.hf import config_to_hf
    from tinystories_nb.model.gpt import preset
    from transformers import GPTNeoForCausalLM
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    torch.set_num_threads(s["threads"]); torch.manual_seed(0)
    mcfg = preset(s["preset"], vocab_size=s["vocab"], block_size=s["seq_len"])
    model = GPTNeoForCausalLM(config_to_hf(mcfg)).train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    other = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": other, "weight_decay": 0.0}],
                            lr=1e-4, betas=(0.9, 0.95), fused=True)
    toks = random_tokens(s["vocab"])
    rng = np.random.default_rng(0)
    T, B = s["seq_len"], s["batch"]
    times, t_start = [], time.perf_counter()
    for _ in range(s["warmup"] + s["steps"]):
        t0 = time.perf_counter()
        starts = rng.integers(0, len(toks) - T, size=B)
        w = torch.from_numpy(toks[starts[:, None] + np.arange(T + 1)].astype(np.int64))
        x, y = w[:, :-1], w[:, 1:]
        with autocast("cpu", s["dtype"]):
            logits = model(input_ids=x).logits
        loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step(); opt.zero_grad(set_to_none=True)
        loss.item()
        times.append(time.perf_counter() - t0)
    return {"first_step_s": times[0], "step_s": times[s["warmup"]:], "wall_s": time.perf_counter() - t_start,
            "attn": model.config._attn_implementation}

def worker(spec: str):
    s = json.loads(spec)
    import torch, tinystories_nb.model.train  # noqa: F401  (imports are not the model's memory)
    if s["impl"] == "hf": import transformers.models.gpt_neo.modeling_gpt_neo  # noqa: F401
    torch.set_num_threads(s["threads"])
    base = rss_mb()
    r = run_ours(s) if s["impl"] == "ours" else run_hf(s)
    st = sorted(r["step_s"])
    r["tokens_per_s"] = s["batch"] * s["seq_len"] / st[len(st) // 2]          # median step: robust to a noisy machine
    r["peak_rss_mb"], r["base_rss_mb"] = peak_rss_mb(), base
    r["matmul_peak"] = matmul_peak(s["dtype"], s["threads"], max_n=s["peak_n"], budget_s=1.0)[0]   # re-measured: the machine is shared
    print("RESULT " + json.dumps(r))

def spawn(spec: dict) -> dict:
    "Run one configuration in a fresh process, with an empty inductor cache so compile times are cold ones."
    with tempfile.TemporaryDirectory() as cache:
        p = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True,
                           env={**os.environ, "TINYSTORIES_PROGRESS": "0", "TORCHINDUCTOR_CACHE_DIR": cache})
    line = next((l for l in p.stdout.splitlines() if l.startswith("RESULT ")), None)
    if p.returncode or line is None: raise SystemExit(f"worker failed: {spec}\n{p.stderr[-3000:]}")
    return json.loads(line[7:])

# ---- the report -------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", default="8M"); ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--seq-len", type=int, default=256); ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--steps", type=int, default=8, help="timed steps per configuration (bf16 on a CPU without native bf16: 2, one round)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1, help="run every configuration this many times, interleaved; keep the best")
    ap.add_argument("--dtypes", default="fp32,bf16")
    ap.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--no-compile", action="store_true", help="skip the torch.compile rows")
    ap.add_argument("--short-runs", default="tiny,1M", help="presets for the compile-or-not table ('' to skip)")
    ap.add_argument("--smoke", action="store_true", help="tiny shapes and 2 steps: check that the script works")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker: return worker(a.worker)
    if a.smoke: a.preset, a.vocab, a.seq_len, a.batch_size, a.steps, a.warmup, a.no_compile = "tiny", 512, 64, 4, 2, 1, True

    import torch
    from tinystories_nb.core import cpu_has_bf16
    from tinystories_nb.model.gpt import preset
    from tinystories_nb.model.train import flops_per_token
    native_bf16 = cpu_has_bf16()
    dtypes = [d for d in a.dtypes.split(",") if d]
    peaks = {d: matmul_peak(d, a.threads, max_n=256 if a.smoke else 2048) for d in dtypes}
    peak_n, counts = {d: n for d, (_, n) in peaks.items()}, {d: 1 for d in dtypes}
    mcfg = preset(a.preset, vocab_size=a.vocab)
    fpt = flops_per_token(mcfg, a.seq_len)
    print(f"torch {torch.__version__}, {a.threads} threads, CPU bf16 native: {native_bf16}")
    print(f"model: preset {a.preset}, vocab {a.vocab}, T {a.seq_len}, batch {a.batch_size}; "
          f"{fpt / 1e6:.1f} MFLOP/token (train.flops_per_token: 6N for the weights + 12·C·S for attention)\n")

    rows = []
    for d in dtypes:
        slow = d == "bf16" and not native_bf16 and not a.smoke   # emulated bf16 matmuls: a step takes tens of seconds
        base = dict(preset=a.preset, vocab=a.vocab, seq_len=a.seq_len, batch=a.batch_size, dtype=d, threads=a.threads,
                    steps=2 if slow else a.steps, warmup=1 if slow else a.warmup, peak_n=peak_n[d])
        variants = [("hf GPTNeoForCausalLM", dict(impl="hf", compile=False)), ("ours", dict(impl="ours", compile=False))]
        if not a.no_compile: variants.append(("ours + compile", dict(impl="ours", compile=True)))
        best = {}
        for _ in range(1 if slow else a.rounds):
            for name, v in variants:
                r = spawn({**base, **v})
                print(f"  ran {name} {d}: {r['tokens_per_s']:,.0f} tokens/s", file=sys.stderr)
                if name not in best or r["tokens_per_s"] > best[name]["tokens_per_s"]: best[name] = r
                peaks[d], counts[d] = (max(peaks[d][0], r["matmul_peak"]), peaks[d][1]), counts[d] + 1
        rows += [dict(name=name, dtype=d, **best[name]) for name, _ in variants]

    for d, (pk, n) in peaks.items(): print(f"matmul peak {d}: {pk / 1e9:,.1f} GFLOP/s ({n}x{n}, best of {counts[d]} measurements)")

    print(f"{'configuration':<22}{'dtype':>6}{'tokens/s':>10}{'vs HF':>8}{'MFU':>8}{'1st step':>10}{'peak RSS':>10}{'+model':>9}")
    for r in rows:
        hf = next(x for x in rows if x["dtype"] == r["dtype"] and x["name"].startswith("hf"))
        m = r["tokens_per_s"] * fpt / peaks[r["dtype"]][0]
        print(f"{r['name']:<22}{r['dtype']:>6}{r['tokens_per_s']:>10,.0f}{r['tokens_per_s'] / hf['tokens_per_s']:>7.2f}x"
              f"{m:>8.1%}{r['first_step_s']:>9.1f}s{r['peak_rss_mb']:>8,.0f}MB{r['peak_rss_mb'] - r['base_rss_mb']:>7,.0f}MB")
    if "fp32" in dtypes and "bf16" in dtypes:
        o = {(r["name"], r["dtype"]): r["tokens_per_s"] for r in rows}
        print(f"ours bf16 / ours fp32: {o[('ours', 'bf16')] / o[('ours', 'fp32')]:.2f}x"
              + ("" if native_bf16 else "  (this CPU has no native bf16: autocast runs bf16 matmuls slowly; the trainer's 'auto' picks fp32 here)"))

    presets = [p for p in a.short_runs.split(",") if p]
    if presets and not a.no_compile:
        print("\ncompile or not, for short runs on the CPU (fp32, seq = block size, batch 16; compile cost = extra time of the\n"
              "first step with a cold inductor cache)")
        print(f"{'preset':<8}{'eager step':>12}{'compiled step':>15}{'compile cost':>14}{'pays off after':>16}")
        for p in presets:
            c = preset(p)
            base = dict(preset=p, vocab=c.vocab_size if p == "tiny" else 4096, seq_len=c.block_size, batch=16 if not a.smoke else 4,
                        steps=10 if not a.smoke else 2, warmup=2 if not a.smoke else 1, dtype="fp32", threads=a.threads, impl="ours",
                        peak_n=256)
            e, k = spawn({**base, "compile": False}), spawn({**base, "compile": True})
            es, ks = sum(e["step_s"]) / len(e["step_s"]), sum(k["step_s"]) / len(k["step_s"])
            cost = k["first_step_s"] - e["first_step_s"]
            pays = f"{cost / (es - ks):,.0f} steps" if es > ks else "never"
            print(f"{p:<8}{es * 1e3:>10.1f}ms{ks * 1e3:>13.1f}ms{cost:>13.1f}s{pays:>16}")

if __name__ == "__main__":
    main()
