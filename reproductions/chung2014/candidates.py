"""K members of a Chung et al. (2014) row — learning-rate candidates and/or seeds — trained as ONE jitted JAX graph
(issue 13 item 2, the means of issue 16's full protocol: §4's 10 candidates × 500 epochs).

Each member is ``(seed, learning_rate)`` and gets, exactly as the shared minibatch protocol would give it alone
(``lstm_hist.training.minibatch.train_minibatch``): the initial weights of ``build_model`` with its seed's init
seed; the training pieces in the order ``default_rng([shuffle seed, epoch]).permutation``; the authors' optimizer
(``RMSPropMomentum``) with its own learning rate, decayed linearly per epoch (``LinearDecayOverEpochs``), its own
state and step-norm clip; weight noise on the protocol's noisy variables; the validation loss of its clean weights
after every epoch (Keras's ``val_loss``: the batch losses averaged with the batch sizes as weights), the weights of
its best epoch kept (``MonitorBasedSaveBest``), early stopping if ``early_stopping_patience`` is set. The one
difference from the generic path: the weight noise is drawn inside the jitted step from a JAX key (member's noise
seed, epoch, step) instead of NumPy's ``default_rng([noise seed, epoch, batch])`` — another random stream of the
same distribution (docs/deviations.md, Chung section). Members of one seed share init, order and noise, as the
generic search's candidates do, so they differ only in the learning rate.

The step is :mod:`reproductions.chung2014.jit_step` (loss, gradient, optimizer and noise in one ``jax.jit`` call,
``jax.vmap`` over the members); no Keras ``fit``/``train_on_batch`` in the loop. Checkpoints (``run_state``, name
``candidates``) are written at every epoch end; a stop request (SIGTERM, Ctrl-C) keeps the last epoch-end
checkpoint and counts the steps of the unfinished epoch as repeated, so a resumed run continues exactly where an
uninterrupted one would have been (tested).
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from lstm_hist import interrupt, run_state
from lstm_hist.errors import UserError
from lstm_hist.training.divergence import exploded_trials
from lstm_hist.training.minibatch import build_model, derive_seeds
from lstm_hist.training.trim import bucket_length, trim_padding

from .jit_step import StepHyper, build_eval_loss, build_keep_best, build_train_step, noise_keys

CHECKPOINT = "candidates"


@dataclasses.dataclass(frozen=True)
class Member:
    seed: int
    learning_rate: float


@dataclasses.dataclass
class MemberResult:
    """One member's run, as ``train_minibatch`` would report it (before the final evaluation)."""

    member: Member
    status: str  # completed | interrupted | diverged
    epochs_run: int
    best_epoch: int | None
    history: dict[str, list[float]]
    stopped_early: bool
    repeated_sequences: int
    weights: list  # the weights to evaluate (best epoch's, or the last ones), trainable-variable order
    best_val_loss: float = math.inf  # the lowest validation loss so far (the progress line's leader is the lowest)


def unsupported_reason(protocol, data: dict | None = None) -> str | None:
    """Why the one-graph trainer cannot run this protocol (None: it can). The generic path is used then."""
    from lstm_hist.backend import current_backend

    if current_backend() != "jax":
        return f"the {current_backend()} backend (JAX only)"
    if protocol.optimizer != "rmsprop_momentum":
        return f"optimizer {protocol.optimizer} (rmsprop_momentum only)"
    for name, split in (data or {}).items():
        if not (isinstance(split, (tuple, list)) and len(split) in (2, 3)
                and all(isinstance(a, np.ndarray) for a in split)):
            return f"split {name!r} is not NumPy arrays"
    return None


def load_task(experiment, task_cfg: dict, data_seed: int) -> dict:
    """The task's splits (``task(**task_cfg)``, with ``seed`` if the task takes one)."""
    import inspect

    kwargs = dict(task_cfg)
    params = inspect.signature(experiment.task).parameters
    if "seed" in params and "seed" not in kwargs:
        kwargs["seed"] = data_seed
    return experiment.task(**kwargs)


def epoch_rates(protocol, members, epoch: int) -> np.ndarray:
    """(K,) float32 learning rates of 0-based ``epoch``: ``LinearDecayOverEpochs`` of each member's rate."""
    rates = np.array([m.learning_rate for m in members], np.float32)
    if protocol.lr_decay_factor is None:
        return rates
    progress = np.float32(min(epoch + 1, protocol.lr_decay_epochs)) / np.float32(protocol.lr_decay_epochs)
    return (rates * (np.float32(1.0) - np.float32(1.0 - protocol.lr_decay_factor) * progress)).astype(np.float32)


