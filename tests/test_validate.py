"""Bad input through the Python API: one exception family, messages naming the table, the row
(or entry) and the rule; nothing renormalised unless ``normalize=True`` is asked for.
"""

import numpy as np
import pytest

import toyrd
from toyrd import SUM_TOL, TableError, ToyrdError
from toyrd._validate import as_conditional, as_distribution, as_joint, check_model

PX = np.array([0.2, 0.3, 0.5])
ENC = np.array([[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]])  # 3 × 2
DEC = np.array([[0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])  # 2 × 3
MAR = np.array([0.4, 0.6])


def _with(arr, idx, value, dtype=np.float64):
    out = np.array(arr, dtype=dtype)
    out[idx] = value
    return out


ROW_OFF = _with(ENC, (1, 1), 0.07)  # row 1 sums to 0.97
BAD_MODELS = [
    # (what, px, encoder, decoder, marginal, message regex)
    ("row sum", PX, ROW_OFF, DEC, MAR, r"^encoder row 1: sums to 0\.97, expected 1 ± 1e-10$"),
    (
        "decoder row sum",
        PX,
        ENC,
        _with(DEC, (1, 0), 0.7),
        MAR,
        r"^decoder row 1: sums to 1\.1, expected 1 ± 1e-10$",
    ),
    ("px sum", [0.2, 0.3, 0.4], ENC, DEC, MAR, r"^px: sums to 0\.9, expected 1 ± 1e-10$"),
    ("marginal sum", PX, ENC, DEC, [0.5, 0.6], r"^marginal: sums to 1\.1, expected 1 ± 1e-10$"),
    (
        "negative",
        PX,
        np.array([[0.5, 0.5], [0.9, 0.1], [-0.2, 1.2]]),
        DEC,
        MAR,
        r"^encoder: entry \(2, 0\) is -0\.2, probabilities must be >= 0$",
    ),
    (
        "negative px",
        [-0.1, 0.6, 0.5],
        ENC,
        DEC,
        MAR,
        r"^px: entry 0 is -0\.1, probabilities must be >= 0$",
    ),
    (
        "nan",
        PX,
        ENC,
        _with(DEC, (0, 2), np.nan),
        MAR,
        r"^decoder: entry \(0, 2\) is nan, entries must be finite$",
    ),
    ("inf", PX, ENC, DEC, [np.inf, 0.6], r"^marginal: entry 0 is inf, entries must be finite$"),
    (
        "-inf",
        PX,
        _with(ENC, (0, 1), -np.inf),
        DEC,
        MAR,
        r"^encoder: entry \(0, 1\) is -inf, entries must be finite$",
    ),
    (
        "rank 1 table",
        PX,
        ENC[0],
        DEC,
        MAR,
        r"^encoder: expected a table \(rank 2\), got rank 1 with shape \(2,\)$",
    ),
    (
        "rank 3 table",
        PX,
        ENC,
        DEC[None],
        MAR,
        r"^decoder: expected a table \(rank 2\), got rank 3 with shape \(1, 2, 3\)$",
    ),
    (
        "rank 2 vector",
        PX[None],
        ENC,
        DEC,
        MAR,
        r"^px: expected a vector \(rank 1\), got rank 2 with shape \(1, 3\)$",
    ),
    (
        "scalar",
        PX,
        ENC,
        DEC,
        1.0,
        r"^marginal: expected a vector \(rank 1\), got rank 0 with shape \(\)$",
    ),
    (
        "px size",
        [0.5, 0.5],
        ENC,
        DEC,
        MAR,
        r"^encoder: has 3 rows \(data states\) but px has 2 entries$",
    ),
    (
        "decoder shape",
        PX,
        ENC,
        DEC.T / DEC.T.sum(1, keepdims=True),
        MAR,
        r"^decoder: shape \(3, 2\), expected \(n_z, n_x\) = \(2, 3\) to match the encoder$",
    ),
    (
        "marginal size",
        PX,
        ENC,
        DEC,
        [0.2, 0.3, 0.5],
        r"^marginal: has 3 entries, expected n_z = 2 to match the encoder$",
    ),
    ("empty px", [], ENC, DEC, MAR, r"^px: is empty \(shape \(0,\)\)$"),
    ("empty encoder", PX, np.zeros((3, 0)), DEC, MAR, r"^encoder: is empty \(shape \(3, 0\)\)$"),
    (
        "strings",
        PX,
        np.array([["a", "b"]] * 3),
        DEC,
        MAR,
        r"^encoder: dtype <U1 is not a real number type$",
    ),
    (
        "objects",
        PX,
        ENC,
        DEC,
        np.array([0.4, None], dtype=object),
        r"^marginal: dtype object is not a real number type$",
    ),
    (
        "complex",
        PX.astype(complex),
        ENC,
        DEC,
        MAR,
        r"^px: dtype complex128 is not a real number type$",
    ),
    (
        "ragged",
        PX,
        [[0.5, 0.5], [1.0], [0.2, 0.8]],
        DEC,
        MAR,
        r"^encoder: cannot be read as an array",
    ),
]


@pytest.mark.parametrize(
    "what, px, enc, dec, mar, rule", BAD_MODELS, ids=[b[0] for b in BAD_MODELS]
)
def test_bad_model_is_rejected_by_evaluate(what, px, enc, dec, mar, rule):
    """``evaluate`` raises TableError (a ToyrdError, a ValueError) with the exact message."""
    with pytest.raises(TableError, match=rule) as info:
        toyrd.evaluate(px, enc, dec, mar)
    assert isinstance(info.value, ToyrdError) and isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "call",
    [
        lambda: toyrd.distortion(PX, ROW_OFF, DEC),
        lambda: toyrd.rate(PX, ROW_OFF, MAR),
        lambda: toyrd.elbo(PX, ROW_OFF, DEC, MAR),
        lambda: toyrd.representational_mi(PX, ROW_OFF),
        lambda: toyrd.generative_bound_e(ROW_OFF, DEC, MAR),
        lambda: toyrd.reparam_u(PX, ROW_OFF, DEC),
        lambda: toyrd.latent_information(np.outer([0.5, 0.5], PX), ROW_OFF),
        lambda: toyrd.aggregate_posterior(PX, ROW_OFF),
        lambda: toyrd.bayes_posterior(PX, ROW_OFF),
        lambda: toyrd.reconstruction_distribution(PX, ROW_OFF, DEC),
        lambda: toyrd.reconstruction_channel(ROW_OFF, DEC),
        lambda: toyrd.optimal_decoder(PX, ROW_OFF),
        lambda: toyrd.optimal_marginal(PX, ROW_OFF),
        lambda: toyrd.rate_gradient_marginal(PX, ROW_OFF, MAR),
        lambda: toyrd.distortion_gradient_decoder(PX, ROW_OFF, DEC),
        lambda: toyrd.save_model("never-written.npz", ROW_OFF, DEC, MAR, px=PX),
    ],
)
def test_every_public_function_validates_the_encoder(call):
    """Each function that reads an encoder checks it at the boundary, with the same message."""
    with pytest.raises(TableError, match=r"^encoder row 1: sums to 0\.97, expected 1 ± 1e-10$"):
        call()


