"""tools/long_lag_end_profile.py tells a 2b net that answers the base rate from one that reads the end
(docs/deviations.md, "Task 2b: the end cannot be told")."""

from __future__ import annotations

import numpy as np

from reproductions.hochreiter1997.tasks.long_lag import long_lag_symbols


def test_base_rate_net_and_reading_net_are_told_apart(load_tool):
    tool = load_tool("long_lag_end_profile")
    p, n = 12, 300
    batch = long_lag_symbols(np.random.default_rng(5), n, p=p, random_middle=True)
    codes = batch.x
    base = np.full((n, p + 1, p + 1), 0.5 / p)  # x and y at their overall rate everywhere, nothing told apart
    reads = np.zeros((n, p + 1, p + 1))
    reads[:, :-1] = np.eye(p + 1)[codes[:, 1:]] * 0.9  # right at every step, the final x|y included
    rows = tool.profile(np.stack([base, reads]), codes, p)

    assert rows[0]["passes_at_end"] == 0.0 and rows[1]["passes_at_end"] == 1.0
    for cls in ("class_x", "class_y"):
        assert set(rows[0][cls].values()) == {round(0.5 / p, 4)}
    assert rows[1]["class_x"]["end_out_x"] == 0.9 and rows[1]["class_x"]["end_out_y"] == 0.0
    assert rows[1]["class_y"]["end_out_y"] == 0.9 and rows[1]["class_y"]["end_out_x"] == 0.0
    assert rows[1]["class_x"]["middle_out_x"] == 0.0  # the middle targets are never x or y
