"""The task generators of Hochreiter & Schmidhuber (1997) Exps 1, 2, 3, 5, 6, checked against their rules
(§5.1–5.3, 5.5, 5.6) over many samples."""

import numpy as np
import pytest

from reproductions.hochreiter1997.tasks import long_lag as ll
from reproductions.hochreiter1997.tasks import reber
from reproductions.hochreiter1997.tasks.multiplication import multiplication_problem
from reproductions.hochreiter1997.tasks.temporal_order import B, E, X, Y, temporal_order
from reproductions.hochreiter1997.tasks.two_sequence import two_sequence


def rng(seed=0):
    return np.random.default_rng(seed)


def assert_padded(batch):
    steps = np.arange(batch.x.shape[1])
    pad = steps[None, :] >= batch.lengths[:, None]
    assert not batch.x[pad].any()
    real = ~pad
    assert np.allclose(batch.x[real].sum(-1), 1.0) or batch.x.shape[-1] == 1


# --- Exp 1 -------------------------------------------------------------------------------------------


def test_reber_strings_follow_the_embedded_grammar():
    batch = reber.embedded_reber(rng(), 3000)
    assert batch.x.shape == (3000, 50, 7) and batch.y.shape == (3000, 50, 7)
    assert_padded(batch)
    legal = reber.legal_next(batch.x, batch.lengths)  # raises on any ungrammatical string
    strings = [reber.decode(batch.x[i], batch.lengths[i]) for i in range(3000)]
    assert all(s[:1] == "B" and s[-1] == "E" and s[1] == s[-2] and s[2] == "B" and s[-3] == "E" for s in strings)
    assert batch.lengths.min() >= 9 and batch.lengths.max() <= 50
    # the outer branch and the first inner branch are each taken with probability 0.5
    assert abs(np.mean([s[1] == "T" for s in strings]) - 0.5) < 0.04
    assert abs(np.mean([s[3] == "T" for s in strings]) - 0.5) < 0.04
    # targets: the next symbol at steps 0 … length−2, nothing at the final E; every target is legal
    for i in range(200):
        n = batch.lengths[i]
        np.testing.assert_array_equal(batch.y[i, : n - 1], batch.x[i, 1:n])
        assert not batch.y[i, n - 1 :].any()
        assert legal[i, np.arange(n - 1), batch.y[i, : n - 1].argmax(-1)].all()
        assert not legal[i, n - 1 :].any()


def test_reber_legal_sets_are_the_grammars():
    x = reber.encode(["BTBTXSETE"], 12)
    legal = reber.legal_next(x.x, x.lengths)[0]
    got = ["".join(s for s, on in zip(reber.SYMBOLS, row) if on) for row in legal[:8]]
    assert got == ["TP", "B", "TP", "SX", "SX", "E", "T", "E"]  # two legal symbols inside loops, one elsewhere
    for bad in ("BTBTXSEPE", "BTBTSEE", "BTBPXSETE"):  # wrong closing branch; S from state 0; P then X
        with pytest.raises(ValueError):
            reber.legal_next(*reber.encode([bad], 12)[:2])


def test_reber_distinct_draws_have_no_repeats_and_are_a_pure_function_of_the_rng():
    def strings(batch):
        return [reber.decode(batch.x[i], batch.lengths[i]) for i in range(len(batch.lengths))]

    plain = strings(reber.embedded_reber(rng(3), 256))
    assert len(set(plain)) < 150  # the grammar's own frequencies repeat strings (about 97 different of 256)
    distinct = strings(reber.embedded_reber(rng(3), 256, distinct=True))
    assert len(set(distinct)) == 256
    assert distinct == strings(reber.embedded_reber(rng(3), 256, distinct=True))
    # first occurrences in draw order: the distinct set begins with the plain draws' first occurrences
    assert distinct[:20] == list(dict.fromkeys(plain))[:20]
    assert reber.embedded_reber.max_length(max_length=40, distinct=True) == 40



def test_reber_legal_targets_are_the_legal_next_sets_on_the_same_strings():
    """``targets="legal"`` (E1.9's other reading): every legal next symbol is a target, on the strings the plain
    targets would have; after the inner E only the branch symbol is legal, so the long lag is still to learn."""
    plain = reber.embedded_reber(rng(5), 200)
    legal = reber.embedded_reber(rng(5), 200, targets="legal")
    np.testing.assert_array_equal(legal.x, plain.x)
    np.testing.assert_array_equal(legal.y, reber.legal_next(plain.x, plain.lengths).astype(np.float32))
    assert (legal.y.sum(-1) == 2).any() and not legal.y[plain.y == 1].min() < 1  # wider than, and covers, the plain ones
    for i in range(200):  # the long-lag step (after the inner E): one target, the opening branch symbol
        n = plain.lengths[i]
        np.testing.assert_array_equal(legal.y[i, n - 3], plain.x[i, 1])
    with pytest.raises(ValueError, match="targets"):
        reber.embedded_reber(rng(), 4, targets="all")
    assert reber.embedded_reber.max_length(max_length=40, targets="legal") == 40


