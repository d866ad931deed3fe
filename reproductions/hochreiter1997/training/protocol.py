"""The protocol of the 1997 experiments: the ``protocol:`` keys of a config, checked (Table 10/11 of the paper).

:class:`CriterionFields` are the stopping-criterion and test fields that the online protocol and the minibatch
baselines (:mod:`.to_criterion`) share; :class:`OnlineProtocol` adds the online learner's own.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np

from lstm_hist.contract import TrainingProtocol
from lstm_hist.errors import UserError

from ..growth import GrowthRule
from .criteria import CRITERIA

@dataclasses.dataclass
class CriterionFields:
    """The stopping-criterion and test fields that :class:`OnlineProtocol` and the baselines'
    ``CriterionMinibatchProtocol`` share (documented on OnlineProtocol, checked in its ``__post_init__``)."""

    trials: int = 10
    max_sequences: int = 1_000_000
    criterion: str = "st3"
    criterion_error: float = 0.01
    threshold: float = 0.04
    window: int = 2000
    test_sequences: int = 2560
    target: str = "end"
    criterion_steps: str = "all"
    max_wrong: int = 0
    check_every: int = 100
    check_sequences: int = 256
    st1_max_wrong: int = 0
    st2_error: float = 0.01
    fixed_sets: int = 0
    training_set: int = 256
    test_set: int = 256
    test_task: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class OnlineProtocol(CriterionFields, TrainingProtocol):
    """Fields are the ``protocol:`` keys of a config (Table 10/11 of the 1997 paper give their values).

    trials: independent trials, run side by side in one graph.
    learning_rate: α of eq. 17 (Table 10).
    loss_scale: factor on the summed squared error; ½ gives the paper's update (eq. 19).
    max_sequences: cap on training sequences per trial (a trial that reaches it has failed).
    criterion: stopping criterion; "st3" = ST3(criterion_error) with ABS(threshold) (Table 11); "window",
        "window_wrong", "check_set", "legal_next": see :mod:`.criteria`. With "window" a trial's
        sequence count is where its successful run of ``window`` sequences began.
    criterion_error: β of ST3(β).
    threshold: x of ABS(x): a sequence is correct when every output's absolute error is below it.
    window: how many most recent sequences ST3 looks at (2000 in the paper).
    test_sequences: fresh sequences per trial in the final test (2560 in the paper).
    checkpoint_every: sequences between checkpoints.
    optimizer: "sgd" (the paper) or "adam" (modern rows only).

    Fields for the other experiments of the 1997 paper (their defaults leave Exp 4 as it was):

    target: "end" (error at the sequence end) or "every_step" (next-symbol prediction, Exps 1, 2a, 2b; the
        task's y is (n, L, out) and the model outputs every step).
    criterion_steps: with every-step targets, which steps ABS(threshold) judges: "all" (Exp 2a) or "last"
        (Exp 2b: "at the sequence end").
    max_wrong: criterion "window_wrong" (Exp 5): solved when fewer than this many (n_seq) of the window fail
        ABS(threshold).
    check_every: criteria "check_set" and "legal_next": sequences between two checks.
    check_sequences: criterion "check_set" (Exp 3): size of each trial's check set (256).
    check_draw: criterion "check_set": "fixed" (each trial's one check set, drawn before training: deviations
        E3.1) or "fresh" (a new set of ``check_sequences`` at every check, from a stream keyed by the trial and the
        sequence count: §5.3's "256 sequences from a random test set" read as redrawn; deviations E3.7).
    st1_max_wrong: ST1 holds when at most this many check sequences are misclassified (0 in 3a, 5 in 3b).
    st2_error: ST2 (the stop) = ST1 and the mean absolute check-set error below this (0.01 / 0.04 / 0.015).
    fixed_sets: 0 = sequences generated on-line (Table 11 "t2"/"t3"); k > 0 = k fixed training/test set pairs
        (Exp 1, "t1"): trial b trains on exemplars drawn at random from pair b mod k's training set.
    training_set, test_set: sizes of those sets (256 and 256 in Exp 1); test strings never occur in training.
    test_task: task-config overrides for check and test sequences (3c: noise-free targets).
    update: "per_sequence" (one update per sequence with the summed truncated gradient, autodiff) or "per_step"
        (App. A.1's online learning: an update after every step that carries a target, by truncated RTRL,
        :mod:`.rtrl`; plain SGD and the 1997 nets only). With end-of-sequence targets both are the same.
    exemplar_order: with ``fixed_sets``, "random" (each exemplar drawn at random from the training set, Table 11
        "t1") or "epochs" (every training sequence once per epoch, in a fresh random order; docs/deviations.md).
    construction: sequential network construction (Exp 2a/2b, §4): when each trial's error stops decreasing, its
        next cell block is added (:class:`..growth.GrowthRule`: window, patience, min_decrease; the net needs
        model.initial_blocks). Empty: the net is trained as built.
    updates_per_call: how many per-sequence updates one jitted call makes (:mod:`.block_steps`; not the paper's:
        how it is computed, the same numbers as 1). Applies on JAX with ``update: per_sequence``, no construction
        and the window criteria; elsewhere 1 is used. Left out of the fingerprint: a resume may change it.
    compact_trials: once at most half the trials are active, compute (and draw data for) only those (:mod:`.compact`;
        not the paper's: how it is computed, the same numbers). Applies on JAX (per-sequence and per-step updates).
        Left out of the fingerprint like ``updates_per_call``.
    kernel: what computes a per-sequence update (:mod:`.numba_step`; not the paper's: how it is computed, the same
        numbers to float rounding): "auto" (the numba loop where it applies — end-of-sequence error, plain SGD, the
        Table 10 nets with output gates — numba is installed and the backend is JAX; else the Keras model's own
        step), "numba" (an error where it does not apply) or "keras". Left out of the fingerprint.
    """

    learning_rate: float = 0.5
    loss_scale: float = 0.5
    checkpoint_every: int = 2000
    optimizer: str = "sgd"
    update: str = "per_sequence"
    exemplar_order: str = "random"
    construction: dict = dataclasses.field(default_factory=dict)
    updates_per_call: int = 1
    compact_trials: bool = True
    check_draw: str = "fixed"
    kernel: str = "auto"
    # Added after checkpoints existed: while at their defaults they stay out of the fingerprint, so those resume.
    fingerprint_omits_defaults: ClassVar[tuple[str, ...]] = ("construction", "check_draw")
    resumable_changes: ClassVar[tuple[str, ...]] = ("updates_per_call", "compact_trials", "kernel")  # how, not what

    def __post_init__(self):
        positive = ("trials", "max_sequences", "window", "test_sequences", "checkpoint_every", "updates_per_call")
        for name in positive:
            if getattr(self, name) < 1:
                raise UserError(f"protocol.{name} must be at least 1, got {getattr(self, name)}")
        if self.criterion not in CRITERIA:
            raise UserError(f"protocol.criterion must be one of {', '.join(CRITERIA)}, got {self.criterion!r}")
        if self.optimizer not in ("sgd", "adam"):
            raise UserError(f"protocol.optimizer must be 'sgd' or 'adam', got {self.optimizer!r}")
        if not self.learning_rate > 0:
            raise UserError(f"protocol.learning_rate must be positive, got {self.learning_rate}")
        if self.target not in ("end", "every_step"):
            raise UserError(f"protocol.target must be 'end' or 'every_step', got {self.target!r}")
        if self.update not in ("per_sequence", "per_step"):
            raise UserError(f"protocol.update must be 'per_sequence' or 'per_step', got {self.update!r}")
        if self.exemplar_order not in ("random", "epochs"):
            raise UserError(f"protocol.exemplar_order must be 'random' or 'epochs', got {self.exemplar_order!r}")
        if self.check_draw not in ("fixed", "fresh"):
            raise UserError(f"protocol.check_draw must be 'fixed' or 'fresh', got {self.check_draw!r}")
        if self.kernel not in ("auto", "keras", "numba"):
            raise UserError(f"protocol.kernel must be 'auto', 'keras' or 'numba', got {self.kernel!r}")
        if self.update == "per_step" and self.optimizer != "sgd":
            raise UserError("protocol.update 'per_step' is the paper's plain gradient step: it needs optimizer: sgd")
        if self.criterion_steps not in ("all", "last"):
            raise UserError(f"protocol.criterion_steps must be 'all' or 'last', got {self.criterion_steps!r}")
        for name in ("check_every", "check_sequences", "training_set", "test_set"):
            if getattr(self, name) < 1:
                raise UserError(f"protocol.{name} must be at least 1, got {getattr(self, name)}")
        if self.fixed_sets < 0 or self.max_wrong < 0 or self.st1_max_wrong < 0:
            raise UserError("protocol.fixed_sets, max_wrong and st1_max_wrong must not be negative")
        if self.criterion == "legal_next" and (self.fixed_sets < 1 or self.target != "every_step"):
            raise UserError("protocol.criterion 'legal_next' needs target: every_step and fixed_sets ≥ 1")
        if self.criterion == "window_wrong" and self.max_wrong < 1:
            raise UserError("protocol.criterion 'window_wrong' needs max_wrong ≥ 1 (the paper's n_seq)")
        if self.construction:
            GrowthRule.from_config(self.construction)

    @property
    def every_step(self) -> bool:
        return self.target == "every_step"

    def run(self, **kwargs):
        """Train and test (:func:`.online.train_online`); returns an :class:`~.result.OnlineResult`."""
        from .online import train_online

        return train_online(protocol=self, **kwargs)

    def bench(self, **kwargs) -> dict[str, Any]:
        from .bench import bench_online

        return bench_online(protocol=self, **kwargs)

    def test_from_weights(self, *, experiment, task_cfg: dict, model_cfg: dict, seed: int,
                          weights: list[np.ndarray]) -> dict[str, Any]:
        """The final test of a finished run again, from its kept weights (``lstm-hist evaluate``): per-trial arrays
        ``test_wrong``, ``test_mse``, ``test_mean_abs_error`` and the count ``test_sequences``."""
        from .checks import evaluate_trials

        model = experiment.model(trials=self.trials, **model_cfg)
        model.set_weights(weights)
        from ..symbols import task_for

        return evaluate_trials(model, task_for(experiment.task, model), task_cfg, seed, self.trials, self)
