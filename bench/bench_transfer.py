"""Transfer: how well the `tinystories demo` model, trained on offline-engine stories, predicts REAL TinyStories text.

    .venv/bin/python bench/bench_transfer.py                        # both arms, the demo's 500 steps (~2x a demo's training)
    .venv/bin/python bench/bench_transfer.py --steps 20 --real-train 100 --eval 50     # smoke check, ~20 s
    .venv/bin/python bench/bench_transfer.py --arms offline --out /tmp/transfer         # one arm, keeping its files

Two arms, one run, the same model settings:

- "offline engine": exactly what `tinystories demo` trains (config `demo`: the offline teacher's `n_stories` stories for
  its `seed`, its BPE vocabulary, model, steps, batch, lr, ...), driven through the pipeline's own stage functions
  (`app.pipeline.stage_stories`, `stage_data`, `stage_train`; the demo's eval stage is skipped, it needs no real text).
- "real": the same config with real TinyStories as the data, as `tinystories demo --data FILE --n-stories N` would train
  it: the first `--real-train` stories of the real sample (default 1,000, capped to the stories before the held-out ones).

Both models are then scored on the same held-out real stories, the LAST `--eval` (default 500) of the real sample, which
neither saw. Each arm reads them with its OWN tokenizer (the held-out file goes through `data.tokenize.prepare` with the
arm's `tokenizer.json` and the arm's cleaning settings), so loss per token is not comparable between arms; bits per byte
of cleaned UTF-8 text is (`eval.metrics.val_metrics`, the same function the demo's eval stage reports val_bpb with).
Each arm's bits per byte on its own validation split (in-domain) is printed next to it. The model scored is the one
the demo's eval stage loads (`model.checkpoint.load_model` on the run: best checkpoint by val loss, else latest).

The real sample is `--real`, else `TINYSTORIES_REAL_SAMPLE`, else `../shared/data/tinystories_valid_sample.txt` beside
the checkout (bench_engine.real_sample: a given path that does not exist is an error); without
one the script exits with status 2. The shared sample holds 1,000 stories, so by default the real arm trains on the
first 500 and both are scored on the last 500; pass a longer file for more. Work goes into a
temporary directory, removed at the end, or into `--out DIR` (kept; finished stages are reused there like the
pipeline's, keyed by the engine's hash, the story counts and the steps).

Printed: arm | train stories | in-domain val bpb | real held-out bpb | training seconds, the ratio offline / real on the
held-out figure, and the goal line (offline-trained model <= 2.0 bits/byte on real stories). Timings and, slightly,
the losses depend on the machine (CPU, torch threads): the CPU model and thread count are printed with them.
"""
import argparse, itertools, os, shutil, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_BPB = 2.0
from bench_engine import SHARED_SAMPLE, real_sample      # one lookup of the real sample for both benchmarks (run as bench/x.py: bench/ is on the path)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "unknown CPU")
    except OSError: return "unknown CPU"


def heldout_data(arm_dir: Path, data_dir: Path, eval_file: Path, prep_settings: dict):
    """The held-out real stories encoded with this arm's tokenizer, as a `TokenArrays` whose val split is all of them.

    Glue the package lacks (see the final report): `prepare` with the arm's tokenizer and no validation fraction puts
    every story in train.bin; `val_metrics` scores a `val` split, so the tokens are handed over as one."""
    from tinystories_nb.data.tokenize import PrepareConfig, load_prepared, prepare
    from tinystories_nb.model.train import TokenArrays
    cfg = PrepareConfig.from_dict({**prep_settings, "val_fraction": 0.0}, what="held-out prepare")
    p = prepare([eval_file], arm_dir/"heldout_data", tokenizer=data_dir/"tokenizer.json", cfg=cfg)
    split = p.manifest["splits"]["train"]
    return TokenArrays(p.train, p.train, p.vocab_size, val_bytes_per_token=split["bytes"] / split["tokens"],
                       tokenizer=p.tokenizer), split["stories"]


