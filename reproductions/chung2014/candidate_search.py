"""Chung et al. (2014) §4 learning-rate selection with the candidates trained in one graph (``candidates.py``).

Same candidates (``sample_learning_rates``: the protocol's ``lr_candidates`` rates of the seed), same selection and
the same result as ``lstm_hist.training.minibatch.search_learning_rate``: every candidate's best-epoch weights are
scored on the validation split (``valid_nll``, exact NumPy sums; ``valid_mse`` for ``loss: mse``), a diverged
candidate scores +inf, the lowest score is chosen and its train/valid/test metrics reported; ``trials`` has one row
per candidate (learning rate, status, score, epochs, best epoch, history, chosen).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lstm_hist.seeds import minibatch_seeds as derive_seeds
from lstm_hist.training.minibatch import evaluate_split

from .candidates import Member, MemberResult, OneGraphTrainer
from .lr_search import LRSearchResult, sample_learning_rates


def _set_weights(model, weights: list) -> None:
    for variable, value in zip(model.trainable_variables, weights):
        variable.assign(value)


def search_in_one_graph(protocol, *, experiment, task_cfg: dict, model_cfg: dict, seed: int = 0, workdir=None,
                        resume: bool = False, progress=None, fingerprint: str | None = None) -> LRSearchResult:
    """Train the seed's ``lr_candidates`` candidates as one graph and select on validation (Chung et al. §4)."""
    rates = sample_learning_rates(protocol, seed)
    members = [Member(seed=int(seed), learning_rate=rate) for rate in rates]
    trainer = OneGraphTrainer(protocol, experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg,
                              members=members, workdir=workdir, resume=resume, fingerprint=fingerprint)
    status = trainer.run(progress)
    results = trainer.results(status)
    return select(protocol, trainer.model, trainer.data, results, status, trainer.state["train_seconds"])


def select(protocol, model, data: dict, results: list[MemberResult], status: str,
           train_seconds: float) -> LRSearchResult:
    """The search's result from the members' runs (all of one seed).

    An interrupted search reports the member leading on validation so far (not marked chosen); the sequential
    search reports its last candidate there, the one it was training when stopped.
    """
    score_key = "valid_mse" if protocol.loss == "mse" else "valid_nll"
    rows: list[dict[str, Any]] = []
    for k, r in enumerate(results):
        score = math.inf
        if r.status == "completed":
            _set_weights(model, r.weights)
            score = evaluate_split(model, data["valid"], protocol, "valid")[score_key]
        rows.append({"trial": k, "learning_rate": r.member.learning_rate, "status": r.status, score_key: score,
                     "epochs": r.epochs_run, "best_epoch": r.best_epoch, "history": r.history, "chosen": False})
    finite = [k for k, row in enumerate(rows) if np.isfinite(row[score_key])]
    evaluation: dict[str, float] = {}
    final_weights = None
    if status == "interrupted":
        # Every member stopped together: headline the one the search would keep now, as the progress line's
        # leader (lowest best validation loss so far); none is marked chosen.
        chosen = int(np.argmin([r.best_val_loss for r in results]))
    elif not finite:
        chosen = len(rows) - 1
        status = "diverged"
    else:
        chosen = min(finite, key=lambda k: rows[k][score_key])
        rows[chosen]["chosen"] = True
        _set_weights(model, results[chosen].weights)
        for name in ("train", "valid", "test"):
            if name in data:
                evaluation.update(evaluate_split(model, data[name], protocol, name))
        final_weights = model.get_weights()
    best = results[chosen]
    return LRSearchResult(
        status=status, parameters=int(sum(int(np.prod(v.shape)) for v in model.trainable_variables)),
        epochs_run=best.epochs_run, best_epoch=best.best_epoch, history=best.history, evaluation=evaluation,
        seeds=derive_seeds(best.member.seed), repeated_sequences=sum(r.repeated_sequences for r in results),
        train_seconds=train_seconds, stopped_early=best.stopped_early, learning_rate=best.member.learning_rate,
        candidates=rows, final_weights=final_weights)
