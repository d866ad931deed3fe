"""The minibatch trainer's losses: the Keras loss it trains on and the exact NumPy totals it evaluates with.

Built in: ``frame_nll_bernoulli`` (piano rolls), ``token_nll`` (softmax over words), ``mse``. A paper adds a loss
by name with :func:`register_loss` at import (e.g. Chung et al.'s mixture-of-Gaussians NLL for raw speech), or a
protocol subclass overrides ``make_loss`` / ``loss_totals`` (see ``MinibatchProtocol``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from lstm_hist.evaluation import metrics as M

LOSSES = ("frame_nll_bernoulli", "token_nll", "mse")


@dataclasses.dataclass(frozen=True)
class LossSpec:
    """A loss a paper module adds by name (``protocol.loss``), with its exact evaluation.

    make: ``make(protocol) -> keras.losses.Loss`` (reduction over the weighted steps, like the built-in ones).
    totals: ``totals(y, prediction, weight_or_None) -> (summed per-step NLL, counted steps)``, NumPy float64.
    """

    make: Callable[[Any], Any]
    totals: Callable[..., tuple[float, int]]


REGISTERED_LOSSES: dict[str, LossSpec] = {}


def register_loss(name: str, make: Callable[[Any], Any], totals: Callable[..., tuple[float, int]]) -> None:
    """Make ``protocol.loss: <name>`` available; its split metrics are ``<split>_nll`` and ``<split>_steps``.

    Paper modules call this at import (the registry imports them before building the protocol), so the shared
    layer never imports a paper (e.g. Chung et al.'s mixture-of-Gaussians NLL for raw speech).
    """
    if name in LOSSES:
        raise ValueError(f"loss name {name!r} is built in")
    REGISTERED_LOSSES[name] = LossSpec(make, totals)


def known_losses() -> tuple[str, ...]:
    return (*LOSSES, *REGISTERED_LOSSES)


def build_loss(protocol):
    """The Keras loss of ``protocol.loss`` (the default of ``MinibatchProtocol.make_loss``)."""
    import keras

    if protocol.loss in REGISTERED_LOSSES:
        return REGISTERED_LOSSES[protocol.loss].make(protocol)
    if protocol.loss == "frame_nll_bernoulli":
        return M.frame_nll_loss(from_logits=protocol.from_logits)
    if protocol.loss == "token_nll":
        return M.token_nll_loss(from_logits=protocol.from_logits)
    return keras.losses.MeanSquaredError(reduction="mean_with_sample_weight")


def batch_totals(protocol, y, pred: np.ndarray, weight) -> tuple[float, int]:
    """(summed loss, counted steps) of one batch, in float64 (the default of ``MinibatchProtocol.loss_totals``)."""
    if protocol.loss in REGISTERED_LOSSES:
        return REGISTERED_LOSSES[protocol.loss].totals(y, pred, weight)
    if protocol.loss == "frame_nll_bernoulli":
        return M.frame_nll_totals(y, pred, weight, from_logits=protocol.from_logits)
    if protocol.loss == "token_nll":
        logits = pred if protocol.from_logits else np.log(np.clip(pred, 1e-12, None))
        return M.softmax_nll_totals_fast(y, logits, weight)
    sq = ((np.asarray(y, np.float64) - pred) ** 2).mean(axis=-1)
    w = np.ones_like(sq) if weight is None else np.broadcast_to(np.asarray(weight, np.float64), sq.shape)
    return float((sq * w).sum()), int(np.count_nonzero(w))


def split_metrics(loss: str, prefix: str, total: float, count: int) -> dict[str, float]:
    """The record's metrics of one split from its totals: ``<split>_mse``, or ``<split>_nll`` with
    ``<split>_steps`` (``<split>_perplexity`` and ``<split>_tokens`` for ``token_nll``)."""
    if loss == "mse":
        return {f"{prefix}_mse": M.mean_nll_per_token(total, count)}
    out = {f"{prefix}_nll": M.mean_nll_per_token(total, count), f"{prefix}_steps": count}
    if loss == "token_nll":
        out = {f"{prefix}_nll": out[f"{prefix}_nll"], f"{prefix}_perplexity": M.perplexity(total, count),
               f"{prefix}_tokens": count}
    return out
