"""The report's validation curves of Chung's Table 2 rows (reproductions/chung2014/curves.py)."""

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from lstm_hist import registry
from reproductions.chung2014 import curves

ROOT = Path(__file__).resolve().parents[1]
JSB_GRU = ROOT / "results" / "chung2014" / "jsb_gru-seed0-20261130T072631-009e5a.json"


def test_the_curve_is_the_history_scaled_to_the_kept_epochs_per_step_nll():
    trial = {"history": {"val_loss": [10.0, 8.0, 9.0]}, "best_epoch": 2, "valid_nll": 0.4}
    np.testing.assert_allclose(curves.per_step_curve(trial), [0.5, 0.4, 0.45])


@pytest.mark.parametrize("change", [{"valid_nll": None}, {"best_epoch": 4}, {"best_epoch": 0}, {"history": {}}])
def test_a_candidate_without_what_fixes_the_scale_has_no_curve(change):
    trial = {"history": {"val_loss": [10.0, 8.0, 9.0]}, "best_epoch": 2, "valid_nll": 0.4, **change}
    assert curves.per_step_curve(trial) is None


def test_the_scale_is_one_constant_per_record_as_the_docstring_claims():
    """Every candidate of a committed JSB record gives the same factor (validation pieces ÷ steps), else the
    history would not be the per-step NLL times a constant and the curves would misstate the candidates."""
    record = json.loads(JSB_GRU.read_text())
    factors = [t["valid_nll"] / t["history"]["val_loss"][t["best_epoch"] - 1] for t in record["trials"]]
    assert len(factors) == 10
    np.testing.assert_allclose(factors, factors[0], rtol=1e-6)  # float32 history vs float64 NLL
    pieces = record["metrics"]["valid_steps"] * factors[0]  # steps × (pieces ÷ steps)
    assert pieces == pytest.approx(round(pieces), rel=1e-6) and round(pieces) > 1


def test_only_todays_config_without_overrides_is_drawn(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    configs = [entry for entry in registry.list_experiments() if entry["paper"] == "chung2014"]
    record = json.loads(JSB_GRU.read_text())
    current = curves.config_drift.current_configs(configs)
    record["config"] = copy.deepcopy(current[record["id"]])  # as if run with today's config
    (caption, path), = curves.report_plots([record], configs, tmp_path)
    assert path.is_file() and path.stat().st_size > 10_000 and "chung2014" in caption

    overridden = {**record, "overrides": ["protocol.epochs=3"]}
    stale = copy.deepcopy(record)
    stale["config"]["protocol"]["epochs"] = 25
    unfinished = {**record, "status": "interrupted"}
    for other in (overridden, stale, unfinished):
        assert curves.report_plots([other], configs, tmp_path / "none") == []


def test_the_report_finds_the_hook():
    assert registry.paper_hook("chung2014", "report_plots") is curves.report_plots
