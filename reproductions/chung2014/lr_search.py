"""Chung et al. (2014) §4 learning-rate selection: one full training run per log-uniform candidate, the candidate
with the lowest validation score kept.

§4: "the learning rate [...] chosen among 10 samples from a log-uniform distribution over [...] (−12, −6)", on
validation. :class:`~reproductions.chung2014.protocol.ChungProtocol`'s ``lr_*`` fields configure it; each
candidate is one run of the shared minibatch trainer (``lstm_hist.training.minibatch.train_minibatch``) in its own
checkpoint folder ``workdir/lr<k>``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np

from lstm_hist.training.minibatch import MinibatchResult, train_minibatch
from lstm_hist.training.minibatch import checkpoint as minibatch_checkpoint

LR_SAMPLINGS = ("iid", "stratified")
LR_STREAM = 1412_3555  # the candidates' random stream: SeedSequence([seed, LR_STREAM]) (the arXiv number)


def sample_learning_rates(protocol, seed: int) -> list[float]:
    """The ``protocol.lr_candidates`` learning rates ``base ** u``, u log-uniform in ``lr_log_range``.

    A pure function of (seed, protocol): a resumed search retrains the same candidates.
    """
    n = int(protocol.lr_candidates or 1)
    low, high = protocol.lr_log_range
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), LR_STREAM]))
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

    @classmethod
    def single(cls, result: MinibatchResult, learning_rate: float) -> "LRSearchResult":
        """A run without a search, as a search of one candidate: every record names its learning rate."""
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(MinibatchResult)}
        row = {**result.per_trial()[0], "learning_rate": learning_rate,
               "valid_nll": result.evaluation.get("valid_nll"), "chosen": result.status == "completed"}
        return cls(**fields, learning_rate=learning_rate, candidates=[row])


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
