"""Several online updates per jitted call (reproductions/hochreiter1997/training/block_steps.py, issue 13): the
same run as one update per call, also when trials are solved inside a block, and a stop honoured."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from reproductions.hochreiter1997 import EXPERIMENTS  # noqa: E402
from reproductions.hochreiter1997.training.online import train_online  # noqa: E402
from reproductions.hochreiter1997.training.protocol import OnlineProtocol  # noqa: E402

pytestmark = pytest.mark.skipif(keras.backend.backend() != "jax", reason="several updates per call: JAX only")

ADDING = EXPERIMENTS["adding"]
MODEL = dict(inputs=2, outputs=1, blocks=2, block_size=2, input_gate_bias=[-3.0, -6.0], init_range=0.1)
TASK = dict(min_length=10)
# ABS(0.2) for 9 sequences in a row: at seed 3 four trials are solved, at different counts, while one trains on.
PROTOCOL = dict(trials=5, max_sequences=400, criterion="window", threshold=0.2, window=9, test_sequences=16,
                checkpoint_every=200, learning_rate=1.0, kernel="keras")  # the Keras step's blocks and compaction


def _run(k, tmp_path, **kwargs):
    protocol = OnlineProtocol(**{**PROTOCOL, "updates_per_call": k})
    return train_online(protocol=protocol, experiment=ADDING, task_cfg=TASK, model_cfg=MODEL, seed=3,
                        workdir=tmp_path / f"k{k}", progress_every=50, **kwargs)


def test_blocks_of_updates_give_the_single_update_run(tmp_path):
    one, seven = _run(1, tmp_path), _run(7, tmp_path)
    # Trials frozen at different counts while another trains on: blocks are cut and rewound mid-way.
    assert one.solved.sum() >= 2 and not one.solved.all() and len(set(one.sequences[one.solved])) >= 2
    np.testing.assert_array_equal(one.sequences, seven.sequences)
    np.testing.assert_array_equal(one.solved, seven.solved)
    assert one.sequences_seen == seven.sequences_seen
    for a, b in zip(one.final_weights, seven.final_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for key in ("test_mse", "test_wrong"):
        np.testing.assert_allclose(one.test[key], seven.test[key], rtol=1e-5)
    a, b = np.load(tmp_path / "k1" / "checkpoint.npz"), np.load(tmp_path / "k7" / "checkpoint.npz")
    for key in a.files:
        np.testing.assert_allclose(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_a_stop_is_honoured_at_a_block_boundary(tmp_path):
    def stop(info):
        if info["sequences"] >= 100:
            raise KeyboardInterrupt

    stopped = _run(7, tmp_path, progress=stop)
    assert stopped.status == "interrupted" and stopped.sequences_seen == 100
