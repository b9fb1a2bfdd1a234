"""Every notebook in nbs/ runs top to bottom as a test, in a fresh Jupyter kernel (as JupyterLab's Run All does),
skipping cells flagged `slow`, `gpu` or `net` (the `tst_flags` in pyproject.toml) or `eval: false`."""
import pytest
from conftest import NBS, ROOT

@pytest.mark.parametrize("nb", NBS, ids=[str(p.relative_to(ROOT/"nbs")) for p in NBS])
def test_notebook(nb, executed):
    r = executed[nb.name]
    assert r.ok, f"{r.line()}\n{r.log[-6000:]}"
