"""Every notebook in nbs/ runs top to bottom as a test, in a fresh Python process (as a fresh kernel would),
skipping cells flagged `slow`, `gpu` or `net` (the `tst_flags` in pyproject.toml) or `eval: false`."""
import pytest
from conftest import NBS

@pytest.mark.parametrize("nb", NBS, ids=[p.name for p in NBS])
def test_notebook(nb, executed):
    r = executed[nb.name]
    assert r.ok, f"{nb.name} failed after {r.seconds:.0f}s:\n{r.log[-8000:]}"