@pytest.mark.parametrize(
    "call, rule",
    [
        (
            lambda: toyrd.kl([0.5, 0.5], [0.2, 0.3, 0.5]),
            r"^q: has 3 entries, expected 2 to match p$",
        ),
        (
            lambda: toyrd.generative_mi(DEC, [0.2, 0.3, 0.5]),
            r"^marginal: has 3 entries, expected n_z = 2 to match the decoder$",
        ),
        (
            lambda: toyrd.generative_bound_e(np.full((2, 3), 1 / 3), DEC, MAR),
            r"^encoder: shape \(2, 3\), expected \(n_x, n_z\) = \(3, 2\) to match the decoder$",
        ),
        (
            lambda: toyrd.generative_bound_e(ENC[:2], DEC, MAR),
            r"^encoder: shape \(2, 2\), expected \(n_x, n_z\) = \(3, 2\) to match the decoder$",
        ),
        (
            lambda: toyrd.generative_bound_g(DEC, MAR, [0.5, 0.5]),
            r"^r: has 2 entries, expected n_x = 3$",
        ),
        (
            lambda: toyrd.evaluate(PX, ENC, DEC, MAR, r=[0.5, 0.5]),
            r"^r: has 2 entries, expected n_x = 3$",
        ),
        (
            lambda: toyrd.evaluate(PX, ENC, DEC, MAR, r=[0.5, 0.5, 0.1]),
            r"^r: sums to 1\.1, expected 1 ± 1e-10$",
        ),
        (
            lambda: toyrd.reconstruction_channel(ENC, np.full((3, 2), 0.5)),
            r"^decoder: shape \(3, 2\), expected \(n_z, n_x\) = \(2, 3\) to match the encoder$",
        ),
        (
            lambda: toyrd.latent_information(np.full((2, 4), 0.125), ENC),
            r"^pzx: has 4 columns, expected n_x = 3 to match the encoder$",
        ),
        (
            lambda: toyrd.latent_information(_with(np.outer([0.5, 0.5], PX), (1, 2), -0.1), ENC),
            r"^pzx: entry \(1, 2\) is -0\.1, probabilities must be >= 0$",
        ),
        (
            lambda: toyrd.mutual_information(np.full((2, 2), 0.3)),
            r"^joint: entries sum to 1\.2, expected 1 ± 1e-10$",
        ),
        (lambda: toyrd.entropy([[0.5, 0.5]]), r"^p: expected a vector \(rank 1\), got rank 2"),
    ],
)
def test_sizes_and_other_tables_are_checked(call, rule):
    """Mismatched sizes between tables, and the extra tables (q, r, pzx, a joint), are checked."""
    with pytest.raises(TableError, match=rule):
        call()