# --- Exp 2 -------------------------------------------------------------------------------------------


def test_task_2a_has_exactly_the_two_sequences():
    p = 100
    batch = ll.long_lag(rng(), 2000, p=p)
    codes = batch.x.argmax(-1)
    assert batch.x.shape == (2000, p + 1, p + 1) and (batch.lengths == p + 1).all()
    assert len({tuple(c) for c in codes}) == 2
    assert set(codes[:, 0]) == {p - 1, p} and (codes[:, 0] == codes[:, -1]).all()  # x…x or y…y
    np.testing.assert_array_equal(codes[:, 1:-1], np.broadcast_to(np.arange(p - 1), (2000, p - 1)))
    assert abs((codes[:, 0] == p).mean() - 0.5) < 0.04
    np.testing.assert_array_equal(batch.y[:, :-1], batch.x[:, 1:])
    assert not batch.y[:, -1].any()


def test_task_2b_has_a_random_middle_over_the_distractors_only():
    p = 20
    batch = ll.long_lag(rng(), 2000, p=p, random_middle=True)
    codes = batch.x.argmax(-1)
    middle = codes[:, 1:-1]
    assert middle.max() <= p - 2 and middle.min() == 0  # never x or y in the middle
    assert len(np.unique(middle)) == p - 1 and len({tuple(c) for c in codes}) > 1900
    assert (codes[:, 0] == codes[:, -1]).all() and set(codes[:, 0]) == {p - 1, p}


def test_task_2b_end_marker_reading_keeps_a_p_minus_1_last_and_the_rest_random():
    p = 20
    codes = ll.long_lag(rng(), 2000, p=p, random_middle=True, end_marker=True).x.argmax(-1)
    assert (codes[:, -2] == p - 2).all()  # a_{p−1} (unit p − 2) right before the final x|y, as in 2a
    random_part = codes[:, 1:-2]
    assert random_part.max() <= p - 3 and random_part.min() == 0 and len(np.unique(random_part)) == p - 2
    assert (codes[:, 0] == codes[:, -1]).all() and set(codes[:, 0]) == {p - 1, p}
    # the default reading's draws are not moved by the new option
    np.testing.assert_array_equal(ll.long_lag(rng(), 50, p=p, random_middle=True).x,
                                  ll.long_lag(rng(), 50, p=p, random_middle=True, end_marker=False).x)


@pytest.mark.parametrize("p,q", [(50, 50), (10, 100)])
def test_task_2c_follows_the_generation_rule(p, q):
    """The full sequence b, x|y, distractors, e, x|y (fed whole with ``final_input=True``)."""
    batch = ll.long_lag_2c(rng(1), 8000, p=p, q=q, final_input=True)
    e, b, x_unit = p, p + 1, p + 2
    codes = np.where(batch.x.any(-1), batch.x.argmax(-1), -1)
    n = batch.lengths
    rows = np.arange(len(n))
    assert_padded(batch)
    assert (codes[:, 0] == b).all() and np.isin(codes[:, 1], [x_unit, x_unit + 1]).all()
    assert (codes[rows, n - 1] == codes[:, 1]).all() and (codes[rows, n - 2] == e).all()
    assert ((codes == e).sum(1) == 1).all()  # e only just before the end
    inner = [codes[i, 2 : n[i] - 2] for i in range(2000)]
    assert all((c >= 0).all() and (c < p).all() for c in inner)  # distractors a_1 … a_p only
    assert n.min() == q + 4  # minimal length q+4
    # extra distractors are geometric with mean 9 (p = 9/10 of another one): mean length q+13, not the printed q+14
    assert abs(n.mean() - (q + 13)) < 0.5  # standard error ≈ 0.11
    np.testing.assert_array_equal(batch.y.argmax(-1), codes[:, 1] - x_unit)
    assert abs(batch.y[:, 1].mean() - 0.5) < 0.02


@pytest.mark.parametrize("p,q", [(50, 50), (10, 100)])
def test_task_2c_input_ends_at_the_trigger(p, q):
    """§5.2: the final x|y is predicted, so it is the target and not an input (the default): the input is the same
    sequence without it and ends with e, whose step is q + 1 or more steps after x|y (the minimal lag q + 1)."""
    whole = ll.long_lag_2c(rng(1), 2000, p=p, q=q, final_input=True)
    batch = ll.long_lag_2c(rng(1), 2000, p=p, q=q)
    e, x_unit = p, p + 2
    codes = np.where(batch.x.any(-1), batch.x.argmax(-1), -1)
    rows = np.arange(2000)
    assert_padded(batch)
    np.testing.assert_array_equal(batch.lengths, whole.lengths - 1)
    assert (codes[rows, batch.lengths - 1] == e).all()  # the output is read at e's step
    assert not np.isin(codes[:, 2:], [x_unit, x_unit + 1]).any()  # x|y only at step 1: nothing to copy at the end
    assert (batch.lengths - 1 - 1).min() == q + 1  # steps from x|y (step 1) to the prediction
    np.testing.assert_array_equal(batch.x, whole.x[:, : batch.x.shape[1]] * (codes >= 0)[..., None])
    np.testing.assert_array_equal(batch.y, whole.y)
    assert batch.x.shape[1] == ll.long_lag_2c_length(p, q) == whole.x.shape[1] - 1


