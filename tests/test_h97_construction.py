"""Sequential network construction (Exp 2a/2b, §4, §5.2): inactive cells change nothing, the stagnation rule
fires when it should, sequences are counted across stages, and a construction run resumes exactly."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402

from lstm_hist.errors import UserError  # noqa: E402
from lstm_hist.seeds import trial_streams  # noqa: E402
from reproductions.hochreiter1997 import EXPERIMENTS  # noqa: E402
from reproductions.hochreiter1997.construction import mask_layer  # noqa: E402
from reproductions.hochreiter1997.growth import Growth, GrowthRule  # noqa: E402
from reproductions.hochreiter1997.training.data import draw_chunk  # noqa: E402
from reproductions.hochreiter1997.training.online import train_online  # noqa: E402
from reproductions.hochreiter1997.training.protocol import OnlineProtocol  # noqa: E402
from reproductions.hochreiter1997.training.rtrl import NetSpec, RTRLStepper  # noqa: E402
from reproductions.hochreiter1997.training.steps import Stepper  # noqa: E402
from reproductions.hochreiter1997.symbols import task_for  # noqa: E402

LONG_LAG = EXPERIMENTS["long_lag"]
TASK = dict(p=6)
# Exp 2a's net (connectivity B, g1, identity h, no output gate, no biases) at a small p, with room for 2 blocks.
MODEL = dict(inputs=7, outputs=7, block_size=1, output_gate=False, recurrent=False, output_sees_inputs=True,
             cell_bias=False, gate_bias=False, output_bias=False, cell_input_activation="g1",
             cell_output_activation="identity", init_range=0.2, outputs_every_step=True)  # fmt: skip
N = 3


def build(blocks, initial_blocks=None, seed=0):
    keras.utils.set_random_seed(seed)
    return LONG_LAG.model(trials=N, blocks=blocks, initial_blocks=initial_blocks, **MODEL)


def values(model):
    return [np.array(ops.convert_to_numpy(v)) for v in model.trainable_variables]


def small_of(big):
    """A 1-block net holding the big net's weights of block 0 (kernel columns: cells then gates)."""
    kernel, out = values(big)  # (N, in, cells + gates), (N, in + cells, outputs); no biases in this net
    small = build(1)
    small.set_weights([kernel[..., [0, 2]], out[:, :-1]])
    return small


def data(count=3, seed=0):
    """What the experiment's net takes: symbol indices on the JAX fast path, one-hot vectors elsewhere."""
    task = task_for(LONG_LAG.task, build(1))
    return draw_chunk(task, TASK, trial_streams(seed, "train", N), count)


def test_a_net_with_one_of_two_blocks_active_computes_the_one_block_net():
    big = build(2, initial_blocks=1)
    small = small_of(big)
    x, mask, _ = data()
    np.testing.assert_allclose(big.predict_on_batch([x[0], mask[0]]), small.predict_on_batch([x[0], mask[0]]),
                               rtol=0, atol=1e-6)  # fmt: skip
    # ... and the mask does something: with both blocks the outputs differ.
    mask_layer(big).set_blocks(np.full(N, 2))
    assert np.abs(big.predict_on_batch([x[0], mask[0]]) - small.predict_on_batch([x[0], mask[0]])).max() > 1e-4


