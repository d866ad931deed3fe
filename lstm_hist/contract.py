"""The protocol contract: what the shared layer asks of a paper's training protocol, and what it gets back.

An :class:`~lstm_hist.experiment.Experiment` names a protocol class; a config's ``protocol:`` block holds its
fields. Every protocol class derives from :class:`TrainingProtocol` (usually as a dataclass: its fields are the
config keys) and every result its ``run`` returns derives from :class:`RunResult`. The runner, the checkpoint
fingerprint and ``lstm-hist evaluate`` read only what is declared here, with the defaults declared here, so no
caller has to probe a protocol with ``getattr``/``hasattr`` or read its signature.

What a protocol receives (:meth:`TrainingProtocol.run`, all keyword arguments)::

    experiment  the Experiment (task generator, model builder, protocol class)
    task_cfg    the config's resolved ``task:`` block (keyword arguments of ``experiment.task``)
    model_cfg   the config's resolved ``model:`` block (keyword arguments of ``experiment.model``)
    seed        the base seed of the run (0 <= seed < 2**32); every random stream derives from it
    workdir     the run's checkpoint folder (locked by the runner), or None for a run without checkpoints
    resume      True when the runner chose to continue the checkpoint in ``workdir``
    progress    a callable taking one progress dict (e.g. ``sequences``, ``max_sequences``, ``error``), or None

It returns a :class:`RunResult`; an interruption (KeyboardInterrupt, SIGTERM) is caught by the protocol, which
checkpoints and returns ``status="interrupted"``. A :class:`~lstm_hist.errors.UserError` (missing data, a config
the protocol cannot run) propagates; anything else is a bug, recorded by the runner as a failed run.

The capabilities a caller may ask for are class attributes with explicit defaults:

* ``resumable_changes`` — protocol fields a resume may change (left out of ``run_state.fingerprint``); ``()``.
* ``fingerprint_omits_defaults`` — fields added after checkpoints existed: left out of the fingerprint while they
  hold their default, so the earlier checkpoints still resume (a changed value changes the fingerprint); ``()``.
* ``evaluation_refits`` — ``lstm-hist evaluate`` fits the protocol again instead of loading kept weights (its fit
  is a deterministic function of the data and the seed, e.g. Bengio's n-grams); ``False``.
* ``metrics_from_model_alone`` — the record's metrics are the trained model's own scores, so ``evaluate`` can
  recompute them from the kept weights (False when other predictions are mixed in, e.g. the NPLM's trigram
  mixture); ``True``.
* :meth:`TrainingProtocol.bench` — times a few updates; the default says the protocol cannot be benchmarked.
* :meth:`TrainingProtocol.test_from_weights` — the final test again from a record's kept weights (``lstm-hist
  evaluate``, e.g. the 1997 online protocol's per-trial test); the default says the protocol does not offer it.
"""

from __future__ import annotations

import abc
import types
from typing import Any, Callable, ClassVar, Mapping

from lstm_hist.errors import UserError

# What a RunResult's ``status`` may be; the runner adds "failed" for a protocol that raised (and "interrupted",
# with an ``error`` and no metrics, for a stop that escaped the protocol: a rerun resumes or restarts it).
RESULT_STATUSES = ("completed", "interrupted", "diverged")

ProgressCallback = Callable[[dict[str, Any]], None]
TrialRow = dict[str, Any]


class BenchUnavailable(UserError):
    """``lstm-hist bench`` on a protocol that does not implement :meth:`TrainingProtocol.bench`."""


class EvaluationUnavailable(UserError):
    """``lstm-hist evaluate`` on a protocol that does not implement :meth:`TrainingProtocol.test_from_weights`."""


class _InstanceDefault:
    """A default read on instances only. A plain class attribute would not do: ``dataclasses`` takes an inherited
    class attribute as the default of a subclass field of the same name (then a required field after it is an
    error), whereas this one is invisible on the class (``AttributeError``) and shadowed by an instance's own value.
    """

    def __init__(self, value: Any):
        self.value = value

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            raise AttributeError(self.name)
        return self.value


