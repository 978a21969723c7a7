"""The static explorer's committed grid: readable, complete, and reproducible bit for bit.

The grid (``toyrd/explore/grid``) is what the docs site ships; these tests retrain a sample of
its models alone (not in their grid batch of 82 rows) and require the same bytes, so the stored
numbers are the trainer's and :func:`toyrd.evaluate`'s, not a copy that drifted.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil

import numpy as np
import pytest

from toyrd.errors import ToyrdError
from toyrd.explore import _grid as G
from toyrd.explore import _static as ST

pytest.importorskip("jax")


@pytest.fixture(scope="module")
def grid():
    return ST.read_grid()


def test_committed_grid_is_the_whole_grid(grid):
    manifest, exact, display = grid
    keys = G.model_keys()
    assert manifest["keys"] == [list(k) for k in keys]
    assert exact.shape == (len(keys), len(manifest["quantities"]))
    assert display.shape == (len(keys), manifest["n_display"])
    assert [o["key"] for o in manifest["axes"]["objectives"]] == [o.key for o in G.OBJECTIVES]
    for o, ob in zip(manifest["axes"]["objectives"], G.OBJECTIVES):
        assert o["values"] == [None if v is None else float(v) for v in ob.values]
    assert manifest["axes"]["families"] == [
        {"name": f, "note": n["note"]} for f, n in zip(G.FAMILIES, manifest["axes"]["families"])
    ]
    assert np.all(np.isfinite(exact))
    # every stored model's own identities hold: ELBO = −(R + D), R ≥ I_e ≥ H − D
    q = {k: exact[:, i] for i, k in enumerate(manifest["quantities"])}
    assert np.array_equal(q["ELBO"], -(q["D"] + q["R"]))
    assert np.all(q["R"] - q["I_e"] >= -1e-12) and np.all(q["I_e"] - (q["H"] - q["D"]) >= -1e-12)


def test_model_index_is_the_storage_order():
    for i, key in enumerate(G.model_keys()):
        assert ST.model_index(key) == i


def test_a_corrupted_grid_is_refused(tmp_path):
    for name in ("grid.json", "grid.bin.gz"):
        shutil.copyfile(ST.GRID_DIR / name, tmp_path / name)
    bad = bytearray(gzip.decompress((tmp_path / "grid.bin.gz").read_bytes()))
    bad[100] ^= 1  # one bit of one float64
    (tmp_path / "grid.bin.gz").write_bytes(gzip.compress(bytes(bad), mtime=0))
    with pytest.raises(ToyrdError, match="sha256"):
        ST.read_grid(tmp_path)


#: Whole groups (objective, family) retrained as the command trains them: one compiled run of
#: all their values × seeds. (A row trained in a batch of another size can differ in its last
#: bits — XLA vectorises the batch axis by its length — and collapse dynamics amplify that, so
#: bit-for-bit means: the same groups, as the command makes them.) The ELBO with the Figure 2
#: family (2 rows), the β-VAE with the tabular family (82 rows, the plain objectives' trainer)
#: and KL annealing with the bump family (82 rows, the remedies' trainer).
GROUPS = ((0, 0), (1, 1), (5, 2))


@pytest.mark.slow
def test_whole_groups_of_the_grid_retrain_bit_for_bit(grid):
    from toyrd.data import toy_data
    from toyrd.quantities import evaluate

    manifest, exact, display = grid
    keys = [k for k in G.model_keys() if (k.objective, k.family) in GROUPS]
    tables, _ = G.train_keys(keys)
    sub_manifest, raw = ST.build_grid(keys, tables)
    n, q = len(keys), len(manifest["quantities"])
    got_exact = np.frombuffer(raw, "<f8", count=n * q).reshape(n, q)
    got_display = np.frombuffer(raw, "<f2", offset=8 * n * q).reshape(n, -1)
    rows = [ST.model_index(k) for k in keys]
    # the very bytes: float64 quantities and the float16 display columns
    assert got_exact.tobytes() == exact[rows].tobytes()
    assert got_display.tobytes() == display[rows].tobytes()
    assert sub_manifest["layout"] == manifest["layout"]
    # and the stored R, D, I(z;z*) are toyrd.evaluate of the retrained float64 tables
    toy = toy_data()
    for j, i in enumerate(rows):
        ev = evaluate(toy.px, tables[0][j], tables[1][j], tables[2][j], pzx=toy.pzx)
        for k in ("R", "D", "I_zstar", "ELBO"):
            assert exact[i, manifest["quantities"].index(k)] == ev[k]
    assert hashlib.sha256(raw).hexdigest() == sub_manifest["sha256"]
