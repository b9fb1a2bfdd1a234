"""Generation on the CPU: tinystories_nb's sampler vs llama2.c's `run.c`, on the same weights, side by side.

    .venv/bin/python bench/bench_llama2c.py [--threads 1 2] [--repeats 3] [--steps 256] [--peers DIR] [--no-batch]

`run.c` is built from llama2.c (`../shared/peers/llama2c` beside the checkout, `TINYSTORIES_PEERS`, or `--peers`)
with `gcc -Ofast -fopenmp -march=native`, as its README says. A random-weight model of llama2.c's stories15M shape
(6 layers x 288, 6 heads, vocabulary 32,000, context 256, tied embeddings, fp32; speed does not depend on the
weights) is written once with `tinystories_nb.model.llama2c.export_llama2c`. Its `<s>` row is zeroed so that neither
program ends a story early. Then, for each thread count, `run.c` (`OMP_NUM_THREADS`) and the package
(`torch.set_num_threads`, `generate_ids` on the model read back with `import_llama2c`) alternate, one process per
run, `--repeats` times each, in two modes:

- greedy: `run.c -t 0` vs `temperature=0`: the cost of the forward pass alone;
- sampling with run.c's defaults: `-t 1 -p 0.9` vs `temperature=1, top_p=0.9` (with random weights nearly every
  token passes the top-p cut, so both sort the whole vocabulary at every step: a worst case for both).

Both generate `--steps - 1` tokens after `<s>`; run.c's own "achieved tok/s" is used for it (it leaves out its first
step), the package's rate counts every new token, first step included. Reported: tokens per second of each (median
over repeats) and the ratio (median of the ratios of adjacent pairs, with their range). Then the package's batch-16
throughput and the matmul-only bound `bench_generate.py` computes (every weight read once per step with the same
kernels), and, wherever the package is slower than run.c, a profile of its decode step: where the time goes.

Both programs run with OpenMP's default wait policy, as a user's shell has it (`--policy-c`, `--policy-ours`: default,
PASSIVE or ACTIVE): idle threads spin for a while between parallel loops. Under PASSIVE every parallel loop has to wake
a sleeping thread, which slows run.c's 2-thread runs below its 1-thread runs and the package's 2-thread runs by
~10-40%; use PASSIVE only where other processes compete for the cores. The machine's load average is printed:
absolute numbers vary between runs on a shared machine; the ratios are what to read.
"""
import argparse, json, os, re, shutil, statistics, struct, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHAPE = dict(family="modern", vocab_size=32000, block_size=256, n_layer=6, n_head=6, n_embd=288)   # llama2.c's stories15M
MODES = {"greedy": (["-t", "0"], dict(temperature=0.0)),
         "sampling t=1 top-p 0.9": (["-t", "1", "-p", "0.9"], dict(temperature=1.0, top_p=0.9))}
BATCH_MODE = "sampling t=1 top-k 50"    # batch 16: bench_generate.py's setting, for its matmul-only bound
SETTINGS = {**{m: kw for m, (_, kw) in MODES.items()}, BATCH_MODE: dict(temperature=1.0, top_k=50)}


def find_peers(arg: str | None) -> Path:
    for c in [arg, os.environ.get("TINYSTORIES_PEERS"), ROOT.parent/"shared"/"peers"]:
        if c and (Path(c)/"llama2c"/"run.c").is_file(): return Path(c)/"llama2c"
    sys.exit("no llama2.c peer found: pass --peers DIR (the folder holding llama2c/run.c) or set TINYSTORIES_PEERS")


def build_run_c(peers: Path, d: Path) -> Path:
    exe = d/"run"
    subprocess.run(["gcc", "-Ofast", "-fopenmp", "-march=native", str(peers/"run.c"), "-lm", "-o", str(exe)], check=True)
    return exe


def write_model(d: Path) -> Path:
    "The stories15M-shaped random model as llama2.c files (model.bin, and a tokenizer.bin of placeholder pieces)."
    import torch
    from tinystories_nb.model.gpt import GPT, GPTConfig
    from tinystories_nb.model.llama2c import export_llama2c
    torch.manual_seed(0)
    model = GPT(GPTConfig(**SHAPE)).eval()
    with torch.no_grad(): model.wte.weight[1] = 0                # <s> never wins: both write all their tokens
    out = export_llama2c(model, d/"model")
    with open(out/"tokenizer.bin", "wb") as f:                   # run.c prints each token: placeholder words will do
        f.write(struct.pack("<i", 8))
        for i in range(SHAPE["vocab_size"]): b = f" w{i}".encode(); f.write(struct.pack("<fi", -float(i), len(b)) + b)
    return out


def run_c(exe: Path, folder: Path, threads: int, steps: int, flags: list[str], env: dict) -> float:
    res = subprocess.run([str(exe), str(folder/"model.bin"), "-z", str(folder/"tokenizer.bin"), "-n", str(steps), "-s", "1", *flags],
                         capture_output=True, text=True, env={**env, "OMP_NUM_THREADS": str(threads)}, check=True)
    return float(re.search(r"achieved tok/s: ([\d.]+)", res.stderr)[1])