class RunResult(abc.ABC):
    """What :meth:`TrainingProtocol.run` returns (results are usually dataclasses deriving from this).

    status:             one of :data:`RESULT_STATUSES`.
    seeds:              how the run's random streams derive from the base seed (e.g. ``{"seed": 0,
                        "train_streams": "SeedSequence(seed, spawn_key=(0,)).spawn(trials)"}``); the runner adds
                        ``base``. Default: nothing to say beyond the base seed.
    repeated_sequences: sequences (or examples) trained on again after a resume, because the checkpoint was older
                        than the interruption; 0 by default.
    final_weights:      the trained weights of a completed run (``model.get_weights()``), kept beside the record by
                        :mod:`lstm_hist.weights` for ``lstm-hist evaluate``; None (the default) = nothing to keep.
    """

    status: str
    seeds: Mapping[str, Any] = _InstanceDefault(types.MappingProxyType({}))
    repeated_sequences: int = _InstanceDefault(0)
    final_weights: list | None = _InstanceDefault(None)

    @abc.abstractmethod
    def metrics(self) -> dict[str, Any]:
        """The record's ``metrics``: summary numbers under the keys the configs' ``reported`` blocks use (summaries
        over trials count the solved trials only, when trials carry ``solved``)."""

    @abc.abstractmethod
    def per_trial(self) -> list[TrialRow]:
        """The record's ``trials``: one JSON-able dict per trial (or candidate), with ``trial`` (its index) and
        whatever the protocol measures per trial (``solved``, ``sequences``, ``test_wrong``, ``history``, ...).
        The report's per-trial spread reads a summary key, or the key minus ``_mean``/``_median``, from these."""


def record_fields(result: RunResult, seed: int) -> dict[str, Any]:
    """The record keys a finished protocol run supplies: status, metrics, seeds (with ``base``), trials and
    repeated_sequences. A result that breaks the contract is a bug of its protocol (TypeError/ValueError)."""
    if not isinstance(result, RunResult):
        raise TypeError(f"a protocol's run returned {type(result).__name__}, not a lstm_hist.contract.RunResult")
    if result.status not in RESULT_STATUSES:
        raise ValueError(f"{type(result).__name__}.status is {result.status!r}, not one of "
                         f"{', '.join(RESULT_STATUSES)}")
    seeds = dict(result.seeds or {})
    seeds.setdefault("base", seed)
    return {"status": result.status, "metrics": result.metrics(), "seeds": seeds, "trials": result.per_trial(),
            "repeated_sequences": int(result.repeated_sequences or 0)}


def failed_record_fields(seed: int, error: str) -> dict[str, Any]:
    """The same keys for a run whose protocol raised (no result to ask)."""
    return {"status": "failed", "error": error, "metrics": {}, "seeds": {"base": seed}, "trials": [],
            "repeated_sequences": 0}


class TrainingProtocol(abc.ABC):
    """Base of every protocol class: trains an experiment's model from its config and returns a RunResult.

    Subclasses are dataclasses whose fields are the config's ``protocol:`` keys (validated against the field
    annotations; the class attributes below are ``ClassVar``s, never config keys), checked in ``__post_init__``
    with :class:`~lstm_hist.errors.UserError`.
    """

    # Fields a resume may change: left out of the checkpoint fingerprint (e.g. ``epochs``: asking for more).
    resumable_changes: ClassVar[tuple[str, ...]] = ()
    # Fields added after checkpoints existed: out of the fingerprint while at their default.
    fingerprint_omits_defaults: ClassVar[tuple[str, ...]] = ()
    # `lstm-hist evaluate` refits (a deterministic fit of the data and seed) instead of loading kept weights.
    evaluation_refits: ClassVar[bool] = False
    # The record's metrics are the model's own scores, recomputable from the kept weights alone.
    metrics_from_model_alone: ClassVar[bool] = True

    @abc.abstractmethod
    def run(self, *, experiment: Any, task_cfg: dict[str, Any], model_cfg: dict[str, Any], seed: int,
            workdir: Any = None, resume: bool = False, progress: ProgressCallback | None = None) -> RunResult:
        """Train and test once (see the module docstring for the arguments); checkpoint into ``workdir``."""

    def bench(self, *, experiment: Any, task_cfg: dict[str, Any], model_cfg: dict[str, Any], seed: int,
              updates: int | None = None, reported: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Time ``updates`` training updates (None: the protocol's own default count) and estimate the run.

        ``reported`` is the row's ``reported`` block, so the estimate can be scaled to the paper's sequence counts.
        Returns quantities by name (keys ending in ``seconds`` or ``_s`` are durations in seconds), printed by
        ``lstm-hist bench`` and kept by ``--save`` as an estimate the report shows for rows without a record.
        The default raises :class:`BenchUnavailable`.
        """
        raise BenchUnavailable(f"protocol {type(self).__name__} has no bench()")

    def test_from_weights(self, *, experiment: Any, task_cfg: dict[str, Any], model_cfg: dict[str, Any], seed: int,
                          weights: list) -> dict[str, Any]:
        """The final test of a finished run again, from its kept weights (``RunResult.final_weights``): the
        per-trial test metrics by key (arrays with one value per trial), for ``lstm-hist evaluate`` to compare
        with the record. The default raises :class:`EvaluationUnavailable`."""
        raise EvaluationUnavailable(f"protocol {type(self).__name__} cannot recompute its test from kept weights; "
                                    "rerun the row to check it")