# --- Exp 3 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("informative", [1, 3])
def test_task_3a_signal_then_noise(informative):
    batch = two_sequence(rng(), 4000, min_length=100, informative=informative)
    v = batch.x[..., 0]
    assert batch.lengths.min() == 100 and batch.lengths.max() == 110
    assert_padded(batch)
    class_one = batch.y[:, 0] == 1.0
    assert set(np.unique(batch.y)) == {0.0, 1.0} and abs(class_one.mean() - 0.5) < 0.03
    np.testing.assert_array_equal(v[:, :informative], np.where(class_one, 1.0, -1.0)[:, None] * np.ones(informative))
    noise = np.concatenate([v[i, informative : batch.lengths[i]] for i in range(4000)])
    assert abs(noise.mean()) < 0.01 and abs(noise.var() - 0.2) < 0.01


def test_task_3b_noise_on_the_informative_elements_and_3c_targets():
    batch = two_sequence(rng(), 8000, informative=3, informative_noise=True)
    sign = np.where(batch.y[:, 0] == 1.0, 1.0, -1.0)[:, None]
    deviation = batch.x[:, :3, 0] - sign
    assert abs(deviation.mean()) < 0.01 and abs(deviation.var() - 0.2) < 0.01
    noisy = two_sequence(rng(5), 8000, targets=(0.2, 0.8), target_noise_variance=0.1)
    clean = two_sequence(rng(5), 8000, targets=(0.2, 0.8), target_noise_variance=0.0)
    np.testing.assert_array_equal(noisy.x, clean.x)  # same stream: tests judge the noise-free target
    assert set(np.unique(clean.y)) == {np.float32(0.2), np.float32(0.8)}
    class_one = clean.y[:, 0] < 0.5
    np.testing.assert_array_equal(clean.x[:, 0, 0], np.where(class_one, 1.0, -1.0))  # class 1 → 0.2
    assert abs((noisy.y - clean.y).var() - 0.1) < 0.006


# --- Exp 5 -------------------------------------------------------------------------------------------


def test_multiplication_targets_are_the_product_of_the_marked_values():
    batch = multiplication_problem(rng(), 5000, min_length=100)
    values, markers = batch.x[..., 0], batch.x[..., 1]
    marked = markers == 1.0
    assert (marked.sum(1) == 2).all()
    real = np.arange(110)[None, :] < batch.lengths[:, None]
    assert values[real].min() >= 0.0 and values[real].max() <= 1.0
    product = np.array([np.prod(values[i][marked[i]]) for i in range(5000)])
    np.testing.assert_allclose(batch.y[:, 0], product, rtol=1e-6)
    first = marked[:, 0]
    assert 0.05 < first.mean() < 0.15 and (values[first, 0] == 1.0).all()  # X1 := 1.0 when the first pair is marked


# --- Exp 6 -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("relevant,ranges", [(2, [(10, 20), (50, 60)]), (3, [(10, 20), (33, 43), (66, 76)])])
def test_temporal_order_framing_positions_and_classes(relevant, ranges):
    batch = temporal_order(rng(), 4000, relevant=relevant)
    codes = np.where(batch.x.any(-1), batch.x.argmax(-1), -1)
    n, rows = batch.lengths, np.arange(4000)
    assert_padded(batch)
    assert n.min() == 100 and n.max() == 110
    assert (codes[:, 0] == E).all() and (codes[rows, n - 1] == B).all()
    assert ((codes == E).sum(1) == 1).all() and ((codes == B).sum(1) == 1).all()
    relevant_at = [np.flatnonzero((c == X) | (c == Y)) + 1 for c in codes]  # 1-based positions
    assert all(len(t) == relevant for t in relevant_at)
    positions = np.array(relevant_at)
    for k, (low, high) in enumerate(ranges):
        assert positions[:, k].min() == low and positions[:, k].max() == high
    bits = np.array([[codes[i, t - 1] == Y for t in relevant_at[i]] for i in range(4000)]).astype(int)
    classes = bits @ (1 << np.arange(relevant - 1, -1, -1))
    np.testing.assert_array_equal(batch.y.argmax(-1), classes)  # XX→Q(0), XY→R(1), YX→S(2), YY→U(3), …
    assert batch.y.shape == (4000, 2**relevant) and np.bincount(classes).min() > 4000 / 2**relevant * 0.8
    others = np.isin(codes, [2, 3, 4, 5])
    assert (others.sum(1) == n - 2 - relevant).all()  # everything else is a, b, c or d


def test_generators_are_pure_functions_of_the_rng():
    for make in (lambda r: reber.embedded_reber(r, 20), lambda r: ll.long_lag_2c(r, 20, p=5, q=5),
                 lambda r: two_sequence(r, 20), lambda r: temporal_order(r, 20)):  # fmt: skip
        a, b = make(rng(3)), make(rng(3))
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
