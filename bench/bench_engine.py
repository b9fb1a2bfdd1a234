"""The offline story engine next to real TinyStories: the variety statistics issue 15 sets goals for, side by side.

    .venv/bin/python bench/bench_engine.py [--n 1000] [--seed 0] [--real PATH]

Both corpora have `--n` stories: the engine's (`OfflineTeacher` on `sample_prompts`, as `synth.samples.offline_stories`
and the demo write them) and the first `--n`
of the real sample (`TINYSTORIES_REAL_SAMPLE`, else `../shared/data/tinystories_valid_sample.txt` beside the checkout;
without it only the engine's column is printed). Every figure comes from the package's one text-statistics
implementation (`data.text.corpus_stats`: words are `[a-z']+` after lower-casing, curly apostrophes read as straight
ones), so the numbers match what the notebooks and reports show. Printed: each statistic for both corpora, their
ratio, the goal, and whether the engine meets it; then the engine's five most common openings and its most repeated
sentences, which say where the repetition comes from; the share of stories that pass `validate_story` (required
words present in some form, length, an ending); and per requested feature the share whose text shows it
(`synth.teachers.feature_evidence`: cues, not understanding), next to the share of real stories showing each cue.
"""
import argparse, collections, os, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOALS = {"repeated_sentences": ("<=", 0.10), "distinct_3": (">=", 0.50), "words_used": (">=", 3000)}
SHOWN = ["stories", "words_mean", "words_p5", "words_median", "words_p95", "distinct_1", "distinct_2", "distinct_3",
         "words_used", "repeated_sentences", "distinct_openings", "once_upon_a_time"]


SHARED_SAMPLE = ROOT.parent/"shared"/"data"/"tinystories_valid_sample.txt"

def real_sample(arg: str | None) -> Path | None:
    "`--real`, else TINYSTORIES_REAL_SAMPLE (a given path must exist), else the shared sample beside the checkout, else None."
    given = arg or os.environ.get("TINYSTORIES_REAL_SAMPLE")
    if given and not Path(given).is_file():
        raise SystemExit(f"no real TinyStories sample at {given} (from --real or TINYSTORIES_REAL_SAMPLE): pass a TinyStories text file")
    p = Path(given) if given else SHARED_SAMPLE
    return p if p.is_file() else None


def fmt(v) -> str:
    from tinystories_nb.eval.report import format_value
    return format_value(float(v) if isinstance(v, float) else v)


def met(key: str, v) -> str:
    if key not in GOALS: return ""
    op, goal = GOALS[key]
    ok = v <= goal if op == "<=" else v >= goal
    return f"{op} {goal:g}: {'met' if ok else 'NOT met'}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="stories per corpus")
    ap.add_argument("--seed", type=int, default=0, help="the engine's seed")
    ap.add_argument("--real", default=None, help="a TinyStories text file (default: TINYSTORIES_REAL_SAMPLE or ../shared/data)")
    args = ap.parse_args(argv)
    os.environ.setdefault("TINYSTORIES_PROGRESS", "0")
    from tinystories_nb.data.stories import read_text
    from tinystories_nb.data.text import corpus_stats, sentences, words
    from tinystories_nb.data.stories import Story
    from tinystories_nb.synth.engine import OfflineTeacher
    from tinystories_nb.synth.prompts import sample_prompts
    from tinystories_nb.synth.teachers import feature_evidence, feature_report, validate_story

    t0 = time.perf_counter()
    teacher, specs = OfflineTeacher(seed=args.seed), sample_prompts(args.n, seed=args.seed)
    engine = [Story(teacher.write(spec), words=list(spec.words.values()), features=list(spec.features)) for spec in specs]
    took = time.perf_counter() - t0
    corpora = {"offline engine": engine}
    path = real_sample(args.real)
    if path is not None:
        real = list(read_text(path))[:args.n]
        if len(real) < args.n: print(f"note: {path} holds only {len(real)} stories")
        corpora = {"real TinyStories": real, **corpora}
    stats = {name: corpus_stats(c) for name, c in corpora.items()}
    print(f"{args.n} stories each; the engine wrote its {len(engine)} in {took:.1f} s (seed {args.seed})"
          + (f"; real: {path}" if path else "; no real sample found (pass --real): the engine's column only"))
    names = list(stats)
    head = f"{'statistic':<20}" + "".join(f" | {n:>16}" for n in names) + (" | engine / real" if path else "") + " | goal (engine)"
    print(head); print("-" * len(head))
    for k in SHOWN:
        vals = [stats[n][k] for n in names]
        ratio = f" | {vals[1] / vals[0]:>14.2f}" if path and vals[0] else (" | " + " " * 14 if path else "")
        print(f"{k:<20}" + "".join(f" | {fmt(v):>16}" for v in vals) + ratio + f" | {met(k, vals[-1])}")

    texts = [s.text for s in engine]
    print("\nthe engine's most common openings (first four words):")
    for opening, count in stats["offline engine"]["top_openings"]: print(f"  {count:>5}  {opening}")
    counts = collections.Counter(s for t in texts for s in set(sentences(t)) if len(words(s)) > 3)
    print("its most repeated sentences (stories that contain each):")
    for s, c in counts.most_common(8): print(f"  {c:>5}  {s}")
    closing = collections.Counter(sentences(t)[-1] for t in texts if sentences(t))
    top, c = closing.most_common(1)[0]
    print(f"most common closing sentence: {c / len(texts):.1%} of stories: {top!r}")
    reasons = [validate_story(s.text, spec) for s, spec in zip(engine, specs)]
    why = collections.Counter(r.split(" (")[0] for rs in reasons for r in rs)
    print(f"validate_story: {sum(not r for r in reasons) / len(engine):.1%} of the engine's stories pass (required words "
          f"in some form, length, an ending){'; reasons: ' + str(why.most_common(3)) if why else ''}")
    report = feature_report(engine)
    real_cues = {k: sum(feature_evidence(s.text)[k] is not None for s in corpora["real TinyStories"]) / len(corpora["real TinyStories"])
                 for k in report} if path else {}
    print(f"\nfeatures (`feature_evidence`'s cues; goal: realised in >= 95% of the stories that ask):")
    print(f"{'feature':<14} | {'asked':>5} | {'realised':>8} | goal    " + (" | real stories showing the cue (asked or not)" if path else ""))
    for k, r in report.items():
        ok = r["realised"] is not None and r["realised"] >= 0.95
        print(f"{k:<14} | {r['asked']:>5} | {fmt(r['realised']):>8} | {'met' if ok else 'NOT met':<7}" + (f" | {real_cues[k]:.0%}" if path else ""))


if __name__ == "__main__":
    sys.exit(main())
