"""Chung et al. (2014) §4 learning-rate selection: one full training run per log-uniform candidate, the candidate
with the lowest validation score kept.

§4: the learning rate is chosen on validation among 10 samples of a log-uniform distribution over (−12, −6).
:class:`LearningRateSearch` (the base of :class:`~reproductions.chung2014.protocol.ChungProtocol`) holds the
``lr_*`` fields and runs the search through the shared trainer's hooks (``run``, ``bench``,
``evaluation_protocol``); each candidate is one run of the shared minibatch trainer
(``lstm_hist.training.minibatch.train_minibatch``) in its own checkpoint folder ``workdir/lr<k>``.

Why here and not in the shared layer: only Chung et al. select a hyper-parameter by retraining, and the candidates
(log-uniform exponents of a base, their seed) are §4's rule.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from lstm_hist.errors import UserError
from lstm_hist.seeds import lr_candidates_rng
from lstm_hist.training.minibatch import MinibatchProtocol, MinibatchResult, train_minibatch
from lstm_hist.training.minibatch import checkpoint as minibatch_checkpoint

LR_SAMPLINGS = ("iid", "stratified")


def sample_learning_rates(protocol, seed: int) -> list[float]:
    """The ``protocol.lr_candidates`` learning rates ``base ** u``, u log-uniform in ``lr_log_range``.

    A pure function of (seed, protocol): a resumed search retrains the same candidates.
    """
    n = int(protocol.lr_candidates or 1)
    low, high = protocol.lr_log_range
    rng = lr_candidates_rng(seed)
    if protocol.lr_sampling == "stratified":
        edges = np.linspace(low, high, n + 1)
        exponents = rng.uniform(edges[:-1], edges[1:])
    else:
        exponents = rng.uniform(low, high, size=n)
    return [float(protocol.lr_log_base ** e) for e in exponents]


@dataclasses.dataclass
class LRSearchResult(MinibatchResult):
    """The chosen candidate's result, plus every candidate's learning rate and validation score."""

    learning_rate: float | None = None
    candidates: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def metrics(self) -> dict[str, Any]:
        out = super().metrics()
        out["learning_rate"] = self.learning_rate
        out["lr_candidates_run"] = len(self.candidates)
        return out

    def per_trial(self) -> list[dict[str, Any]]:
        """One row per learning-rate candidate (``chosen`` marks the one whose metrics are reported)."""
        return [dict(row) for row in self.candidates]



@dataclasses.dataclass
class LearningRateSearch(MinibatchProtocol):
    """The shared minibatch protocol with the §4 learning-rate search; its fields are ``protocol:`` keys.

    lr_candidates: None = train once with ``learning_rate``. An int n = the search: n candidates
        ``lr_log_base ** u`` with u log-uniform in ``lr_log_range`` (Chung: 10 samples of U(−12, −6)); one full
        training run per candidate, each with its own checkpoint folder (``workdir/lr<k>``); the candidate with
        the lowest validation NLL (``valid_nll``, or ``valid_mse``) is the result. ``learning_rate`` is then unused.
    lr_log_range: (low, high) exponents of the candidates.
    lr_log_base: the base of those exponents; the paper does not state it (e: natural logs, 6.1e-6 … 2.5e-3).
    lr_sampling: "iid" (independent log-uniform samples, the paper) or "stratified" (one log-uniform sample in
        each of n equal sub-ranges: the same marginal, but a small n still spans the range).
    """

    lr_candidates: int | None = None
    lr_log_range: tuple[float, float] = (-12.0, -6.0)
    lr_log_base: float = math.e
    lr_sampling: str = "iid"

    def __post_init__(self):
        super().__post_init__()
        if self.lr_candidates is not None and self.lr_candidates < 1:
            raise UserError(f"protocol.lr_candidates must be at least 1 or null, got {self.lr_candidates}")
        bounds = tuple(float(v) for v in self.lr_log_range)
        if len(bounds) != 2 or not bounds[0] <= bounds[1]:
            raise UserError(f"protocol.lr_log_range must be [low, high] with low <= high, got {self.lr_log_range}")
        self.lr_log_range = bounds
        if not self.lr_log_base > 1:
            raise UserError(f"protocol.lr_log_base must be > 1, got {self.lr_log_base}")
        if self.lr_sampling not in LR_SAMPLINGS:
            raise UserError(f"protocol.lr_sampling must be one of {', '.join(LR_SAMPLINGS)}, "
                            f"got {self.lr_sampling!r}")

    def run(self, **kwargs):
        """The search when ``lr_candidates`` is set, else one run of the shared trainer."""
        if self.lr_candidates is not None:
            return search_learning_rate(self, **kwargs)
        return super().run(**kwargs)

    def bench(self, **kwargs) -> dict[str, Any]:
        """The shared trainer's timing; a search trains once per candidate, so its run takes that many times."""
        out = super().bench(**kwargs)
        runs = self.lr_candidates or 1
        wall = out.pop("estimated_wall_seconds") * runs
        parameters = out.pop("parameters")
        return {**out, "lr_candidates": runs, "estimated_wall_seconds": wall, "parameters": parameters}

    def evaluation_protocol(self, metrics: dict[str, Any]) -> "LearningRateSearch":
        """The chosen candidate's single run: its learning rate from the record (``lstm-hist evaluate`` rebuilds
        the model with it; evaluation only predicts)."""
        return dataclasses.replace(self, lr_candidates=None,
                                   learning_rate=metrics.get("learning_rate") or self.learning_rate)