def test_sum_tolerance_is_inclusive_and_nothing_is_renormalised():
    """Rows within SUM_TOL pass and come back bit-for-bit unchanged; beyond it they are rejected."""
    assert SUM_TOL == 1e-10
    inside = np.array([[0.5, 0.5 + 0.5 * SUM_TOL], [0.25, 0.75 - 0.5 * SUM_TOL]])
    np.testing.assert_array_equal(as_conditional("encoder", inside), inside)  # not renormalised
    vec = np.array([0.5, 0.5 + 0.5 * SUM_TOL])
    np.testing.assert_array_equal(as_distribution("px", vec), vec)
    outside = np.array([[0.5, 0.5], [0.25, 0.75 + 3 * SUM_TOL]])
    with pytest.raises(TableError, match=r"^encoder row 1: sums to 1\.0000000003"):
        as_conditional("encoder", outside)
    # the quantity is computed on the table as given: R of the un-normalised table differs
    px = np.array([0.5, 0.5])
    e = np.array([[0.5, 0.5 + 0.5 * SUM_TOL], [0.5, 0.5]])
    got = toyrd.rate(px, e, [0.5, 0.5])
    want = 0.5 * (0.5 + 0.5 * SUM_TOL) * np.log((0.5 + 0.5 * SUM_TOL) / 0.5)
    assert abs(got - want) < 1e-18 and got > 0


def test_float32_tables_are_not_silently_accepted():
    """A float32 round trip moves row sums by ~1e-8 > SUM_TOL: rejected, naming the row."""
    e = np.array([[0.1, 0.2, 0.7], [1 / 3, 1 / 3, 1 / 3]], dtype=np.float32)
    with pytest.raises(TableError, match=r"^encoder row (0|1): sums to .*expected 1 ± 1e-10$"):
        as_conditional("encoder", e)
    ok = as_conditional("encoder", np.array([[0.25, 0.75], [1.0, 0.0]], dtype=np.float32))
    assert ok.dtype == np.float64  # exactly representable rows pass, converted to float64


def test_integer_tables_are_read_as_float64():
    """Integer one-hot tables are valid probability tables."""
    out = check_model(np.array([1, 0]), np.eye(2, dtype=int), np.eye(2, dtype=np.int64), [0, 1])
    assert all(a.dtype == np.float64 for a in out)


