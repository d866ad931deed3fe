"""tools/chung_nll_by_length.py: the pooled per-step NLL and the mean of the pieces' own means, on a fake model."""

from __future__ import annotations

import numpy as np


class _Echo:
    """predict_on_batch returns its input as the logits, so a test sets each piece's cost by hand."""

    def predict_on_batch(self, x):
        return np.asarray(x)


def test_pooled_nll_and_piece_mean_against_hand_computed_values(load_tool):
    tool = load_tool("chung_nll_by_length")
    x = np.zeros((2, 4, 3), "float32")
    x[1] = -2.0  # the second piece's logits
    y = np.zeros((2, 4, 3), "float32")
    w = np.array([[1, 1, 1, 1], [1, 0, 0, 0]], "float32")  # a 4-step piece and a 1-step piece
    out = tool.split_breakdown(_Echo(), (x, y, w), batch_size=1)
    long, short = 3 * np.log(2.0), 3 * np.log1p(np.exp(-2.0))  # per-step cost: softplus(z) summed over 3 units
    assert out["pieces"] == 2 and out["steps"] == 5
    assert np.isclose(out["nll"], (4 * long + short) / 5)  # every step weighs the same
    assert np.isclose(out["nll_piece_mean"], (long + short) / 2)  # every piece weighs the same