def search_learning_rate(protocol, *, experiment, task_cfg, model_cfg, seed=0, workdir=None, resume=False,
                         progress=None) -> LRSearchResult:
    """Train once per candidate learning rate, keep the one with the lowest validation score (Chung et al. §4).

    Every candidate gets the same seed (same initial weights, data order and weight noise), so the candidates
    differ only in the learning rate. Selection looks at the validation split only; the chosen candidate's
    train/valid/test metrics are reported. A diverged candidate scores +inf; an interrupted one ends the search
    (``status="interrupted"``; ``--resume`` continues with the finished candidates kept).
    """
    rates = sample_learning_rates(protocol, seed)
    workdir = Path(workdir) if workdir is not None else None
    rows: list[dict[str, Any]] = []
    results: list[MinibatchResult] = []
    score_key = "valid_mse" if protocol.loss == "mse" else "valid_nll"
    for k, rate in enumerate(rates):
        single = dataclasses.replace(protocol, learning_rate=rate, lr_candidates=None)
        sub = workdir / f"lr{k}" if workdir is not None else None
        sub_resume = bool(resume and minibatch_checkpoint.exists(sub))
        if not sub_resume:
            minibatch_checkpoint.discard(sub)

        def tagged(info, k=k, rate=rate):
            if progress is not None:
                progress({**info, "candidate": f"{k + 1}/{len(rates)}", "learning_rate": rate})

        result = train_minibatch(single, experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg, seed=seed,
                                 workdir=sub, resume=sub_resume, progress=tagged)
        score = result.evaluation.get(score_key, math.inf) if result.status == "completed" else math.inf
        rows.append({"trial": k, "learning_rate": rate, "status": result.status, score_key: score,
                     "epochs": result.epochs_run, "best_epoch": result.best_epoch, "history": result.history,
                     "chosen": False})
        results.append(result)
        if result.status == "interrupted":
            break
    return _chosen(rows, results, rates, score_key)


def _chosen(rows: list[dict], results: list[MinibatchResult], rates: list[float], score_key: str) -> LRSearchResult:
    """The search's result: the finite candidate with the lowest validation score (or why there is none)."""
    finite = [k for k, row in enumerate(rows) if np.isfinite(row[score_key])]
    interrupted = rows[-1]["status"] == "interrupted"
    if interrupted or not finite:
        chosen = len(rows) - 1
        status = "interrupted" if interrupted else "diverged"
    else:
        chosen = min(finite, key=lambda k: rows[k][score_key])
        status = "completed"
        rows[chosen]["chosen"] = True
    best = results[chosen]
    return LRSearchResult(
        status=status, parameters=best.parameters, epochs_run=best.epochs_run, best_epoch=best.best_epoch,
        history=best.history, evaluation=best.evaluation if status == "completed" else {}, seeds=best.seeds,
        repeated_sequences=sum(r.repeated_sequences for r in results),
        train_seconds=sum(r.train_seconds for r in results), stopped_early=best.stopped_early,
        learning_rate=rates[chosen], candidates=rows,
        final_weights=best.final_weights if status == "completed" else None,
    )