def test_normalize_true_divides_by_the_sums():
    """normalize=True rescales each row (or vector, or joint) to sum 1; zero rows still fail."""
    raw = np.array([[1.0, 3.0], [2.0, 2.0]])
    np.testing.assert_allclose(
        as_conditional("encoder", raw, normalize=True), [[0.25, 0.75], [0.5, 0.5]], rtol=0, atol=0
    )
    np.testing.assert_allclose(
        as_distribution("px", [2.0, 6.0], normalize=True), [0.25, 0.75], rtol=0, atol=0
    )
    np.testing.assert_allclose(as_joint("pzx", raw, normalize=True), raw / 8.0, rtol=0, atol=0)
    px, e, d, m = check_model([1, 1, 2], 10 * ENC, 3 * DEC, [4, 6], normalize=True)
    np.testing.assert_allclose(px, [0.25, 0.25, 0.5], rtol=0, atol=0)
    np.testing.assert_allclose(e, ENC, rtol=1e-15, atol=0)
    np.testing.assert_allclose(d, DEC, rtol=1e-15, atol=0)
    np.testing.assert_allclose(m, [0.4, 0.6], rtol=1e-15, atol=0)
    with pytest.raises(
        TableError, match=r"^encoder row 1: sums to 0; cannot normalize a zero row$"
    ):
        as_conditional("encoder", [[1.0, 0.0], [0.0, 0.0]], normalize=True)
    with pytest.raises(TableError, match=r"^px: sums to 0; cannot normalize a zero vector$"):
        as_distribution("px", [0.0, 0.0], normalize=True)
    with pytest.raises(
        TableError, match=r"^encoder: entry \(0, 0\) is -1, probabilities must be >= 0$"
    ):
        as_conditional("encoder", [[-1.0, 2.0]], normalize=True)  # negatives are never "fixed"


def test_model_files_round_trip_and_normalize_only_on_request(tmp_path):
    """save_model → load_model returns the same float64 tables; a file with un-normalised rows
    is rejected unless ``normalize=True`` is asked for, which divides by the sums."""
    pzx = np.outer([0.25, 0.75], PX)
    toyrd.save_model(tmp_path / "m.npz", ENC, DEC, MAR, px=PX, pzx=pzx)
    m = toyrd.load_model(tmp_path / "m.npz")
    for got, want in zip(m, (PX, ENC, DEC, MAR, pzx)):
        np.testing.assert_array_equal(got, want)
    np.savez(tmp_path / "raw.npz", px=[1.0, 1.0, 2.0], encoder=10 * ENC, decoder=DEC, marginal=MAR)
    with pytest.raises(
        TableError, match=r"raw\.npz: encoder row 0: sums to 10, expected 1 ± 1e-10$"
    ):
        toyrd.load_model(tmp_path / "raw.npz")
    m = toyrd.load_model(tmp_path / "raw.npz", normalize=True)
    np.testing.assert_allclose(m.px, [0.25, 0.25, 0.5], rtol=0, atol=0)
    np.testing.assert_allclose(m.encoder, ENC, rtol=1e-15, atol=0)
    with pytest.raises(TableError, match=r"^pzx: has 2 columns, expected n_x = 3"):
        toyrd.save_model(tmp_path / "bad.npz", ENC, DEC, MAR, px=PX, pzx=np.full((2, 2), 0.25))
    assert not (tmp_path / "bad.npz").exists()