def test_a_net_with_no_block_active_is_the_inputs_to_outputs_net():
    """Exp 2a's first stage: the RTRL net without its hidden unit, y^k = σ(Σ_i w_ki x_i)."""
    big = build(1, initial_blocks=0)
    x, mask, _ = data()
    kernel_out = values(big)[1][:, :7]  # (N, inputs, outputs): the weights from the input units
    one_hot = x[0] if x.ndim == 4 else np.eye(7, dtype=np.float32)[x[0]]  # vectors, or symbol indices
    expected = 1.0 / (1.0 + np.exp(-np.einsum("nli,nio->nlo", one_hot, kernel_out)))
    np.testing.assert_allclose(big.predict_on_batch([x[0], mask[0]]), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("per_step", [True, False])
def test_training_with_an_inactive_block_is_training_the_smaller_net(per_step):
    """Same updates for the shared weights (RTRL per step, or autodiff per sequence); the inactive block's
    weights stay exactly at their initial values."""
    big = build(2, initial_blocks=1)
    small = small_of(big)
    before = values(big)
    x, mask, y = data()
    steppers = [RTRLStepper(m, 1.0, 0.5, every_step=True) if per_step
                else Stepper(m, keras.optimizers.SGD(1.0), 0.5, every_step=True) for m in (big, small)]  # fmt: skip
    for i in range(3):
        outs = [s(x[i], mask[i], y[i], np.ones(N, bool)) for s in steppers]
        np.testing.assert_allclose(outs[0], outs[1], rtol=0, atol=1e-5)
    for s in steppers:
        s.push()
    (kernel, out), (small_kernel, small_out) = values(big), values(small)
    np.testing.assert_allclose(kernel[..., [0, 2]], small_kernel, rtol=0, atol=1e-5)
    np.testing.assert_allclose(out[:, :-1], small_out, rtol=0, atol=1e-5)
    np.testing.assert_array_equal(kernel[..., [1, 3]], before[0][..., [1, 3]])  # block 1: cell and gate frozen
    np.testing.assert_array_equal(out[:, -1], before[1][:, -1])  # ... and its output weights
    assert np.abs(small_kernel - before[0][..., [0, 2]]).max() > 1e-4  # block 0 did learn


def test_per_trial_masks_rtrl_stepper_reads_the_mask_after_pull():
    big = build(2, initial_blocks=0)
    stepper = RTRLStepper(big, 1.0, 0.5, every_step=True)
    layer = mask_layer(big)
    layer.set_blocks(np.array([0, 1, 2]))
    stepper.pull()
    np.testing.assert_array_equal(ops.convert_to_numpy(stepper._cells_on), [[0, 0], [1, 0], [1, 1]])
    assert NetSpec(big).construction is layer


def scripted(errors, rows=None, **rule):
    """Feed one trial the errors; returns the sequence numbers (1-based) at which a block was added."""
    growth = Growth(GrowthRule(**rule), 1, 3, np.zeros(1))
    fired = []
    for seen, e in enumerate(errors, start=1):
        if growth.observe(np.ones(1, bool), np.array([float(e)]), seen)[0]:
            fired.append(seen)
    return fired, growth


def test_the_rule_fires_after_patience_blocks_without_a_relative_decrease():
    # window 2, patience 3, min_decrease 10 %. Block means: 10 (reference), 8 (decrease), 7.5 (not 10 % below 8:
    # stale 1), 7.3 (2), 7.9 (3 → fire at sequence 10). Then a new stage: 7 (reference), 6 (decrease), 5.9, 5.8,
    # 5.7 (stale 1, 2, 3 → fire at sequence 20).
    errors = [10, 10, 8, 8, 7.5, 7.5, 7.3, 7.3, 7.9, 7.9, 7, 7, 6, 6, 5.9, 5.9, 5.8, 5.8, 5.7, 5.7]
    fired, growth = scripted(errors, window=2, patience=3, min_decrease=0.1)
    assert fired == [10, 20]
    assert growth.per_trial(0) == {"blocks_active": 2, "blocks_added_at": [10, 20]}


def test_a_decrease_resets_the_patience_and_a_full_net_grows_no_more():
    # One decrease inside the stale run restarts the count: 10, 9.5(1), 9.4(2), 8(decrease), 7.9(1), 7.8(2), 7.7(3).
    errors = [10, 10, 9.5, 9.5, 9.4, 9.4, 8, 8, 7.9, 7.9, 7.8, 7.8, 7.7, 7.7]
    fired, _ = scripted(errors, window=2, patience=3, min_decrease=0.1)
    assert fired == [14]
    fired, growth = scripted([1.0] * 100, window=1, patience=1, min_decrease=0.0)  # fires every 2nd sequence
    assert fired == [2, 4, 6] and growth.active_blocks[0] == 3  # 3 blocks, then nothing is left to add


def test_the_rule_only_counts_sequences_of_active_trials():
    growth = Growth(GrowthRule(window=1, patience=1, min_decrease=0.0), 2, 1, np.zeros(2))
    rows = np.array([True, False])
    assert not growth.observe(rows, np.ones(2), 1).any()
    assert growth.observe(rows, np.ones(2), 2).tolist() == [True, False]
    assert growth.block_count[1] == 0 and growth.reference[1] == np.inf


def test_unknown_or_wrong_construction_keys_are_user_errors():
    with pytest.raises(UserError, match="unknown key"):
        OnlineProtocol(construction={"windw": 2})
    with pytest.raises(UserError, match="integer"):
        OnlineProtocol(construction={"patience": 2.5})
    with pytest.raises(UserError, match="min_decrease"):
        OnlineProtocol(construction={"min_decrease": 1.5})
    with pytest.raises(ValueError, match="recurrent"):
        EXPERIMENTS["long_lag"].model(trials=2, **{**MODEL, "recurrent": True}, blocks=1, initial_blocks=0)


def protocol(**kw):
    base = dict(trials=N, target="every_step", update="per_step", criterion_steps="all", learning_rate=1.0,
                criterion="window", threshold=0.25, window=50, max_sequences=120, test_sequences=8,
                checkpoint_every=40, construction={"window": 2, "patience": 4, "min_decrease": 0.01})  # fmt: skip
    return OnlineProtocol(**{**base, **kw})


def run(tmp_path, name, **kw):
    return train_online(protocol=protocol(**kw.pop("protocol", {})), experiment=LONG_LAG, task_cfg=TASK,
                        model_cfg={**MODEL, "blocks": 1, "initial_blocks": 0}, seed=3, workdir=tmp_path / name,
                        **kw)  # fmt: skip


def test_sequences_are_counted_across_stages_and_the_mask_follows_the_rule(tmp_path):
    result = run(tmp_path, "a")
    assert result.sequences_seen == 120
    rows = result.per_trial()
    for row in rows:
        assert row["sequences"] == 120  # the run's count: the stage-0 sequences are not dropped
        assert row["blocks_active"] == 1 and 0 < row["blocks_added_at"][0] <= 120
    assert result.metrics()["first_block_added_at_mean"] == np.mean([row["blocks_added_at"][0] for row in rows])
    # The saved mask (a non-trainable weight beside the record's weights) says which trials have their cell.
    active = [w for w in result.final_weights if w.shape == (N, 1)][0]
    np.testing.assert_array_equal(active[:, 0], [row["blocks_active"] for row in rows])


def test_without_construction_the_cell_is_there_from_the_start(tmp_path):
    with pytest.raises(UserError, match="initial_blocks"):
        train_online(protocol=protocol(), experiment=LONG_LAG, task_cfg=TASK, model_cfg={**MODEL, "blocks": 1},
                     seed=3)  # fmt: skip


def test_a_construction_run_resumes_to_the_uninterrupted_result(tmp_path):
    straight = run(tmp_path, "a")

    def interrupt(info):
        if info["sequences"] >= 60:
            raise KeyboardInterrupt

    stopped = run(tmp_path, "b", progress=interrupt, progress_every=20)
    assert stopped.status == "interrupted" and stopped.sequences_seen == 60
    resumed = run(tmp_path, "b", resume=True)
    assert resumed.repeated_sequences == 20  # checkpoint at 40, stopped at 60
    a, b = np.load(tmp_path / "a" / "checkpoint.npz"), np.load(tmp_path / "b" / "checkpoint.npz")
    assert "growth_added_at" in a.files
    for key in a.files:
        np.testing.assert_array_equal(a[key], b[key])
    assert straight.per_trial() == resumed.per_trial()