def worker(folder: str, threads: int, steps: int, mode: str, batch: int, profile: bool) -> dict:
    "One timed generation by the package in this process: tokens per second (and a decode-step profile if asked)."
    import torch
    from tinystories_nb.model.llama2c import import_llama2c
    from tinystories_nb.model.sample import generate_ids
    torch.set_num_threads(threads)
    model, _, _ = import_llama2c(folder, tokenizer=False, device="cpu")
    settings = SETTINGS[mode]
    generate_ids(model, [[1]] * batch, max_new_tokens=16, seed=0, **settings)                   # warm-up
    t0 = time.perf_counter()
    rows = generate_ids(model, [[1]] * batch, max_new_tokens=steps - 1, seed=1, eot_id=1, **settings)
    dt = time.perf_counter() - t0
    out = {"tok_s": sum(map(len, rows)) / dt, "threads": torch.get_num_threads()}
    if batch > 1:
        sys.path.insert(0, str(Path(__file__).parent))
        from bench_generate import matmul_bound                  # the one definition of the bound
        out["bound_tok_s"] = batch / min(matmul_bound(model, batch) for _ in range(3))
    if profile: out["profile"] = decode_profile(model, settings)
    return out


def decode_profile(model, settings: dict, steps: int = 40) -> str:
    "The top operators of the package's decode steps at batch 1 (self CPU time), from torch's profiler."
    import torch
    from torch.profiler import profile
    from tinystories_nb.model.sample import generate_ids
    with profile() as p: generate_ids(model, [[1]], max_new_tokens=steps, seed=2, **settings)
    return p.key_averages().table(sort_by="self_cpu_time_total", row_limit=10)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of each program per thread count and mode, alternating")
    ap.add_argument("--steps", type=int, default=256, help="positions, <s> included (run.c's -n)")
    ap.add_argument("--peers", default=None, help="folder holding llama2c/ (default: TINYSTORIES_PEERS or ../shared/peers)")
    ap.add_argument("--no-batch", action="store_true", help="skip the batch-16 measurement")
    ap.add_argument("--policy-c", default="default", help="OMP_WAIT_POLICY for run.c: default (unset), PASSIVE or ACTIVE")
    ap.add_argument("--policy-ours", default="default", help="OMP_WAIT_POLICY for the package: default (unset), PASSIVE or ACTIVE")
    ap.add_argument("--worker", nargs=6, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        folder, threads, steps, mode, batch, prof = args.worker
        print(json.dumps(worker(folder, int(threads), int(steps), mode, int(batch), prof == "1"))); return

    peers = find_peers(args.peers)
    def policy(name: str) -> dict:
        env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
        return env if name == "default" else {**env, "OMP_WAIT_POLICY": name}
    env, env_ours = policy(args.policy_c), policy(args.policy_ours)
    def ours(folder, threads, mode, batch=1, profile=False):
        cmd = [sys.executable, __file__, "--worker", str(folder), str(threads), str(args.steps), mode, str(batch), "1" if profile else "0"]
        return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True, env=env_ours).stdout.splitlines()[-1])
    import torch
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        exe, folder = build_run_c(peers, d), write_model(d)
        print(f"model: llama2.c stories15M shape (6 x 288, vocab 32,000), random weights, fp32; {args.steps - 1} new tokens after <s>; "
              f"run.c from {peers}; torch {torch.__version__}; {os.cpu_count()} CPUs; load average {load0[0]:.1f}", flush=True)
        res = {}
        for t in args.threads:
            for mode, (flags, _) in MODES.items():
                c, o = [], []
                for r in range(args.repeats):
                    for who in (("c", "ours") if r % 2 == 0 else ("ours", "c")):
                        if who == "c": c.append(run_c(exe, folder, t, args.steps, flags, env))
                        else: o.append(ours(folder, t, mode)["tok_s"])
                res[t, mode] = (c, o)
                print(f"  {t} thread(s), {mode}: run.c {[round(x) for x in c]} tok/s, ours {[round(x) for x in o]} tok/s", flush=True)
        batch = {t: ours(folder, t, BATCH_MODE, batch=16) for t in ([] if args.no_batch else args.threads)}
        slow = sorted({t for (t, mode), (c, o) in res.items() if statistics.median(o) < statistics.median(c)})
        profiles = {t: ours(folder, t, "greedy", profile=True)["profile"] for t in slow}
    load1 = os.getloadavg()
    print(f"\nOMP_WAIT_POLICY: run.c {args.policy_c}, ours {args.policy_ours}; load average {load0[0]:.1f} at start, {load1[0]:.1f} at the end")
    print(f"{'threads':>7} | {'mode':<24} | {'run.c tok/s':>11} | {'ours tok/s':>10} | {'ours / run.c (range)':>20}")
    for (t, mode), (c, o) in res.items():
        ratios = [a / b for a, b in zip(o, c)]
        print(f"{t:>7} | {mode:<24} | {statistics.median(c):>11.0f} | {statistics.median(o):>10.0f} | "
              f"{statistics.median(ratios):>8.2f}x ({min(ratios):.2f}-{max(ratios):.2f})")
    for t, b in batch.items():
        print(f"batch 16 ({BATCH_MODE}), {t} thread(s): {b['tok_s']:.0f} tok/s, matmul-only bound {b['bound_tok_s']:.0f} tok/s: "
              f"{b['tok_s'] / b['bound_tok_s']:.0%} of the bound")
    for t, table in profiles.items():
        print(f"\nwhere the package's decode step spends its time at {t} thread(s) (greedy, batch 1):\n{table}")


if __name__ == "__main__":
    main()