def test_sum_tolerance_boundary_is_exact_to_one_float():
    """SUM_TOL is the boundary itself: the last float64 sum within 1 ± SUM_TOL is accepted, the
    next one out is rejected, and 1 ± 10·SUM_TOL is rejected — for vectors, rows and joints
    (one-entry tables, so the sum is the entry and no rounding of the sum blurs the boundary)."""

    def last_inside(direction):
        x = 1.0 + direction * SUM_TOL
        while abs(x - 1.0) > SUM_TOL:  # step back to the last float with |x − 1| ≤ SUM_TOL
            x = np.nextafter(x, 1.0)
        while abs(np.nextafter(x, direction * np.inf) - 1.0) <= SUM_TOL:
            x = np.nextafter(x, direction * np.inf)
        return x

    for direction in (1.0, -1.0):
        inside = last_inside(direction)
        outside = np.nextafter(inside, direction * np.inf)
        # |x − 1| = SUM_TOL exactly is unreachable (1e-10 is no multiple of the float spacing
        # 2^-52 above 1 or 2^-53 below), so ">" and ">=" in the rule are the same rule.
        assert abs(inside - 1.0) < SUM_TOL < abs(outside - 1.0)
        far = 1.0 + direction * 10 * SUM_TOL
        for check, shape in ((as_distribution, (1,)), (as_conditional, (1, 1)), (as_joint, (1, 1))):
            assert check("t", np.full(shape, inside))[(0,) * len(shape)] == inside
            for bad in (outside, far):
                with pytest.raises(TableError, match=r"expected 1 ± 1e-10$"):
                    check("t", np.full(shape, bad))


def test_fast_path_accepts_only_clean_float64_tables_and_copies_them():
    """The one-pass check (``_valid_float64``) takes float64 ndarrays of the right rank with
    entries >= 0 and sums within SUM_TOL / 2, and returns a copy; anything else (other types,
    ranks, dtypes, NaN, inf, a negative, a sum nearer the edge) falls through (None) to the full
    check, which then accepts exactly what the rule accepts."""
    from toyrd._validate import _valid_float64

    e = np.array([[0.25, 0.75], [1.0, 0.0]])
    got = _valid_float64(e, 2, rows=True)
    assert got is not e and np.array_equal(got, e)  # a copy: the caller's array is never shared
    v = np.array([0.5, 0.5])
    assert np.array_equal(_valid_float64(v, 1, rows=False), v)
    joint = np.full((2, 2), 0.25)
    assert np.array_equal(_valid_float64(joint, 2, rows=False), joint)
    near = 0.4 * SUM_TOL
    assert _valid_float64(np.array([[0.5, 0.5 + near], [1.0, 0.0]]), 2, rows=True) is not None
    assert _valid_float64(np.array([0.5, 0.5 + near]), 1, rows=False) is not None
    edge = 0.6 * SUM_TOL  # inside the rule, outside the fast test: the full check accepts
    row_edge = np.array([[0.5, 0.5 + edge], [1.0, 0.0]])
    vec_edge = np.array([0.5, 0.5 - edge])
    assert _valid_float64(row_edge, 2, rows=True) is None
    assert _valid_float64(vec_edge, 1, rows=False) is None
    np.testing.assert_array_equal(as_conditional("encoder", row_edge), row_edge)
    np.testing.assert_array_equal(as_distribution("px", vec_edge), vec_edge)
    # every row just inside: the 2-norm test fails although each row passes the rule
    many = np.full((30, 1), 1.0 + 0.3 * SUM_TOL)
    assert _valid_float64(many, 2, rows=True) is None
    np.testing.assert_array_equal(as_conditional("encoder", many), many)
    for bad, ndim in (
        (e.astype(np.float32), 2),
        (e.tolist(), 2),
        (np.eye(2, dtype=int), 2),
        (v, 2),
        (e, 1),
        (np.empty((0, 2)), 2),
        (np.array([[np.nan, 1.0], [1.0, 0.0]]), 2),
        (np.array([[np.inf, 1.0], [1.0, 0.0]]), 2),
        (np.array([[-1e-300, 1.0], [1.0, 0.0]]), 2),
    ):
        assert _valid_float64(bad, ndim, rows=True) is None, bad
    assert _valid_float64(np.array([1.5, -0.5]), 1, rows=False) is None
    assert _valid_float64(np.array([0.5, 0.5 + 2 * SUM_TOL]), 1, rows=False) is None
    with pytest.raises(TableError, match=r"^encoder: entry \(0, 0\) is -1e-300"):
        as_conditional("encoder", np.array([[-1e-300, 1.0], [1.0, 0.0]]))


