"""lstm_hist.contract: the protocol contract's defaults, its record fields, and every paper protocol honouring it."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest

from lstm_hist import contract, run_state
from lstm_hist.config import parameters
from lstm_hist.contract import BenchUnavailable, RunResult, TrainingProtocol
from lstm_hist.errors import UserError


@dataclasses.dataclass
class Minimal(TrainingProtocol):
    trials: int = 2

    def run(self, *, experiment, task_cfg, model_cfg, seed, workdir=None, resume=False, progress=None):
        return Done("completed")


@dataclasses.dataclass
class Done(RunResult):
    status: str

    def metrics(self):
        return {"success_rate": 1.0}

    def per_trial(self):
        return [{"trial": 0, "solved": True}]


def test_capability_defaults_are_explicit():
    proto = Minimal()
    assert proto.resumable_changes == ()
    assert proto.evaluation_refits is False
    assert proto.metrics_from_model_alone is True


def test_class_attributes_are_not_config_fields():
    """The contract's ClassVars never become protocol fields (config keys) or parts of the fingerprint."""
    assert [f.name for f in dataclasses.fields(Minimal)] == ["trials"]
    params, required, var_kw = parameters(Minimal)
    assert params == {"trials": int} and not required and not var_kw
    fp = run_state.fingerprint({}, {}, Minimal(), 0, "jax")
    assert fp == run_state.fingerprint({}, {}, {"trials": 2}, 0, "jax")


def test_resumable_changes_leave_the_fingerprint():
    @dataclasses.dataclass
    class Extendable(Minimal):
        epochs: int = 3
        resumable_changes: ClassVar[tuple[str, ...]] = ("epochs",)

    assert run_state.fingerprint({}, {}, Extendable(epochs=3), 0, "jax") == \
        run_state.fingerprint({}, {}, Extendable(epochs=9), 0, "jax")
    assert run_state.fingerprint({}, {}, Extendable(trials=3), 0, "jax") != \
        run_state.fingerprint({}, {}, Extendable(trials=2), 0, "jax")


def test_default_bench_is_a_user_error_naming_the_protocol():
    with pytest.raises(BenchUnavailable, match="Minimal has no bench"):
        Minimal().bench(experiment=None, task_cfg={}, model_cfg={}, seed=0)
    assert issubclass(BenchUnavailable, UserError)


def test_abstract_methods_are_required():
    class NoRun(TrainingProtocol):
        pass

    class NoMetrics(RunResult):
        def per_trial(self):
            return []

    with pytest.raises(TypeError):
        NoRun()
    with pytest.raises(TypeError):
        NoMetrics()


def test_result_defaults():
    result = Done("interrupted")
    assert dict(result.seeds) == {} and result.repeated_sequences == 0 and result.final_weights is None


def test_record_fields_add_the_base_seed_and_keep_the_protocols_own():
    fields = contract.record_fields(Done("completed"), 7)
    assert fields == {"status": "completed", "metrics": {"success_rate": 1.0}, "seeds": {"base": 7},
                      "trials": [{"trial": 0, "solved": True}], "repeated_sequences": 0}

    @dataclasses.dataclass
    class Seeded(Done):
        seeds: dict = dataclasses.field(default_factory=lambda: {"base": 3, "train": "spawn_key=(0,)"})
        repeated_sequences: int = 5

    fields = contract.record_fields(Seeded("diverged"), 7)
    assert fields["seeds"] == {"base": 3, "train": "spawn_key=(0,)"} and fields["repeated_sequences"] == 5


def test_record_fields_reject_a_result_off_the_contract():
    @dataclasses.dataclass
    class Plain:
        status: str = "completed"

        def metrics(self):
            return {}

        def per_trial(self):
            return []

    with pytest.raises(TypeError, match="not a lstm_hist.contract.RunResult"):
        contract.record_fields(Plain(), 0)
    with pytest.raises(ValueError, match="'done'"):
        contract.record_fields(Done("done"), 0)


def test_failed_record_fields():
    assert contract.failed_record_fields(4, "RuntimeError: boom") == {
        "status": "failed", "error": "RuntimeError: boom", "metrics": {}, "seeds": {"base": 4}, "trials": [],
        "repeated_sequences": 0}


def test_every_paper_protocol_implements_the_contract():
    """Every Experiment of every paper package names a TrainingProtocol class (imports the papers: Keras)."""
    from lstm_hist import registry

    found = registry.paper_hooks("EXPERIMENTS")
    assert {"hochreiter1997", "bengio2003", "chung2014"} <= set(found)
    for paper, experiments in found.items():
        for name, experiment in experiments.items():
            assert issubclass(experiment.protocol, TrainingProtocol), f"{paper}/{name}: {experiment.protocol}"


def test_protocol_fingerprints_unchanged_by_the_contract():
    """Adding the contract's base class changes no protocol's fields, so checkpoints stay resumable (pinned before
    the contract existed)."""
    from lstm_hist.registry import load

    pinned = {"hochreiter1997/adding_t100": "625468d8c4f89997",
              "hochreiter1997/adding_t100_keras_lstm": "e233e67b2482a9ab",
              "bengio2003/apnews_del_int": "1b5ae8bf981e2fd9",
              "bengio2003/mlp1": "771388c080fc646f"}
    for exp_id, expected in pinned.items():
        _, _, experiment, cfg = load(exp_id)
        protocol = experiment.protocol(**cfg["protocol"])
        assert isinstance(protocol, TrainingProtocol)
        assert run_state.fingerprint(cfg["task"], cfg["model"], protocol, 0, "jax") == expected, exp_id


def test_result_fields_may_be_redeclared_as_required_fields():
    """A result dataclass redeclares seeds/repeated_sequences without defaults, before other required fields."""

    @dataclasses.dataclass
    class Ordered(RunResult):
        status: str
        repeated_sequences: int
        seeds: dict
        trials: int

        def metrics(self):
            return {}

        def per_trial(self):
            return []

    result = Ordered("completed", 2, {"seed": 1}, 3)
    assert (result.repeated_sequences, result.seeds, result.trials, result.final_weights) == (2, {"seed": 1}, 3, None)
    assert contract.record_fields(result, 1)["seeds"] == {"seed": 1, "base": 1}
