"""tools/reber_error_profile.py reads the closing T/P units at the long-lag step (docs/deviations.md, "The Reber
gap": the unsolved nets' answer there)."""

from __future__ import annotations

import numpy as np

from reproductions.hochreiter1997.tasks.reber import INDEX, embedded_reber


def test_closing_outputs_pick_the_branch_unit_at_the_long_lag_step(load_tool):
    tool = load_tool("reber_error_profile")
    batch = embedded_reber(np.random.default_rng(2), 64)
    n, length = len(batch.lengths), batch.x.shape[1]
    rows = np.arange(n)
    branch = batch.x[:, 1].argmax(-1)
    assert set(branch) == {INDEX["T"], INDEX["P"]}
    pred = np.full((2, n, length, 7), 0.3)
    pred[0, rows, batch.lengths - 3, branch] = 0.9  # net 0 knows the branch at the long-lag step
    pred[1, rows, batch.lengths - 3] = 0.5  # net 1 answers ½ on every unit there
    pred[1, rows, batch.lengths - 2, branch] = 0.99  # ... and knows it one step too late, which must not count
    right, wrong = tool.closing_outputs(pred, batch.x, batch.lengths)
    assert right.shape == wrong.shape == (2, n)
    np.testing.assert_allclose(right[0], 0.9)
    np.testing.assert_allclose(wrong[0], 0.3)
    np.testing.assert_allclose(right[1], 0.5)
    np.testing.assert_allclose(wrong[1], 0.5)
    # the closing symbol of each string is its branch symbol: the step after length − 3 is T or P as x[:, 1]
    closing = batch.x[rows, batch.lengths - 2].argmax(-1)
    np.testing.assert_array_equal(closing, branch)