@pytest.mark.parametrize("n_z", [2, 3])  # n_z = n_x: one stack; otherwise two
def test_model_fast_path_checks_all_four_tables_and_copies_them(n_z):
    """``_valid_model`` (check_model's one pass over the four tables stacked as rows) returns
    copies equal to clean float64 inputs, and None when any one table breaks a rule or the fast
    test, has another type, rank or dtype, or a size that disagrees."""
    from toyrd._validate import _valid_model

    rng = np.random.default_rng(n_z)
    px = np.array([0.25, 0.75])
    e = rng.random((2, n_z))
    e /= e.sum(1, keepdims=True)
    d = rng.random((n_z, 2))
    d /= d.sum(1, keepdims=True)
    m = np.full(n_z, 1.0 / n_z)
    model = (px, e, d, m)
    got = _valid_model(*model)
    assert got is not None
    for a, b in zip(got, model):
        assert np.array_equal(a, b) and a.shape == b.shape and not np.shares_memory(a, b)
    edge = 0.6 * SUM_TOL  # inside the rule, outside the fast test
    for i, bad in [
        (i, f(model[i]))
        for i in range(4)
        for f in (
            lambda a: (
                a
                + np.where(np.arange(a.shape[-1]) == 0, -1.0, 1.0)  # a negative, the
                * (a[..., :1] + 1e-12)  # sums kept: entry 0 → −1e-12, entry 1 takes the difference
                * (np.arange(a.shape[-1]) < 2)
            ),
            lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.nan, a),
            lambda a: np.where(np.arange(a.size).reshape(a.shape) == 0, np.inf, a),
            lambda a: a + np.where(np.arange(a.shape[-1]) == 0, edge, 0.0),
            lambda a: a.astype(np.float32),
            lambda a: a.tolist(),
            lambda a: a[None],
            lambda a: a[..., :1] / a[..., :1].sum(-1, keepdims=True),
        )
    ]:
        tables = list(model)
        tables[i] = bad
        assert _valid_model(*tables) is None, (i, bad)
    assert _valid_model(np.array([1.0]), np.ones((1, 0)), np.ones((0, 1)), np.ones(0)) is None


def test_clean_float64_tables_never_reach_the_entry_by_entry_check(monkeypatch):
    """The common case is the fast path: four float64 tables with matching sizes come back from
    check_model (and each from as_distribution / as_conditional / as_joint) without the full
    check running; anything else still goes through it."""
    import toyrd._validate as V

    def full_check(*args, **kwargs):
        raise AssertionError("the full check ran for clean float64 tables")

    px, e = np.array([0.25, 0.75]), np.array([[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]])
    d, m = np.full((3, 2), 0.5), np.array([0.2, 0.3, 0.5])
    monkeypatch.setattr(V, "_as_float_array", full_check)
    with monkeypatch.context() as mp:  # check_model: one call for the four tables together
        mp.setattr(V, "as_distribution", full_check)
        mp.setattr(V, "as_conditional", full_check)
        out = V.check_model(px, e, d, m)
        # n_x = n_z (the one-stack case), with exact zeros: still the fast path
        sq = (np.array([0.5, 0.5]), np.array([[1.0, 0.0], [0.5, 0.5]]), np.eye(2), np.eye(2)[0])
        out_sq = V.check_model(*sq)
    assert all(np.array_equal(a, b) for a, b in zip(out, (px, e, d, m)))
    assert all(np.array_equal(a, b) for a, b in zip(out_sq, sq))
    V.as_distribution("px", px)
    V.as_conditional("encoder", e)
    V.as_joint("pzx", np.full((2, 2), 0.25))
    with pytest.raises(AssertionError, match="the full check ran"):  # a list is not the case
        V.as_distribution("px", [0.25, 0.75])


def test_check_int_takes_integers_from_the_minimum_up():
    """Settings that must be integers >= a minimum: the minimum itself is accepted (as a Python
    int, numpy integers too); one below, floats (even integral ones) and bools are refused."""
    from toyrd._validate import check_int

    assert check_int("n", 3, 3) == 3 and type(check_int("n", np.int64(4), 3)) is int
    for bad in (2, 3.0, 3.5, True, False, "3", None):
        with pytest.raises(ToyrdError, match=rf"^n: {bad!r}, expected an integer >= 3$"):
            check_int("n", bad, 3)
    assert check_int("flag", 1, 0) == 1  # an int equal to True is still an int
    with pytest.raises(ToyrdError, match=r"^flag: True, expected an integer >= 0$"):
        check_int("flag", True, 0)


