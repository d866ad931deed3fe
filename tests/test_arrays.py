"""lstm_hist.arrays: stacked data lands on a 64-byte boundary with the same values, so JAX reads it in place."""

from __future__ import annotations

import numpy as np

from lstm_hist.arrays import ALIGN, aligned_empty, aligned_stack


def test_aligned_stack_is_np_stack_on_an_aligned_buffer():
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(3, 5, 7)).astype(np.float32) for _ in range(4)]
    for axis in (0, 1, -1):
        out = aligned_stack(parts, axis=axis)
        assert out.ctypes.data % ALIGN == 0
        np.testing.assert_array_equal(out, np.stack(parts, axis=axis))
        assert out.dtype == np.float32


def test_aligned_empty_for_many_sizes():
    for size in (1, 3, 17, 1000):
        assert aligned_empty((size, 3), np.float32).ctypes.data % ALIGN == 0


def test_training_chunks_are_aligned():
    from lstm_hist.seeds import trial_streams
    from reproductions.hochreiter1997.training.data import draw_chunk
    from reproductions.hochreiter1997.tasks.adding import adding_problem

    x, _, _ = draw_chunk(adding_problem, {"min_length": 20}, trial_streams(0, "train", 3), 4)
    assert x.ctypes.data % ALIGN == 0
