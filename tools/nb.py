"""Edit notebooks as plain text: `python tools/nb.py topy NB [PY]` writes a py:percent copy of a notebook
(default /tmp/nbsrc/NAME.py); `python tools/nb.py tonb PY NB` writes it back, keeping cell ids of unchanged
cells, setting the Python 3 kernelspec and cleaning the notebook the way `nbdev-clean` does.
The notebook stays the source of truth; the .py copy is a scratch file, never committed."""
import json, subprocess, sys
from pathlib import Path

KERNEL = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
          "language_info": {"name": "python"}}

def topy(nb, py=None):
    py = Path(py or f"/tmp/nbsrc/{Path(nb).stem}.py"); py.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "jupytext", "--quiet", "--to", "py:percent", str(nb), "-o", str(py)], check=True)
    print(py)

def tonb(py, nb):
    nb = Path(nb)
    args = [sys.executable, "-m", "jupytext", "--quiet", "--to", "ipynb", str(py), "-o", str(nb)]
    if nb.exists(): args.insert(3, "--update")
    subprocess.run(args, check=True)
    d = json.loads(nb.read_text())
    d["metadata"] = KERNEL
    nb.write_text(json.dumps(d, indent=1, ensure_ascii=False) + "\n")
    subprocess.run([str(Path(sys.executable).parent/"nbdev-clean"), "--fname", str(nb)], check=True)

if __name__ == "__main__":
    cmd, *rest = sys.argv[1:]
    {"topy": topy, "tonb": tonb}[cmd](*rest)
