"""Run notebooks the way JupyterLab's Run All does: each in a fresh Jupyter kernel, top to bottom, stopping at the
first error. Used by the tests and by the docs build (tools/docsite.py), so the tests run exactly what the docs show.

    python tools/nbrun.py nbs/08_sample.ipynb [more.ipynb ...] [--python PY] [--out DIR] [--all-cells]

- Cells flagged with the project's `tst_flags` (`#| slow`, `#| gpu`, `#| net`) or `#| eval: false` are skipped,
  unless `--all-cells` (what a user's Run All does; the notebooks guard those cells themselves).
- `--python PY` runs the kernel in another Python, e.g. a venv made with the README's install command alone, which
  is how CI proves every notebook runs without the development extras.
- A failure names the notebook, the cell (its number among all cells, as JupyterLab counts from 1) and the error.

This is a development tool: it needs nbclient and ipykernel (both come with JupyterLab), not nbdev."""
from __future__ import annotations
import argparse, json, os, re, subprocess, sys, tempfile, time, tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP_TAG = "skip-execution"          # nbclient's tag for cells it must not run
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

def tst_flags(root: Path = ROOT) -> list[str]:
    "The cell flags that tests skip, from `[tool.nbdev] tst_flags` in pyproject.toml."
    cfg = tomllib.loads((root/"pyproject.toml").read_text()).get("tool", {}).get("nbdev", {})
    return str(cfg.get("tst_flags", "")).split()

def directives(src: str) -> dict[str, str]:
    "The `#| name[: value]` lines at the top of a cell's source, as {name: value}."
    out = {}
    for line in src.splitlines():
        if not line.strip(): continue
        m = re.match(r"^#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$", line)
        if not m: break
        out[m.group(1)] = m.group(2)
    return out

def skipped(src: str, flags) -> bool:
    "Does a test run leave this code cell out?"
    d = directives(src)
    return d.get("eval", "").lower() == "false" or bool(set(flags) & set(d))

@dataclass
class ExecResult:
    "The outcome of running one notebook."
    nb: str
    ok: bool
    seconds: float
    out: str | None = None        # the executed copy (outputs and widget state kept)
    cell: int | None = None       # the failing cell, counted from 1 among all cells
    error: str = ""               # one line: `ErrorName: message`
    log: str = ""                 # the failing cell's source and traceback, or why the kernel failed

    def line(self) -> str:
        if self.ok: return f"{Path(self.nb).name}: ok ({self.seconds:.1f}s)"
        where = f" at cell {self.cell}" if self.cell else ""
        return f"{Path(self.nb).name}: failed{where}: {self.error}"

def _kernel_dir(python: str) -> Path:
    "A folder holding a kernelspec `tsnb` that starts ipykernel in `python`."
    d = Path(tempfile.mkdtemp(prefix="tsnb-kernel-"))
    spec = d/"kernels"/"tsnb"; spec.mkdir(parents=True)
    (spec/"kernel.json").write_text(json.dumps({"argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                                "display_name": "tinystories_nb test kernel", "language": "python"}))
    return d

def run_one(nb_path, out=None, python: str | None = None, flags=None, timeout: int = 300) -> ExecResult:
    "Run one notebook in a fresh kernel (in this process); write the executed copy to `out` if given."
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    nb_path = Path(nb_path).resolve()
    flags = tst_flags() if flags is None else flags
    nb = nbformat.read(nb_path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code" and skipped(c.source, flags): c.metadata.setdefault("tags", []).append(SKIP_TAG)
    kernel = "python3"
    if python and Path(python).resolve() != Path(sys.executable).resolve():
        os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(_kernel_dir(python)), os.environ.get("JUPYTER_PATH")]))
        kernel = "tsnb"
    at = {"cell": None}
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel, store_widget_state=True, allow_errors=False,
                            resources={"metadata": {"path": str(nb_path.parent)}}, skip_cells_with_tag=SKIP_TAG,
                            on_cell_start=lambda cell, cell_index: at.update(cell=cell_index + 1))
    t0 = time.time()
    res = ExecResult(str(nb_path), True, 0.0)
    try: client.execute()
    except CellExecutionError as e:
        res.ok, res.cell, res.error = False, at["cell"], f"{e.ename}: {_ANSI.sub('', str(e.evalue)).splitlines()[0] if e.evalue else ''}"
        res.log = _ANSI.sub("", str(e))
    except CellTimeoutError: res.ok, res.cell, res.error = False, at["cell"], f"the cell ran longer than {timeout}s"
    except DeadKernelError as e: res.ok, res.cell, res.error = False, at["cell"], f"the kernel died ({e})"
    except Exception as e: res.ok, res.error = False, f"the kernel could not run the notebook: {type(e).__name__}: {e}"
    res.seconds = time.time() - t0
    for c in nb.cells:
        if SKIP_TAG in c.metadata.get("tags", []):
            c.metadata["tags"].remove(SKIP_TAG)
            if not c.metadata["tags"]: del c.metadata["tags"]
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        nb.metadata["tinystories_nb"] = {"source": nb_path.name, "ok": res.ok, "flags": sorted(flags)}
        nbformat.write(nb, str(out)); res.out = str(out)
    return res

def run_many(nbs, out_dir, workers: int = 2, python: str | None = None, flags=None, timeout: int = 300,
             env: dict | None = None) -> list[ExecResult]:
    "Run each notebook in its own process and kernel, `workers` at a time; executed copies go to `out_dir`."
    out_dir = Path(out_dir); out_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **(env or {})}
    def one(nb) -> ExecResult:
        nb, out = Path(nb), out_dir/Path(nb).name
        args = [sys.executable, __file__, str(nb), "--out", str(out_dir), "--json", "--timeout", str(timeout)]
        if python: args += ["--python", python]
        if flags is not None: args += ["--flags", ",".join(flags)]
        t0 = time.time()
        try: p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout * 4)
        except subprocess.TimeoutExpired: return ExecResult(str(nb), False, time.time() - t0, error="timed out")
        try: return ExecResult(**json.loads(p.stdout.strip().splitlines()[-1]))
        except (ValueError, IndexError, TypeError):
            return ExecResult(str(nb), False, time.time() - t0, error="the runner failed", log=p.stderr[-4000:])
    with ThreadPoolExecutor(max(1, workers)) as ex: return list(ex.map(one, nbs))

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="+", help="notebooks to run")
    ap.add_argument("--python", default=None, help="the Python the kernel runs in (default: this one)")
    ap.add_argument("--out", default=None, help="folder for the executed copies")
    ap.add_argument("--all-cells", action="store_true", help="run flagged cells too, as JupyterLab's Run All does")
    ap.add_argument("--flags", default=None, help="comma-separated cell flags to skip (default: pyproject's tst_flags)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds a cell may run")
    ap.add_argument("--workers", type=int, default=2, help="notebooks run at once")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)   # one notebook, result as JSON (run_many)
    a = ap.parse_args(argv)
    flags = [] if a.all_cells else (a.flags.split(",") if a.flags is not None else None)
    if a.json:
        nb = Path(a.notebooks[0])
        r = run_one(nb, Path(a.out)/nb.name if a.out else None, a.python, flags, a.timeout)
        print(json.dumps(asdict(r))); return 0 if r.ok else 1
    results = run_many(a.notebooks, a.out or tempfile.mkdtemp(prefix="nbrun-"), a.workers, a.python, flags, a.timeout)
    for r in results:
        print(r.line())
        if not r.ok and r.log: print("    " + r.log[-3000:].replace("\n", "\n    "))
    return 0 if all(r.ok for r in results) else 1

if __name__ == "__main__": sys.exit(main())