def run_arm(name: str, cfg, arm_dir: Path, eval_file: Path, say) -> dict:
    "Stories, data and training through the pipeline's stages, then bits per byte in-domain and on the held-out stories."
    from tinystories_nb.app.pipeline import stage_data, stage_stories, stage_train
    from tinystories_nb.data.tokenize import load_prepared
    from tinystories_nb.eval.metrics import val_metrics
    from tinystories_nb.model.checkpoint import load_model
    arm_dir.mkdir(parents=True, exist_ok=True)
    t = {}
    t0 = time.perf_counter(); inputs, info = stage_stories(cfg, arm_dir); t["stories"] = time.perf_counter() - t0
    t0 = time.perf_counter(); prep = stage_data(cfg, arm_dir, inputs); t["data"] = time.perf_counter() - t0
    say(f"  [{name}] stories: {info.get('stories')} ({t['stories']:.1f} s); data: {t['data']:.1f} s; training "
        f"{cfg.train['max_steps']} steps ...")
    t0 = time.perf_counter(); tr = stage_train(cfg, arm_dir, arm_dir/"data"); t["train_wall"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model, _, meta = load_model(arm_dir/"run", device=cfg.train.get("device", "auto"))
    prep = load_prepared(arm_dir/"data")
    own = val_metrics(model, prep)                                        # all of the arm's own validation split
    held, held_stories = heldout_data(arm_dir, arm_dir/"data", eval_file, cfg.prepare)
    real = val_metrics(model, held)                                       # all of the held-out real stories
    t["eval"] = time.perf_counter() - t0
    res = {"arm": name, "train_stories": prep.manifest["splits"]["train"]["stories"],
           "val_stories": prep.manifest["splits"]["val"]["stories"], "own_bpb": own["val_bpb"], "real_bpb": real["val_bpb"],
           "real_loss": real["val_loss"], "real_tokens": real["tokens"], "held_stories": held_stories,
           "train_s": None if tr.get("skipped") else tr["seconds"], "trainer_val_bpb": tr.get("val_bpb"),
           "step": meta.get("step"), "times": t, "bytes_per_token": held.val_bytes_per_token}
    took = "(reused)" if tr.get("skipped") else f"in {tr['seconds']:.1f} s"
    say(f"  [{name}] trained {took}; scored step {res['step']}: "
        f"in-domain {own['val_bpb']:.3f}, real held-out {real['val_bpb']:.3f} bits/byte ({t['eval']:.1f} s)")
    return res


def main(argv=None):
    os.environ.setdefault("TINYSTORIES_PROGRESS", "0")
    from tinystories_nb.app.pipeline import load_pipeline_config
    demo = load_pipeline_config("demo")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=demo.train["max_steps"], help=f"training steps of both arms (default: the demo's {demo.train['max_steps']})")
    ap.add_argument("--real", default=None, help="a TinyStories text file (default: TINYSTORIES_REAL_SAMPLE or ../shared/data)")
    ap.add_argument("--real-train", type=int, default=None, metavar="N",
                    help="real arm: train on the first N real stories (default: 1000, capped to those before the held-out ones)")
    ap.add_argument("--eval", type=int, default=500, metavar="N", help="score on the last N real stories (default: 500)")
    ap.add_argument("--out", default=None, metavar="DIR", help="keep the arms' files here, reusing finished stages (default: a temp dir, removed)")
    ap.add_argument("--arms", nargs="+", choices=["offline", "real"], default=["offline", "real"], help="which arms to run")
    args = ap.parse_args(argv)

    path = real_sample(args.real)
    if path is None:
        print(f"bench_transfer: no real TinyStories sample found (looked for {SHARED_SAMPLE}): pass --real FILE (a TinyStories "
              "text file with <|endoftext|> separators) or set TINYSTORIES_REAL_SAMPLE", file=sys.stderr)
        return 2
    import torch
    from tinystories_nb.data.stories import read_text, write_text
    from tinystories_nb.synth.samples import engine_hash
    total = sum(1 for _ in read_text(path))
    if args.eval < 1 or args.eval >= total:
        print(f"bench_transfer: --eval {args.eval}: {path} holds {total} stories; need 1 <= N < {total}", file=sys.stderr); return 2
    room = total - args.eval                                              # stories before the held-out ones
    real_train = args.real_train if args.real_train is not None else min(1000, room)
    if "real" in args.arms and not 10 <= real_train <= room:
        print(f"bench_transfer: --real-train {real_train}: {path} holds {total} stories, {args.eval} held out, so at most "
              f"{room} (and at least 10) can be trained on", file=sys.stderr); return 2

    t_all = time.perf_counter()
    tmp = None if args.out else tempfile.mkdtemp(prefix="bench_transfer_")
    work = Path(args.out or tmp); work.mkdir(parents=True, exist_ok=True)
    try:
        eval_file = work/f"heldout-real-last{args.eval}-of{total}.txt"
        if not eval_file.exists(): write_text(itertools.islice(read_text(path), room, None), eval_file)
        train = {**demo.train, "max_steps": args.steps}
        cfgs = {"offline": (f"offline engine ({demo.n_stories} stories, seed {demo.seed})",
                            demo.replace(train=train), f"offline-{engine_hash()}-n{demo.n_stories}-steps{args.steps}"),
                "real": (f"real ({real_train} first stories)",
                         demo.replace(teacher="none", inputs=[str(path.resolve())], n_stories=real_train, train=train),
                         f"real-n{real_train}-steps{args.steps}")}
        print(f"real sample: {path} ({total} stories); held out: the last {args.eval}; real arm trains on the first {real_train}"
              + (f" (capped from 1000: only {room} precede the held-out stories)" if args.real_train is None and real_train < 1000 else ""))
        m = demo.train["model"]
        print(f"config 'demo': vocab {demo.prepare['vocab_size']}, {m['n_layer']} layers x {m['n_embd']}, {args.steps} steps, "
              f"batch {demo.train['batch_size']}, lr {demo.train['lr']}; engine {engine_hash()}")
        print(f"machine: {cpu_model()}, {os.cpu_count()} cores, torch {torch.__version__} with {torch.get_num_threads()} threads "
              "(figures, times above all, depend on the machine)")
        print(f"work dir: {work}" + (" (temporary)" if tmp else ""))
        rows = [run_arm(label, cfg, work/d, eval_file, print) for a, (label, cfg, d) in cfgs.items() if a in args.arms]
    finally:
        if tmp: shutil.rmtree(tmp, ignore_errors=True)
    wall = time.perf_counter() - t_all

    r0 = rows[0]
    print(f"\nreal held-out: {r0['held_stories']} stories kept after cleaning, bits/byte over every token "
          f"(tokens per arm: {', '.join(format(r['real_tokens'], ',') for r in rows)}; bytes/token: "
          f"{', '.join(format(r['bytes_per_token'], '.2f') for r in rows)})")
    head = f"{'arm':<38} | {'train stories':>13} | {'in-domain val bpb':>17} | {'real held-out bpb':>17} | {'training s':>10}"
    print(head); print("-" * len(head))
    for r in rows:
        secs = "reused" if r["train_s"] is None else f"{r['train_s']:.1f}"
        print(f"{r['arm']:<38} | {r['train_stories']:>13,} | {r['own_bpb']:>17.3f} | {r['real_bpb']:>17.3f} | {secs:>10}")
    by = {a: r for a, r in zip([a for a in cfgs if a in args.arms], rows)}
    if "offline" in by and "real" in by:
        print(f"ratio offline / real on real held-out bpb: {by['offline']['real_bpb'] / by['real']['real_bpb']:.2f}")
    if "offline" in by:
        v = by["offline"]["real_bpb"]
        print(f"goal: offline-trained model <= {GOAL_BPB} bits/byte on real stories: {'met' if v <= GOAL_BPB else 'NOT met'} ({v:.3f})")
    print(f"total wall time: {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
