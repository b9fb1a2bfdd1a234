"""Starting a sweep's cell processes: the start-up a user waits for per cell (a new process with torch and the package
imported, ready to train), three ways, side by side in one run.

  old fork server   the hand-written server of tinystories_nb/studies/sweep.py up to commit 9d125dc (--old-rev): a helper
                    process, started with the first cell, that imports torch and the package once and then os.fork()s a
                    child per request it reads as JSON from its stdin (ctypes prctl for die-with-parent)
  forkserver        multiprocessing's fork server preloading `sweep.CELL_PRELOAD` (`sweep._cell_context()`): what the
                    sweep uses now
  spawn             a fresh interpreter per cell (multiprocessing's spawn start method), importing everything itself

Each way starts --cells cells one after another, as the runner does. A cell here does what a real cell's process does
before it trains: imports the modules in `sweep.CELL_PRELOAD` (the same for every way; already there when preloaded),
notes the time, and exits. Reported per way: the first cell (request to exit), which includes starting the server and
its imports (once per runner); the median of the other cells from the request to "imports ready" and to the exit the
runner sees; the sum over all cells of request to exit; ratios against the old fork server. The machine may be shared:
compare within one run.
Usage: python bench/bench_sweep_start.py [--cells 8] [--old-rev 9d125dc]
"""
import argparse, importlib.util, multiprocessing, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path
from tinystories_nb.studies.sweep import CELL_PRELOAD, _cell_context

ROOT = Path(__file__).resolve().parent.parent

def cell_body(run, spec=None, wait=None, env=None):
    "What every way runs in a cell's process: the imports a cell needs, then the time they were ready, then exit."
    for m in CELL_PRELOAD: importlib.import_module(m)
    Path(run, "ready").write_text(repr(time.time()))
    sys.exit(0)

def _timed(runs: list[Path], start_and_wait) -> list[tuple[float, float]]:
    "(seconds to imports ready, seconds to the exit seen by the runner) per cell, started one after another."
    out = []
    for run in runs:
        run.mkdir()
        t0 = time.time(); rc = start_and_wait(run); t1 = time.time()
        assert rc == 0, f"{run.name}: exit status {rc}"
        out.append((float((run/"ready").read_text()) - t0, t1 - t0))
    return out

def _load_old(path: Path, name: str = "tinystories_nb.studies._sweep_old"):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec); sys.modules[name] = mod; spec.loader.exec_module(mod)
    return mod

_OLD_SERVER = """import importlib.util, sys
sys.path.insert(0, {bench!r})
spec = importlib.util.spec_from_file_location("tinystories_nb.studies._sweep_old", {path!r})
old = importlib.util.module_from_spec(spec); sys.modules[spec.name] = old; spec.loader.exec_module(old)
import bench_sweep_start as B
for m in B.CELL_PRELOAD: __import__(m)      # what it preloaded then, under today's module names
old._cell_process = B.cell_body
old._serve()
"""

def old_server(runs: list[Path], path: Path):
    "The old fork server: its own client class, its `_serve` with `_cell_process` replaced by `cell_body`."
    import bench_sweep_start as B
    old = _load_old(path)
    srv = old._CellServer.__new__(old._CellServer)
    srv.proc = subprocess.Popen([sys.executable, "-c", _OLD_SERVER.format(bench=str(Path(B.__file__).parent), path=str(path))],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    try: return _timed(runs, lambda run: (srv.start(run=str(run), spec={}, wait=False, env={}), srv.wait(None))[1])
    finally: srv.close()

def with_context(ctx):
    "Cells started as `multiprocessing.Process`es of context `ctx`."
    import bench_sweep_start as B                  # by module name, so that the children can find `cell_body`
    def start_and_wait(run):
        p = ctx.Process(target=B.cell_body, args=(str(run),)); p.start(); p.join()
        return p.exitcode
    return lambda runs: _timed(runs, start_and_wait)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cells", type=int, default=8, help="cells started per way (the first includes the server's start)")
    ap.add_argument("--old-rev", default="9d125dc", help="git revision whose studies/sweep.py has the hand-written fork server")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_start_"))
    old_py = tmp/"sweep_old.py"
    old_py.write_text(subprocess.run(["git", "-C", str(ROOT), "show", f"{args.old_rev}:tinystories_nb/studies/sweep.py"],
                                     capture_output=True, text=True, check=True).stdout)
    assert "_CellServer" in old_py.read_text(), f"{args.old_rev} has no hand-written cell server"
    ways = {"old fork server": lambda runs: old_server(runs, old_py),
            "forkserver+preload": with_context(_cell_context()),
            "spawn": with_context(multiprocessing.get_context("spawn"))}
    print(f"{args.cells} cells per way, one after another; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}; "
          f"python {sys.version.split()[0]}; preload: {', '.join(CELL_PRELOAD)}")
    try: res = {name: way([tmp/f"{name.split()[0]}_{i}" for i in range(args.cells)]) for name, way in ways.items()}
    finally: shutil.rmtree(tmp, ignore_errors=True)
    base = res["old fork server"]
    med = lambda times, k: statistics.median(t[k] for t in times[1:])
    total = lambda times: sum(d for _, d in times)
    print(f"\n{'way':<20} {'first cell':>11} {'later cells: ready':>19} {'exit':>9} {'all cells':>10} {'later vs old':>13} {'all vs old':>11}")
    for name, times in res.items():
        print(f"{name:<20} {times[0][1]:>10.2f}s {med(times, 0) * 1e3:>17.1f}ms {med(times, 1) * 1e3:>7.1f}ms {total(times):>9.2f}s "
              f"{med(times, 0) / med(base, 0):>12.2f}x {total(times) / total(base):>10.2f}x")

if __name__ == "__main__":
    main()
