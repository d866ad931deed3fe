"""tools/adding_error_profile.py --cells reads what an adding-problem net stores (docs/deviations.md, "Table 7,
T = 1000: what the stuck trials look like")."""

from __future__ import annotations


import numpy as np
import pytest

keras = pytest.importorskip("keras")
jax_only = pytest.mark.skipif(keras.backend.backend() != "jax", reason="the profile's gradient uses JAX")




def _adder(model, reads: float) -> None:
    """Block 0's input gate opens only on marker 1.0 and cell 0 writes g(0.5·value) there, so s_0(end) follows
    X1 + X2; block 1 and every unmarked step stay closed; the output reads cell 0 with weight ``reads``."""
    cell, out = model.get_layer("lstm1997").cell, model.get_layer("output")
    for v in model.trainable_variables:
        v.assign(np.zeros(v.shape, "float32"))
    kernel = np.zeros(cell.kernel.shape, "float32")
    kernel[:, 1, cell.cells] = 20.0  # marker → input gate 0
    kernel[:, 0, 0] = 0.5  # value → cell 0
    cell.kernel.assign(kernel)
    cell.input_gate_bias_weight.assign(np.full(cell.input_gate_bias_weight.shape, -10.0, "float32"))
    cell.output_gate_bias_weight.assign(np.full(cell.output_gate_bias_weight.shape, 10.0, "float32"))
    w = np.zeros(out.kernel.shape, "float32")
    w[:, 0, 0] = reads
    out.kernel.assign(w)


@jax_only
def test_cell_profile_tells_a_net_that_stores_the_sum_from_one_that_answers_a_constant(load_tool):
    tool = load_tool("adding_error_profile")
    experiment, cfg, model, seen = tool.load_nets(None, "hochreiter1997/adding_t100", initial=0)
    assert seen == 0
    batch = experiment.task(np.random.default_rng(3), 24, min_length=20)
    _adder(model, reads=4.0)
    stores = tool.profile_cells(model, batch, cfg)
    for row in stores:
        assert row["agreement"] < 1e-5  # the step-by-step trace gives the model's own outputs
        assert row["cells"]["corr_s_end_sum"][0] > 0.99
        assert row["cells"]["abs_ds_marked"][0] > 100 * row["cells"]["abs_ds_unmarked"][0]
        assert row["in_gate"]["at_marks"][0] > 0.99 and row["in_gate"]["closed"][0] > 0.8
        assert row["output"]["corr_target"] > 0.95 and row["output"]["std"] > 0.1
        marked = row["signal"]["grad_value_to_cell_marked_rms"][0]
        assert marked > 10 * row["signal"]["grad_value_to_cell_unmarked_rms"][0]
    _adder(model, reads=0.0)
    constant = tool.profile_cells(model, batch, cfg)
    for row in constant:
        assert row["output"]["std"] < 1e-6 and abs(row["output"]["mean"] - 0.5) < 1e-6
        assert row["signal"]["abs_dE_ds_end"][0] == 0.0  # nothing reaches the cells through a zero output weight
        assert row["cells"]["corr_s_end_sum"][0] > 0.99  # the cell still stores the sum: only the reading is gone