def test_the_first_negative_entry_is_named_not_a_zero_before_it():
    """A zero entry is a valid probability: the message names the first *negative* entry."""
    with pytest.raises(TableError, match=r"^px: entry 1 is -0\.1, probabilities must be >= 0$"):
        as_distribution("px", np.array([0.0, -0.1, 1.1]))
    with pytest.raises(
        TableError, match=r"^encoder: entry \(0, 2\) is -0\.5, probabilities must be >= 0$"
    ):
        as_conditional("encoder", np.array([[0.0, 1.5, -0.5], [0.0, 0.0, 1.0]]))


def test_normalize_true_divides_even_sums_within_the_tolerance():
    """normalize=True always divides by the sums, also when they are already within SUM_TOL of 1
    (where the fast path would return the table as given): the result is table / sum exactly,
    for vectors, joints, conditionals and the four tables of check_model."""
    off = 1.0 + 0.4 * SUM_TOL
    vec = np.array([0.5, 0.5 * off])
    tab = np.array([[0.25, 0.75 * off], [0.5, 0.5]])
    np.testing.assert_array_equal(as_distribution("px", vec, normalize=True), vec / vec.sum())
    np.testing.assert_array_equal(as_joint("pzx", tab / 2, normalize=True), tab / tab.sum())
    np.testing.assert_array_equal(
        as_conditional("encoder", tab, normalize=True), tab / tab.sum(1)[:, None]
    )
    assert not np.array_equal(vec / vec.sum(), vec)  # the division does change them
    px = np.array([0.2, 0.3, 0.5 * off])
    enc = np.array([[0.5, 0.5 * off], [0.9, 0.1], [0.2, 0.8]])
    got = check_model(px, enc, enc.T / enc.T.sum(1)[:, None], MAR * off, normalize=True)
    np.testing.assert_array_equal(got[0], px / px.sum())
    np.testing.assert_array_equal(got[1], enc / enc.sum(1)[:, None])
    np.testing.assert_array_equal(got[3], MAR * off / (MAR * off).sum())


@pytest.mark.parametrize(
    "px, dec, mar, rule",
    [
        (np.array([0.5, 0.5]), DEC, MAR, r"^encoder: has 3 rows \(data states\) but px has 2"),
        (PX, DEC, np.array([0.2, 0.3, 0.5]), r"^marginal: has 3 entries, expected n_z = 2 to"),
        (PX, DEC.T.copy() / DEC.T.sum(1)[:, None], MAR, r"^decoder: shape \(3, 2\), expected"),
    ],
)
def test_clean_float64_tables_of_mismatched_sizes_are_refused(px, dec, mar, rule):
    """Four clean float64 tables (the fast path's case) whose sizes disagree: the same
    TableError as for any other tables, naming the table and both sizes."""
    with pytest.raises(TableError, match=rule):
        check_model(px, ENC, dec, mar)
    out = check_model(PX, ENC, DEC, MAR)
    assert [a.shape for a in out] == [(3,), (3, 2), (2, 3), (2,)]


def test_sums_match_is_the_two_norm_test_at_half_the_tolerance():
    """sums_match(sums, target): ‖sums − target‖₂ <= SUM_TOL / 2; a vector off by 0.4·SUM_TOL in
    one entry matches, by 0.6·SUM_TOL or by 1e-6 it does not (the full check decides then)."""
    from toyrd._validate import sums_match

    target = np.array([0.2, 0.3, 0.5])
    assert sums_match(target.copy(), target)
    for off, want in ((0.4 * SUM_TOL, True), (0.6 * SUM_TOL, False), (1e-6, False)):
        assert sums_match(target + np.array([0.0, off, 0.0]), target) is want, off
    assert not sums_match(-target, target)
