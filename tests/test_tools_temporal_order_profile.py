"""tools/temporal_order_profile.py names what an Exp 6 net misses (docs/deviations.md, Exp 6: "what the unsolved
6b trials look like")."""

from __future__ import annotations


import numpy as np

from reproductions.hochreiter1997.tasks.temporal_order import POSITIONS, temporal_order




def test_positions_are_read_back_from_the_inputs(load_tool):
    tool = load_tool("temporal_order_profile")
    batch = temporal_order(np.random.default_rng(3), 200, relevant=3)
    positions = tool.relevant_positions(batch.x, 3)
    for k, (low, high) in enumerate(POSITIONS[3]):
        assert positions[:, k].min() >= low and positions[:, k].max() <= high
    # the symbol at each position is X for a 0 bit and Y for a 1 bit, first most significant (E6.2)
    bits = (batch.y.argmax(-1)[:, None] >> np.array([2, 1, 0])) & 1
    symbols = batch.x[np.arange(200)[:, None], positions - 1].argmax(-1)
    np.testing.assert_array_equal(symbols, np.where(bits == 1, tool.Y, tool.X))


def test_a_dead_output_unit_and_a_missed_symbol_are_named(load_tool):
    tool = load_tool("temporal_order_profile")
    batch = temporal_order(np.random.default_rng(4), 800, relevant=3)
    true = batch.y.argmax(-1)
    positions = tool.relevant_positions(batch.x, 3)
    right = np.where(batch.y > 0.5, 0.95, 0.02)
    dead = right.copy()  # unit V (class 4, YXX) never fires: its sequences go to Q (XXX), the first bit read wrong
    dead[:, 4] = 0.0
    dead[true == 4, 0] = 0.9
    blind = right.copy()  # the third symbol ignored: always answered as X
    blind[:] = 0.02
    blind[np.arange(800), true & ~1] = 0.95
    rows = tool.profile(np.stack([right, dead, blind]), batch.y, positions, POSITIONS[3], threshold=0.3)

    assert rows[0]["wrong"] == 0 and rows[0]["argmax_wrong"] == 0 and rows[0]["never_answered"] == []
    n_v = int((true == 4).sum())
    assert rows[1]["argmax_wrong"] == n_v and rows[1]["wrong"] == n_v
    assert rows[1]["never_answered"] == ["V"] and rows[1]["class_correct"]["V"] == 0.0
    assert rows[1]["own_slope"]["V"] == 0.0 and rows[1]["own_slope"]["Q"] > 0.04
    assert rows[1]["confusions"][0] == {"target": "V", "answer": "Q", "count": n_v}
    assert rows[1]["bit_error"][1:] == [0.0, 0.0] and rows[1]["bit_error"][0] > 0.05
    third_wrong = float((true & 1).mean())
    assert rows[2]["bit_error"][:2] == [0.0, 0.0] and abs(rows[2]["bit_error"][2] - third_wrong) < 1e-4
    assert sorted(rows[2]["never_answered"]) == ["A", "C", "R", "U"]
