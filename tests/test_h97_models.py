"""Table 10 of Hochreiter & Schmidhuber (1997): every config's net has the printed weight count, and the
Exp 2a/2b net has connectivity "B" (output units see inputs and the cell; no output gate, no biases)."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from lstm_hist.describe import describe_data  # noqa: E402
from lstm_hist.registry import list_experiments, load  # noqa: E402
from reproductions.hochreiter1997 import build_network  # noqa: E402

H97 = [e["id"] for e in list_experiments() if e["id"].startswith("hochreiter1997/")]

PRINTED = {  # Table 10 "W"
    "reber_4x1_lr01": 264, "reber_4x1_lr05": 264, "reber_3x2_lr01": 276, "reber_3x2_lr02": 276,
    "reber_3x2_lr05": 276, "long_lag_2a": 10504, "long_lag_2b": 10504,
    "long_lag_2c_q50_p50": 364, "long_lag_2c_q100_p100": 664, "long_lag_2c_q200_p200": 1264,
    "long_lag_2c_q500_p500": 3064, "long_lag_2c_q1000_p1000": 6064, "long_lag_2c_q1000_p500": 3064,
    "long_lag_2c_q1000_p200": 1264, "long_lag_2c_q1000_p100": 664, "long_lag_2c_q1000_p50": 364,
    "two_sequence_3a_t100_n3": 102, "two_sequence_3a_t100_n1": 102, "two_sequence_3a_t1000_n3": 102,
    "two_sequence_3b_t100_n3": 102, "two_sequence_3b_t100_n1": 102, "two_sequence_3b_t1000_n1": 102,
    "two_sequence_3c_t100_n3": 102, "two_sequence_3c_t100_n1": 102,
    "multiplication_nseq140": 93, "multiplication_nseq13": 93, "temporal_order_6a": 156, "temporal_order_6b": 308,
}  # fmt: skip


def test_every_printed_row_has_a_config():
    assert {f"hochreiter1997/{k}" for k in PRINTED} <= set(H97)


@pytest.mark.slow  # 12 distinct nets: Keras compiles an initializer per weight shape (about 50 s on 2 cores)
def test_every_config_builds_the_printed_weight_count():
    built = {}  # rows that share a net (e.g. all of Exp 3) are built once
    for stem, weights in PRINTED.items():
        _, _, experiment, cfg = load(f"hochreiter1997/{stem}")
        key = repr(sorted(cfg["model"].items()))
        if key not in built:
            model = experiment.model(trials=None, **cfg["model"])
            built[key] = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        assert built[key] == weights, stem
        assert cfg["reported"]["weights"] == weights, stem


@pytest.mark.parametrize(
    "stem", ["reber_4x1_lr01", "long_lag_2a", "long_lag_2c_q1000_p1000", "two_sequence_3a_t100_n3", "temporal_order_6b"]
)
def test_describe_gives_the_printed_weight_count(stem):
    assert describe_data(f"hochreiter1997/{stem}")["parameters"] == PRINTED[stem]


EXP2A = dict(inputs=11, outputs=11, blocks=1, output_gate=False, recurrent=False, cell_bias=False, gate_bias=False,
             output_bias=False, cell_input_activation="g1", cell_output_activation="identity",
             outputs_every_step=True, output_sees_inputs=True, init_range=0.2)  # fmt: skip


def test_exp2a_net_has_connectivity_b():
    model = build_network(None, **EXP2A)
    shapes = sorted(tuple(w.shape) for w in model.trainable_weights)
    # cell + input gate see the 11 inputs only (no recurrent kernel, no biases); outputs see inputs + cell
    assert shapes == [(11, 2), (12, 11)]
    x = np.zeros((1, 5, 11), "float32")
    x[0, np.arange(5), np.arange(5)] = 1.0
    out = np.asarray(model.predict_on_batch([x, np.ones((1, 5), bool)]))
    assert out.shape == (1, 5, 11)
    # The output at step t depends on the input at step t directly (connectivity B), not only through the cell.
    kernel = [w for w in model.trainable_weights if tuple(w.shape) == (12, 11)][0]
    kernel.assign(np.zeros((12, 11), "float32"))
    kernel.assign(np.concatenate([np.eye(11, dtype="float32") * 5.0, np.zeros((1, 11), "float32")]))
    out = np.asarray(model.predict_on_batch([x, np.ones((1, 5), bool)]))
    assert (out[0, np.arange(5), np.arange(5)] > 0.99).all()


def test_every_step_outputs_keep_the_end_of_sequence_net_unchanged():
    """The end-of-sequence output equals the every-step output at each sequence's last real step."""
    cfg = dict(inputs=7, outputs=7, blocks=3, block_size=2, cell_bias=False, output_bias=False,
               output_gate_bias=[-1.0, -2.0, -3.0], init_range=0.2, seed=3)  # fmt: skip
    end = build_network(None, **cfg)
    every = build_network(None, **cfg, outputs_every_step=True)
    every.set_weights(end.get_weights())
    x = np.random.default_rng(0).uniform(size=(4, 9, 7)).astype("float32")
    lengths = np.array([9, 5, 7, 2])
    mask = np.arange(9)[None, :] < lengths[:, None]
    a = np.asarray(end.predict_on_batch([x, mask]))
    b = np.asarray(every.predict_on_batch([x, mask]))
    np.testing.assert_allclose(a, b[np.arange(4), lengths - 1], rtol=1e-5, atol=1e-6)


def test_output_sees_inputs_needs_every_step_outputs():
    with pytest.raises(ValueError, match="output_sees_inputs"):
        build_network(None, inputs=3, outputs=3, blocks=1, output_sees_inputs=True)


def test_input_gate_bias_range_narrows_only_the_random_input_gate_biases():
    """Erratum 3 (Exp 1): Table 10's igb "r" = [−0.1, 0.1] against the text's [−0.2, 0.2] for every weight."""
    cfg = dict(inputs=7, outputs=7, blocks=3, block_size=2, cell_bias=False, output_bias=False,
               output_gate_bias=[-1.0, -2.0, -3.0], init_range=0.2, seed=3)  # fmt: skip
    plain = build_network(40, **cfg)
    narrow = build_network(40, **cfg, input_gate_bias_range=0.1)
    weights = {w.path.split("/")[-1]: np.asarray(w) for w in narrow.trainable_weights}
    igb = weights["input_gate_bias"]
    assert np.abs(igb).max() <= 0.1 and np.abs(igb).max() > 0.08
    assert np.abs(weights["kernel"]).max() > 0.15  # every other weight keeps [−0.2, 0.2]
    wide = [np.asarray(w) for w in plain.trainable_weights if w.path.endswith("input_gate_bias")][0]
    assert np.abs(wide).max() > 0.15
    for a, b in zip(plain.trainable_weights, narrow.trainable_weights):  # the other weights are unchanged
        if not a.path.endswith("input_gate_bias"):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert narrow.get_layer("lstm1997").get_config()["input_gate_bias_range"] == 0.1
