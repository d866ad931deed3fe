"""The adding-problem generator against the rules of §5.4, over many samples."""

import numpy as np
import pytest

from reproductions.hochreiter1997.tasks.adding import adding_problem, max_length


@pytest.fixture(scope="module", params=[100, 1000])
def batch(request):
    T = request.param
    return T, adding_problem(np.random.default_rng(0), 5000 if T == 100 else 500, min_length=T)


def positions(row, marker):
    return np.flatnonzero(row == marker)


def test_lengths_are_uniform_in_T_to_T_plus_T_over_10(batch):
    T, b = batch
    assert b.lengths.min() == T and b.lengths.max() == T + T // 10
    assert b.x.shape[1] == max_length(T) == T + T // 10
    if T == 100:
        counts = np.bincount(b.lengths - T, minlength=T // 10 + 1)
        assert counts.min() > 0.7 * counts.mean()  # every length occurs, none starved


def test_values_uniform_in_minus_one_one_and_padding_is_zero(batch):
    T, b = batch
    mask = b.mask()
    values = b.x[..., 0][mask]
    assert values.min() >= -1 and values.max() <= 1
    assert abs(values.mean()) < 0.02 and abs(values.std() - np.sqrt(1 / 3)) < 0.02
    assert not b.x[~mask].any()


def test_exactly_two_marked_pairs_first_and_last_marked_minus_one(batch):
    T, b = batch
    markers = b.x[..., 1]
    for row, length in zip(markers, b.lengths):
        ones = positions(row, 1.0)
        assert len(ones) == 2
        assert row[length - 1] == -1.0
        assert row[0] == (1.0 if ones[0] == 0 else -1.0)
        assert set(np.unique(row[:length])) <= {-1.0, 0.0, 1.0}
        assert np.count_nonzero(row[:length]) == 2 + (1 if ones[0] == 0 else 2)


def test_x1_among_first_ten_and_x2_among_the_T_over_2_minus_1_pairs_after_the_first(batch):
    T, b = batch
    first, second = np.array([positions(row, 1.0) for row in b.x[..., 1]]).T
    assert first.min() == 0 and first.max() == 9
    assert np.bincount(first, minlength=10).min() > 0
    assert second.min() >= 1 and second.max() <= T // 2 - 1
    if T == 100:
        assert second.min() == 1 and second.max() == T // 2 - 1
    assert (second != first).all()
    assert (b.lengths - 1 - second >= T // 2).all()  # minimal lag, Table 7: 50 / 250 / 500


def test_x1_is_zero_when_the_first_pair_is_marked_and_target_is_scaled_sum(batch):
    T, b = batch
    values, markers = b.x[..., 0], b.x[..., 1]
    marked_sum = np.where(markers == 1.0, values, 0).sum(axis=1)
    np.testing.assert_allclose(b.y[:, 0], 0.5 + marked_sum / 4.0, atol=1e-6)
    first_marked = markers[:, 0] == 1.0
    assert first_marked.any()
    assert (values[first_marked, 0] == 0.0).all()
    assert b.y.min() >= 0.0 and b.y.max() <= 1.0


def test_generator_is_a_pure_function_of_the_rng():
    a = adding_problem(np.random.default_rng(42), 10, 100)
    b = adding_problem(np.random.default_rng(42), 10, 100)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
