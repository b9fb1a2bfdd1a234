"""Every notebook in nbs/ runs top to bottom as a test, each in a fresh Python process (as a fresh kernel
would), skipping cells flagged `slow`, `gpu` or `net` (the `tst_flags` in pyproject.toml)."""
import os, subprocess, sys, textwrap
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
NBS = sorted(p for p in (ROOT/"nbs").rglob("*.ipynb") if "_proc" not in p.parts and ".ipynb_checkpoints" not in p.parts)

RUNNER = textwrap.dedent("""
    import sys
    from nbdev.config import get_config
    from nbdev.test import test_nb
    flags = get_config().tst_flags.split()
    ok, secs = test_nb(sys.argv[1], skip_flags=flags, cell_timeout=int(sys.argv[2]))
    sys.exit(0 if ok else 1)
""")

@pytest.mark.parametrize("nb", NBS, ids=[str(p.relative_to(ROOT/"nbs")) for p in NBS])
def test_notebook(nb):
    env = {**os.environ, "TINYSTORIES_PROGRESS": os.environ.get("TINYSTORIES_PROGRESS", "0"), "MPLBACKEND": "Agg"}
    r = subprocess.run([sys.executable, "-c", RUNNER, str(nb), "300"], cwd=nb.parent, env=env,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{nb.name} failed:\n{r.stderr[-8000:]}\n{r.stdout[-2000:]}"
