"""Training and evaluation protocols of Bengio et al. (2003): the paper's SGD for the network, and the n-grams.

**NPLM** (:class:`NPLMProtocol`, a :class:`~lstm_hist.training.minibatch.MinibatchProtocol`): §3–4 maximise the
penalised log-likelihood by stochastic gradient ascent, one update per word, with

    ε_t = ε₀ / (1 + r·t),  ε₀ = 10⁻³, r = 10⁻⁸, t = parameter updates so far (§4)
    θ ← θ − ε_t · λ · θ for the weights and C but not the biases, λ = 10⁻⁴ (Brown; §4 "weight decay")
    early stopping on the validation perplexity (§4; the rule is not stated)

Minibatches (not in the paper; it used one example per update, asynchronously on 40 CPUs, §3): with B examples
per update, the loss is the batch *mean* NLL and the Keras step is ε₀·B, so one update moves the weights as far as
the B per-example updates it replaces would to first order (the sum of their gradients times ε₀). The decay counter
counts examples like the paper's t: ε = ε₀·B / (1 + r·B·u) after u updates. Keras's decoupled weight decay
subtracts lr·λ·θ per update, i.e. ε₀·B·λ·θ = B per-example decays (§4's rule, exactly, per update). Biases
(``d``, ``b``) are excluded by name.

These two optimizer details live here rather than in the shared minibatch module: :meth:`NPLMProtocol.run`
swaps the shared module's optimizer factory for :func:`paper_sgd` for the duration of the run.

**Mixture** (§2, Table 1 rows MLP2/4/6/8/10): P = (1 − λ_mix)·P_net + λ_mix·P_trigram with λ_mix = 0.5 and the
deleted-interpolation trigram of :mod:`.ngram` (fitted on the same split, EM on validation). Every NPLM run also
reports the 0.5 mixture as ``mix_valid_perplexity`` / ``mix_test_perplexity``; a config with
``mixture_weight: 0.5`` makes the mixture its headline ``valid_perplexity`` / ``test_perplexity`` (the network
alone is then ``net_*``).

**n-grams** (:class:`NgramProtocol`): fit on the training part, (for deleted interpolation) EM on validation,
perplexity of every scored token of each part (see :mod:`.data`). The class-based rows (:func:`class_based`) first
cluster the vocabulary on the training part with the exchange algorithm (seeded by the run's seed; the record gets
the clustering objective, passes and seconds as ``cluster_*``), then fit the class n-gram of :mod:`.classes`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from pathlib import Path
from typing import Any, Callable, ClassVar

import numpy as np

from lstm_hist.contract import RunResult, TrainingProtocol
from lstm_hist.errors import UserError
from lstm_hist.evaluation import metrics as M
from lstm_hist.training import minibatch

from .classes import ClassNgram, exchange_clustering
from .data import prepare_brown
from .ngram import DeletedInterpolation, KneserNey

STREAM_KEYS = ("train_tokens", "valid_tokens", "test_tokens", "min_count", "vocab_counts", "separators", "data_dir")


def _stream_for(task_cfg: dict):
    return prepare_brown(**{k: v for k, v in task_cfg.items() if k in STREAM_KEYS})


def paper_sgd(protocol: "NPLMProtocol"):
    """SGD with ε₀·B/(1 + r·B·u) and decoupled weight decay on everything but biases (see module docstring)."""
    import keras

    batch = protocol.batch_size
    schedule = keras.optimizers.schedules.InverseTimeDecay(
        initial_learning_rate=protocol.learning_rate * batch, decay_steps=1, decay_rate=protocol.lr_decay * batch)
    kwargs: dict[str, Any] = {}
    if protocol.clipnorm is not None:
        kwargs["clipnorm"] = protocol.clipnorm
    optimizer = keras.optimizers.SGD(learning_rate=schedule, momentum=protocol.momentum,
                                     weight_decay=protocol.weight_decay or None, **kwargs)
    if protocol.weight_decay:
        optimizer.exclude_from_weight_decay(var_names=["bias"])
    return optimizer


@contextlib.contextmanager
def _optimizer_factory(factory: Callable[[Any], Any]):
    original = minibatch._make_optimizer
    minibatch._make_optimizer = factory
    try:
        yield
    finally:
        minibatch._make_optimizer = original


def trigram_for(stream, em_iterations: int = 5) -> DeletedInterpolation:
    """The interpolated trigram of the mixture rows: deleted interpolation, EM on the validation part (§4.1)."""
    train = stream.ids[: stream.bounds[0]]
    return DeletedInterpolation(stream.vocab_size, em_iterations).fit(train, *stream.windows("valid", 3))


def target_probabilities(model, context: np.ndarray, target: np.ndarray, batch_size: int) -> np.ndarray:
    """P_net(target | context) for every row, float64 softmax of the logits, batch by batch."""
    out = np.empty(len(target))
    for start in range(0, len(target), batch_size):
        z = np.asarray(model.predict_on_batch(context[start : start + batch_size]), np.float64)
        z -= z.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(z).sum(axis=1))
        picked = np.take_along_axis(z, target[start : start + batch_size, None].astype(np.int64), axis=1)[:, 0]
        out[start : start + batch_size] = np.exp(picked - log_norm)
    return out


@dataclasses.dataclass
class NPLMProtocol(minibatch.MinibatchProtocol):
    """The minibatch protocol with the paper's learning-rate decay, weight decay and trigram mixture.

    learning_rate: ε₀ per example (§4: 10⁻³); the Keras step on the batch-mean loss is ε₀·batch_size.
    lr_decay: r per example (§4: 10⁻⁸).
    weight_decay: λ on the weights and C, not the biases (§4: 10⁻⁴ for Brown).
    mixture_weight: weight of the deleted-interpolation trigram in the headline numbers (Table 1 "mix": 0.5).
    em_iterations: EM iterations of that trigram's bin weights (§4.1: about 5).
    (the other fields: see MinibatchProtocol)
    """

    metrics_from_model_alone: ClassVar[bool] = False  # the headline numbers mix in a trigram (Table 1 "mix")

    optimizer: str = "sgd"
    loss: str = "token_nll"
    lr_decay: float = 1e-8
    weight_decay: float = 1e-4
    mixture_weight: float = 0.0
    em_iterations: int = 5

    def __post_init__(self):
        super().__post_init__()
        if self.optimizer != "sgd" or self.loss != "token_nll" or not self.from_logits:
            raise UserError("the NPLM protocol trains with optimizer 'sgd', loss 'token_nll' and from_logits true")
        if self.lr_decay < 0 or self.weight_decay < 0:
            raise UserError(f"protocol.lr_decay and weight_decay must be >= 0, got {self.lr_decay}, "
                            f"{self.weight_decay}")
        if getattr(self, "lr_candidates", None) is not None:
            raise UserError("the NPLM protocol uses the paper's learning rate (§4); protocol.lr_candidates must be null")
        if not 0.0 <= self.mixture_weight < 1.0:
            raise UserError(f"protocol.mixture_weight must be in [0, 1), got {self.mixture_weight}")

    def _check_vocab(self, task_cfg: dict, model_cfg: dict):
        stream = _stream_for(task_cfg)
        if model_cfg.get("vocab_size") != stream.vocab_size:
            raise UserError(f"model.vocab_size is {model_cfg.get('vocab_size')} but the task's vocabulary has "
                            f"{stream.vocab_size} words; set model.vocab_size: {stream.vocab_size}")
        return stream

    def run(self, *, experiment, task_cfg, model_cfg, seed, workdir=None, resume=False, progress=None):
        stream = self._check_vocab(task_cfg, model_cfg)
        with _optimizer_factory(lambda protocol: paper_sgd(self)):
            result = minibatch.train_minibatch(self, experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg,
                                               seed=seed, workdir=workdir, resume=resume, progress=progress)
        if result.status == "completed" and workdir is not None:
            result.evaluation.update(self._mixture_metrics(experiment, task_cfg, model_cfg, result, stream,
                                                           Path(workdir)))
        return result

    def _mixture_metrics(self, experiment, task_cfg, model_cfg, result, stream, workdir: Path) -> dict[str, float]:
        """Perplexity of the 0.5 mixture (and of ``mixture_weight``'s, as the headline) on valid and test."""
        with _optimizer_factory(lambda protocol: paper_sgd(self)):
            model = minibatch.build_model(experiment, model_cfg, self, 0)
        with np.load(workdir / minibatch.WEIGHTS_FILE) as arrays:
            prefix = "b" if "b0" in arrays and self.restore_best_weights else "w"
            model.set_weights([arrays[f"{prefix}{i}"] for i in range(len(model.get_weights()))])
        trigram = trigram_for(stream, self.em_iterations)
        out: dict[str, float] = {}
        order = task_cfg["order"]
        for part in ("valid", "test"):
            context, target = stream.windows(part, order)
            p_net = target_probabilities(model, context, target, self.eval_batch_size or self.batch_size)
            p_tri = trigram.prob(*stream.windows(part, 3))
            for weight, key in ((0.5, f"mix_{part}_perplexity"), (self.mixture_weight, f"{part}_perplexity")):
                if key == f"{part}_perplexity" and weight == 0.0:
                    continue
                p = (1.0 - weight) * p_net + weight * p_tri
                nll = float(-np.log(p).sum())
                if key == f"{part}_perplexity":
                    for name in (f"{part}_perplexity", f"{part}_nll"):
                        out[f"net_{name}"] = result.evaluation.get(name)
                    out[f"{part}_nll"] = M.mean_nll_per_token(nll, len(p))
                out[key] = M.perplexity(nll, len(p))
        if self.mixture_weight > 0.0:  # the mixture rows print no training perplexity
            for name in ("train_perplexity", "train_nll"):
                out[f"net_{name}"] = result.evaluation.pop(name, None)
        return out

    def bench(self, *, experiment, task_cfg, model_cfg, seed, updates=None, reported=None) -> dict[str, Any]:
        self._check_vocab(task_cfg, model_cfg)
        with _optimizer_factory(lambda protocol: paper_sgd(self)):
            out = minibatch.bench_minibatch(self, experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg,
                                            seed=seed, updates=updates)
        out["tokens_per_second"] = out["steps_per_second"] * self.batch_size
        return out


# ------------------------------------------------------------------------------------------------ n-grams


@dataclasses.dataclass(frozen=True)
class NgramSpec:
    """What an n-gram config's ``model:`` block builds: a recipe, fitted by :class:`NgramProtocol`."""

    kind: str
    order: int
    em_iterations: int = 5

    def count_params(self) -> int:
        return 0  # an n-gram's parameters are its counts: known only after fitting (the record has ``ngrams``)

    def build(self, vocab_size: int):
        if self.kind == "kneser_ney":
            return KneserNey(self.order, vocab_size)
        return DeletedInterpolation(vocab_size, self.em_iterations)


def kneser_ney(order: int, trials: int | None = None) -> NgramSpec:
    """Interpolated modified Kneser–Ney n-gram (§4.1; Table 1 "Kneser-Ney back-off", n = 3, 4, 5)."""
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    return NgramSpec("kneser_ney", order)


def deleted_interpolation(em_iterations: int = 5, trials: int | None = None) -> NgramSpec:
    """Deleted-interpolation trigram with bin-wise EM weights (§4.1; Table 1 "Del. Int.")."""
    if em_iterations < 0:
        raise ValueError(f"em_iterations must be >= 0, got {em_iterations}")
    return NgramSpec("deleted_interpolation", 3, em_iterations)


@dataclasses.dataclass(frozen=True)
class ClassNgramSpec:
    """What a class-based config's ``model:`` block builds: exchange-algorithm word classes, then a class n-gram
    (:mod:`.classes`), fitted by :class:`NgramProtocol`."""

    order: int
    classes: int
    iterations: int
    kind: str = "class_based"

    def count_params(self) -> int:
        return 0  # known only after fitting (the record has the class n-gram counts)

    def build(self, vocab_size: int, train: np.ndarray, seed: int, progress=None) -> tuple[ClassNgram, dict, dict]:
        """Cluster ``train`` into ``classes`` word classes, fit the class n-gram on it; also the clustering's
        summary (objective, passes, seconds) for the record."""
        if self.classes > vocab_size:
            raise UserError(f"model.classes is {self.classes} but the vocabulary has only {vocab_size} words")
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        clustering = exchange_clustering(train, vocab_size, self.classes, self.iterations, rng, progress=progress)
        model = ClassNgram(self.order, vocab_size, clustering.classes).fit(train)
        summary = {
            "cluster_objective": clustering.objective[-1],
            "cluster_iterations": clustering.iterations,
            "cluster_converged": clustering.converged,
            "cluster_seconds": round(sum(clustering.seconds), 3),
            "cluster_seconds_per_iteration": round(float(np.mean(clustering.seconds)), 3) if clustering.seconds
            else 0.0,
        }
        details = {"cluster_objective_history": clustering.objective, "cluster_moves": clustering.moves,
                   "cluster_pass_seconds": [round(x, 3) for x in clustering.seconds]}
        return model, summary, details


def class_based(order: int, classes: int, iterations: int = 100, trials: int | None = None) -> ClassNgramSpec:
    """Class-based n-gram (Table 1 "class-based back-off", §4.1): ``classes`` word classes from the exchange
    algorithm on the class-bigram likelihood of the training part (at most ``iterations`` passes; stops when no
    word moves), then P_KN(class | n − 1 previous classes) · P(word | class). See :mod:`.classes` and
    docs/deviations.md (Bengio B3)."""
    if order < 1:
        raise ValueError(f"order must be >= 1, got {order}")
    if classes < 1:
        raise ValueError(f"classes must be >= 1, got {classes}")
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    return ClassNgramSpec(order, classes, iterations)


@dataclasses.dataclass
class NgramResult(RunResult):
    status: str
    evaluation: dict[str, Any]
    info: dict[str, Any]
    fit_seconds: float
    seeds: dict[str, Any] = dataclasses.field(default_factory=dict)
    repeated_sequences: int = 0

    def metrics(self) -> dict[str, Any]:
        return {**self.evaluation, "fit_seconds": self.fit_seconds}

    def per_trial(self) -> list[dict[str, Any]]:
        return [{"trial": 0, "status": self.status, **self.info}]


def _unseen_word_share(part: str, unseen: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """How a part's tokens whose word never occurs in the training part fare: their share of the tokens, their mean
    NLL, and what they add to the part's mean NLL (whole-stream vocabulary, docs/deviations.md Bengio D4 and B3)."""
    if not unseen.any():
        return {f"{part}_unseen_in_train_share": 0.0}
    nll = -np.log(p[unseen])
    return {f"{part}_unseen_in_train_share": float(unseen.mean()),
            f"{part}_unseen_in_train_nll": float(nll.mean()),
            f"{part}_unseen_in_train_nll_contribution": float(nll.sum() / len(p))}


@dataclasses.dataclass
class NgramProtocol(TrainingProtocol):
    """Fit on the training part (EM on validation for deleted interpolation), score every part (no fields)."""

    # The fit is a deterministic function of the corpus and the seed: `lstm-hist evaluate` refits instead of
    # loading weights (an n-gram's "weights" are its counts of the corpus).
    evaluation_refits = True

    def run(self, *, experiment, task_cfg, model_cfg, seed, workdir=None, resume=False, progress=None):
        spec = experiment.model(**model_cfg)
        stream = experiment.task(**task_cfg)
        start = time.perf_counter()
        train = stream.ids[: stream.bounds[0]]
        evaluation: dict[str, Any] = {}
        details: dict[str, Any] = {}
        if isinstance(spec, ClassNgramSpec):
            model, summary, details = spec.build(stream.vocab_size, train, seed, progress)
            evaluation.update(summary)
        else:
            model = spec.build(stream.vocab_size)
            if isinstance(model, DeletedInterpolation):
                model.fit(train, *stream.windows("valid", 3))
            else:
                model.fit(train)
        fit_seconds = time.perf_counter() - start
        unseen = np.bincount(train, minlength=stream.vocab_size) == 0
        for part in ("train", "valid", "test"):
            context, target = stream.windows(part, spec.order)
            p = model.prob(context, target)
            nll = float(-np.log(p).sum())
            evaluation[f"{part}_nll"] = M.mean_nll_per_token(nll, len(p))
            evaluation[f"{part}_perplexity"] = M.perplexity(nll, len(p))
            evaluation[f"{part}_tokens"] = len(p)
            if part != "train":
                evaluation.update(_unseen_word_share(part, unseen[target], p))
            if progress is not None:
                progress({"part": part, "perplexity": evaluation[f"{part}_perplexity"]})
        evaluation["vocab_size"] = stream.vocab_size
        return NgramResult("completed", evaluation, {**model.describe(), **details}, round(fit_seconds, 3),
                           {"base": seed})

    def bench(self, *, experiment, task_cfg, model_cfg, seed, updates=None, reported=None) -> dict[str, Any]:
        start = time.perf_counter()
        result = self.run(experiment=experiment, task_cfg=task_cfg, model_cfg=model_cfg, seed=seed)
        seconds = time.perf_counter() - start
        return {"fit_seconds": result.fit_seconds, "estimated_wall_seconds": seconds,
                "tokens_per_second": result.evaluation["train_tokens"] / max(result.fit_seconds, 1e-9)}