class _Batches:
    """The training batches of one epoch for every member, and the validation batches (device arrays)."""

    def __init__(self, data: dict, protocol, members, seeds: list[dict]):
        import jax

        self.train = tuple(data["train"]) if len(data["train"]) == 3 else (*data["train"], None)
        self.n = len(self.train[0])
        self.batch_size = protocol.batch_size
        self.shuffle = [s["shuffle"] for s in seeds]
        self.shared = len(set(self.shuffle)) == 1
        self.steps = -(-self.n // self.batch_size)
        self.cache: dict[int, tuple] = {}
        eval_bs = protocol.eval_batch_size or protocol.batch_size
        valid = tuple(a for a in data["valid"])
        self.valid = []
        for start in range(0, len(valid[0]), eval_bs):
            part = trim_padding(tuple(a[start : start + eval_bs] for a in valid))
            self.valid.append((len(part[0]), [jax.device_put(a) for a in (*part, None)[:3]]))
        self.orders: list[np.ndarray] = []

    def set_epoch(self, epoch: int) -> None:
        self.orders = [np.random.default_rng([s, epoch]).permutation(self.n) for s in self.shuffle]

    def _rows(self, rows: np.ndarray) -> tuple:
        part = tuple(a[rows] for a in self.train if a is not None)
        return (*trim_padding(part), None)[:3] if len(part) == 2 else trim_padding(part)

    def step(self, s: int) -> tuple[int, tuple]:
        """(batch size, (x, y, w)) of step s: shared, or stacked along a leading member axis."""
        import jax

        picks = [order[s * self.batch_size : (s + 1) * self.batch_size] for order in self.orders]
        if self.shared:
            rows = picks[0]
            key = int(rows[0]) if len(rows) == 1 else None
            if key is not None and key in self.cache:
                return 1, self.cache[key]
            batch = tuple(None if a is None else jax.device_put(a) for a in self._rows(rows))
            if key is not None:
                self.cache[key] = batch
            return len(rows), batch
        parts = [self._rows(rows) for rows in picks]
        length = bucket_length(max(p[0].shape[1] for p in parts))
        if length > self.train[0].shape[1]:
            length = self.train[0].shape[1]

        def pad(a):
            if a is None:
                return None
            width = [(0, 0), (0, length - a.shape[1])] + [(0, 0)] * (a.ndim - 2)
            return np.pad(a, width)

        stacked = tuple(None if parts[0][i] is None else jax.device_put(np.stack([pad(p[i]) for p in parts]))
                        for i in range(3))
        return len(picks[0]), stacked


class OneGraphTrainer:
    """The members' weights, optimizer slots and bookkeeping, and the epoch loop around the jitted step."""

    def __init__(self, protocol, *, experiment, task_cfg: dict, model_cfg: dict, members: list[Member],
                 workdir: str | Path | None = None, resume: bool = False, fingerprint: str | None = None):
        import jax.numpy as jnp

        self.protocol, self.members, self.k = protocol, list(members), len(members)
        seeds = [derive_seeds(m.seed) for m in members]
        distinct = sorted({m.seed for m in members})
        if len(distinct) > 1 and _takes_seed(experiment):
            raise UserError("seeds in one graph need a task whose data does not depend on the seed")
        self.workdir = Path(workdir) if workdir is not None else None
        fp = fingerprint or run_state.fingerprint(task_cfg, model_cfg, protocol, distinct[0])
        self.fp = f"{fp}-" + ",".join(f"{m.seed}:{m.learning_rate!r}" for m in members)
        saved = run_state.load(self.workdir, CHECKPOINT, fingerprint=self.fp) if resume else None
        self.data = load_task(experiment, task_cfg, seeds[0]["data"])
        reason = unsupported_reason(protocol, self.data)
        if reason is not None:
            raise UserError(f"protocol.candidates_in_one_graph: not available for {reason}")
        steps_per_epoch = -(-len(self.data["train"][0]) // protocol.batch_size)
        init = {}
        for seed in distinct:
            self.model = build_model(experiment, model_cfg, protocol, derive_seeds(seed)["init"],
                                     steps_per_epoch=steps_per_epoch)
            init[seed] = [np.asarray(v.value) for v in self.model.trainable_variables]
        n = len(init[distinct[0]])
        self.params = [jnp.asarray(np.stack([init[m.seed][i] for m in members])) for i in range(n)]
        self.ms = [jnp.zeros_like(p) for p in self.params]
        self.vel = [jnp.zeros_like(p) for p in self.params]
        self.best = list(self.params)
        self.state: dict[str, Any] = {"epoch": 0, "train_seconds": 0.0, "members": [
            {"history": {}, "best": None, "best_epoch": None, "wait": 0, "stopped_early": False, "diverged": False,
             "epochs": 0, "repeated": 0} for _ in members]}
        if saved is not None:
            self._restore(*saved)
        self._compile(seeds)

    def _restore(self, meta: dict, arrays: dict | None) -> None:
        import jax.numpy as jnp

        try:
            self.params, self.ms, self.vel, self.best = ([jnp.asarray(arrays[f"{tag}{i}"]) for i in
                                                          range(len(self.params))] for tag in "pmvb")
        except (KeyError, TypeError) as exc:
            raise UserError(f"the checkpoint in {self.workdir} does not fit this model ({exc}); "
                            f"{run_state.FRESH_HINT}") from None
        self.state.update(meta)

    def _compile(self, seeds: list[dict]) -> None:
        import jax.numpy as jnp

        protocol, model = self.protocol, self.model
        noisy_ids = {id(v) for v in protocol.noisy_variables(model)} if protocol.weight_noise > 0 else set()
        noisy = tuple(id(v) in noisy_ids for v in model.trainable_variables)
        opt = model.optimizer
        hyper = StepHyper(momentum=opt.momentum, averaging=opt.averaging_coeff, stabilizer=opt.stabilizer,
                          clip=opt.momentum_clipping, noise_std=float(protocol.weight_noise),
                          grad_clip=protocol.clipnorm, grad_clip_global=protocol.clipnorm_scope == "global")
        self.batches = _Batches(self.data, protocol, self.members, seeds)
        self.step_fn = build_train_step(model, model.loss, noisy, hyper, shared_batch=self.batches.shared,
                                        shared_noise=len({s["noise"] for s in seeds}) == 1)
        self.eval_fn = build_eval_loss(model, model.loss)
        self.keep_best = build_keep_best()
        self.keys = jnp.asarray(noise_keys([s["noise"] for s in seeds]))

    def save(self) -> None:
        if self.workdir is None:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        groups = (self.params, self.ms, self.vel, self.best)
        arrays = {f"{tag}{i}": np.asarray(a) for tag, group in zip("pmvb", groups) for i, a in enumerate(group)}
        run_state.save(self.workdir, CHECKPOINT, self.state, arrays, fingerprint=self.fp)

    def run(self, progress: Callable[[dict], None] | None = None) -> str:
        """Train to ``protocol.epochs`` (or until every member stopped); ``"completed"`` or ``"interrupted"``."""
        import copy

        snapshot, wall = None, time.perf_counter()
        try:
            while self.state["epoch"] < self.protocol.epochs:
                active = np.array([not (s["diverged"] or s["stopped_early"]) for s in self.state["members"]])
                if not active.any():
                    break
                snapshot = (copy.deepcopy(self.state), self.params, self.ms, self.vel, self.best, [0])
                self._epoch(active, snapshot[-1])
                self.state["train_seconds"] += time.perf_counter() - wall
                wall = time.perf_counter()
                self.save()
                snapshot = None
                if progress is not None:
                    progress(self._progress_info())
        except KeyboardInterrupt:
            if snapshot is not None:  # back to the last epoch end; the unfinished epoch's pieces are repeated
                self.state, self.params, self.ms, self.vel, self.best, done = snapshot
                for s in self.state["members"]:
                    if not (s["diverged"] or s["stopped_early"]):
                        s["repeated"] += int(min(done[0], self.batches.n))
            self.state["train_seconds"] += time.perf_counter() - wall
            self.save()
            return "interrupted"
        return "completed"

    def _epoch(self, active: np.ndarray, done: list[int]) -> None:
        import jax.numpy as jnp

        epoch = self.state["epoch"]
        self.batches.set_epoch(epoch)
        rates = jnp.asarray(epoch_rates(self.protocol, self.members, epoch))
        act = jnp.asarray(active)
        losses, sizes = [], []
        for s in range(self.batches.steps):
            interrupt.check()
            size, (x, y, w) = self.batches.step(s)
            self.params, self.ms, self.vel, loss = self.step_fn(self.params, self.ms, self.vel, rates, self.keys,
                                                                act, np.int32(epoch), np.int32(s), x, y, w)
            losses.append(loss)
            sizes.append(size)
            done[0] += size
        val_losses, val_sizes = [], []
        for size, (x, y, w) in self.batches.valid:
            interrupt.check()
            val_losses.append(self.eval_fn(self.params, x, y, w))
            val_sizes.append(size)
        train_loss, val_loss = _weighted_mean(losses, sizes), _weighted_mean(val_losses, val_sizes)
        blown = exploded_trials([np.asarray(p) for p in self.params], self.k)
        improved = _epoch_end(self.protocol, self.state["members"], active, epoch, train_loss, val_loss, blown)
        self.best = self.keep_best(self.best, self.params, jnp.asarray(improved))
        self.state["epoch"] = epoch + 1

    def _progress_info(self) -> dict:
        # The leader is the member the search would keep if it ended now (lowest best validation loss), not the
        # one lowest at this epoch: an early-peaking rate that overfits can still be the one kept.
        mstate = self.state["members"]
        best = [_best_val_loss(s) for s in mstate]
        lead = int(np.argmin(best))
        return {"epoch": self.state["epoch"], "epochs": self.protocol.epochs,
                "loss": mstate[lead]["history"].get("loss", [None])[-1],
                "val_loss": mstate[lead]["history"].get("val_loss", [None])[-1], "best_val_loss": best[lead],
                "best_epoch": mstate[lead]["best_epoch"], "candidates": f"{self.k} in one graph",
                "leader": lead, "learning_rate": self.members[lead].learning_rate}

    def results(self, status: str) -> list[MemberResult]:
        return _results(self.protocol, self.members, self.state, self.params, self.best, status)


def _takes_seed(experiment) -> bool:
    import inspect

    return "seed" in inspect.signature(experiment.task).parameters


def _weighted_mean(values: list, sizes: list[int]) -> np.ndarray:
    """(K,) mean of per-batch member losses weighted by the batch sizes, as Keras's loss tracker averages them."""
    if not values:
        return np.full(0, np.nan)
    stacked = np.asarray(np.stack([np.asarray(v, np.float64) for v in values]))
    weights = np.asarray(sizes, np.float64)[:, None]
    return (stacked * weights).sum(axis=0) / weights.sum()


def _epoch_end(protocol, mstate, active, epoch, train_loss, val_loss, blown) -> np.ndarray:
    """``train_minibatch``'s NaN guard and ``EpochEnd`` per active member; returns the (K,) 'improved' mask."""
    improved = np.zeros(len(mstate), dtype=bool)
    for i, s in enumerate(mstate):
        if not active[i]:
            continue
        if not np.isfinite(train_loss[i]) or blown[i]:
            s["diverged"] = True
            continue
        logs = {"loss": float(train_loss[i]), "val_loss": float(val_loss[i])}
        for key, value in logs.items():
            s["history"].setdefault(key, []).append(value)
        s["epochs"] = epoch + 1
        value = logs.get(protocol.monitor)
        if value is not None and np.isfinite(value) and (s["best"] is None or value < s["best"]):
            s["best"], s["best_epoch"], s["wait"] = value, epoch + 1, 0
            improved[i] = bool(protocol.restore_best_weights)
        else:
            s["wait"] += 1
            patience = protocol.early_stopping_patience
            if patience is not None and s["wait"] >= max(patience, 1):
                s["stopped_early"] = True
    return improved


def _results(protocol, members, state, params, best, status) -> list[MemberResult]:
    out = []
    host_params = [np.asarray(p) for p in params]
    host_best = [np.asarray(b) for b in best]
    for i, (member, s) in enumerate(zip(members, state["members"])):
        kept = protocol.restore_best_weights and s["best_epoch"] is not None
        weights = [b[i] for b in host_best] if kept else [p[i] for p in host_params]
        member_status = "diverged" if s["diverged"] else status
        best_epoch = s["best_epoch"] if kept else (s["epochs"] or None)
        out.append(MemberResult(member=member, status=member_status, epochs_run=s["epochs"], best_epoch=best_epoch,
                                history=s["history"], stopped_early=bool(s["stopped_early"]),
                                repeated_sequences=int(s["repeated"]), weights=weights,
                                best_val_loss=_best_val_loss(s)))
    return out


def _best_val_loss(member_state: dict) -> float:
    """A member's lowest validation loss so far; inf before its first validation (never the leader then)."""
    return math.inf if member_state["best"] is None else float(member_state["best"])
