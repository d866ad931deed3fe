"""Likelihood metrics against hand-computed numbers, and the keras.ops loss against the NumPy evaluator."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstm_hist.evaluation import metrics as M

# Two steps of a 2-note roll. Step 1: y = (1, 0), p = (0.8, 0.3) → −(ln 0.8 + ln 0.7) = 0.579818495...
# Step 2: y = (0, 0), p = (0.5, 0.5) → 2 ln 2 = 1.386294361...
Y = np.array([[[1.0, 0.0], [0.0, 0.0]]])
P = np.array([[[0.8, 0.3], [0.5, 0.5]]])
STEP1 = -(math.log(0.8) + math.log(0.7))
STEP2 = 2 * math.log(2)


def logit(p):
    return np.log(p / (1 - p))


def test_frame_nll_sums_over_notes_and_averages_over_steps():
    assert STEP1 == pytest.approx(0.5798185, abs=1e-7)
    np.testing.assert_allclose(M.bernoulli_nll_per_step(Y, P, from_logits=False), [[STEP1, STEP2]])
    assert M.frame_nll_bernoulli(Y, P, from_logits=False) == pytest.approx((STEP1 + STEP2) / 2)
    assert M.frame_nll_bernoulli(Y, logit(P)) == pytest.approx((STEP1 + STEP2) / 2)
    # A masked (padding) step does not count.
    assert M.frame_nll_bernoulli(Y, logit(P), mask=[[1, 0]]) == pytest.approx(STEP1)
    assert M.frame_nll_totals(Y, logit(P), mask=[[1, 0]]) == (pytest.approx(STEP1), 1)


def test_every_time_step_weighs_the_same_across_sequences():
    # Sequence A has 1 real step (STEP1), sequence B has 3 (each STEP2): the flat-list mean is
    # (STEP1 + 3·STEP2) / 4, not the mean of the two sequence means (BL 2012).
    y = np.zeros((2, 3, 2))
    y[0, 0] = [1, 0]
    p = np.full((2, 3, 2), 0.5)
    p[0, 0] = [0.8, 0.3]
    mask = np.array([[1, 0, 0], [1, 1, 1]])
    expected = (STEP1 + 3 * STEP2) / 4
    assert M.frame_nll_bernoulli(y, p, mask, from_logits=False) == pytest.approx(expected)
    assert expected != pytest.approx((STEP1 + STEP2) / 2)


def test_logits_are_numerically_stable():
    y = np.array([[1.0, 0.0]])
    assert M.frame_nll_bernoulli(y, np.array([[200.0, -200.0]])) == pytest.approx(0.0, abs=1e-12)
    assert M.frame_nll_bernoulli(y, np.array([[-200.0, 0.0]])) == pytest.approx(200 + math.log(2))


def test_perplexity_and_token_nll():
    assert M.mean_nll_per_token(6.0, 3) == 2.0
    assert M.perplexity(10 * math.log(4), 10) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        M.perplexity(1.0, 0)
    # Uniform logits over 4 words: −log(1/4) per token.
    total, count = M.softmax_nll_totals(np.array([2, 0]), np.zeros((2, 4)))
    assert (total, count) == (pytest.approx(2 * math.log(4)), 2)
    # logits (ln 1, ln 3) → P(label 1) = 3/4; the masked token is left out.
    total, count = M.softmax_nll_totals(np.array([1, 0]), np.log([[1.0, 3.0], [1.0, 1.0]]), mask=[1, 0])
    assert (total, count) == (pytest.approx(-math.log(0.75)), 1)


def test_frame_accuracy_is_tp_over_tp_fp_fn():
    y = np.array([[[1, 1, 0]]])
    p = np.array([[[0.9, 0.2, 0.7]]])  # TP 1, FN 1, FP 1
    assert M.frame_accuracy(y, p) == pytest.approx(1 / 3)


def test_keras_ops_loss_matches_numpy_evaluator():
    from keras import ops

    rng = np.random.default_rng(0)
    y = (rng.uniform(size=(3, 4, 5)) < 0.3).astype("float32")
    logits = rng.normal(size=(3, 4, 5)).astype("float32")
    mask = np.array([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1]], "float32")
    per_step = ops.convert_to_numpy(M.bernoulli_nll_per_step_ops(y, ops.convert_to_tensor(logits)))
    np.testing.assert_allclose(per_step, M.bernoulli_nll_per_step(y, logits), rtol=1e-5)
    probs = 1 / (1 + np.exp(-logits))
    per_step_p = ops.convert_to_numpy(M.bernoulli_nll_per_step_ops(y, ops.convert_to_tensor(probs), from_logits=False))
    np.testing.assert_allclose(per_step_p, M.bernoulli_nll_per_step(y, probs, from_logits=False), rtol=1e-4)
    loss = M.frame_nll_loss()
    value = float(ops.convert_to_numpy(loss(y, logits, sample_weight=mask)))
    assert value == pytest.approx(M.frame_nll_bernoulli(y, logits, mask), rel=1e-5)
    token = M.token_nll_loss()
    labels = np.array([0, 2])
    value = float(ops.convert_to_numpy(token(labels, np.zeros((2, 3), "float32"))))
    assert value == pytest.approx(math.log(3), rel=1e-6)


def test_backend_softmax_nll_matches_the_numpy_reference():
    rng = np.random.default_rng(3)
    logits = (rng.normal(size=(64, 500)) * 8).astype(np.float32)  # large spread: the shift must be right
    labels = rng.integers(0, 500, size=64)
    mask = rng.integers(0, 2, size=64)
    fast = M.softmax_nll_totals_fast(labels, logits, mask)
    slow = M.softmax_nll_totals(labels, logits, mask)
    assert fast[1] == slow[1]
    assert fast[0] == pytest.approx(slow[0], rel=1e-5)
    with pytest.raises(ValueError, match="do not match"):
        M.softmax_nll_totals_fast(labels[:3], logits)
