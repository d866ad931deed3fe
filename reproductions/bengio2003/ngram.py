"""The n-gram baselines of Bengio et al. (2003) §4.1, Table 1: interpolated modified Kneser–Ney and the
deleted-interpolation trigram. Vectorised NumPy; the full Brown split fits in seconds.

Both models score a token from the n − 1 words before it (oldest first) and give a proper distribution over the
whole vocabulary (every id in ``range(vocab_size)``) for every context; the tests check that each conditional
distribution sums to 1 and that small hand-worked cases give the hand-computed numbers.

Indexing. Every distinct training k-gram gets a dense index: a 1-gram's index is its word id, and the key of a
k-gram (w_1 … w_k) is ``index(w_1 … w_{k−1}) · V + w_k``; the keys of each order are kept sorted, so a lookup is a
``searchsorted`` (−1 for an unseen k-gram). Keys stay below (number of (k−1)-grams) · V < 2⁶³.

Interpolated modified Kneser–Ney (Chen & Goodman 1998, §3.5; SRILM ``-kndiscount -interpolate``, which the paper
used, §4.1: "All the back-off models of the table are modified Kneser-Ney n-grams")::

    p_k(w | h) = max(c_k(h w) − D_k(c_k(h w)), 0) / Σ_v c_k(h v)  +  γ_k(h) · p_{k−1}(w | h')
    γ_k(h)     = (D_k1 N_1(h •) + D_k2 N_2(h •) + D_k3+ N_3+(h •)) / Σ_v c_k(h v)
    p_0(w)     = 1 / |V|                          (so unseen words keep mass: the distribution covers V)

c_k is the raw count at the highest order and the continuation count N_1+(• h w) (distinct left extensions)
below it; h' drops the oldest word of h; a context never seen in training passes its whole mass down
(p_k = p_{k−1}). Discounts per order from the count-of-counts n_1 … n_4 of the counts used at that order:
Y = n_1 / (n_1 + 2 n_2), D_1 = 1 − 2Y n_2/n_1, D_2 = 2 − 3Y n_3/n_2, D_3+ = 3 − 4Y n_4/n_3.

Deleted interpolation (Jelinek & Mercer 1980; Bengio et al. §4.1)::

    p(w_t | w_{t−1}, w_{t−2}) = α_0(q_t) p_0 + α_1(q_t) p_1(w_t) + α_2(q_t) p_2(w_t | w_{t−1})
                                + α_3(q_t) p_3(w_t | w_{t−1}, w_{t−2})
    q_t = l(freq(w_{t−1}, w_{t−2})),   l(x) = ⌈−log((1 + x) / T)⌉

with p_0 = 1/|V| and p_1..p_3 the relative frequencies in the training part (T tokens; a component whose context never
occurred in training is left out and the remaining α's are renormalised, so each distribution sums to 1 — the
paper does not say; see docs/deviations.md (Bengio section)), and the α's of each bin fitted by EM on the validation part
("about 5 iterations"). The log is natural (not stated; see docs/deviations.md (Bengio section)).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["NgramCounts", "KneserNey", "DeletedInterpolation", "windows", "kn_discounts", "perplexity_of"]


def windows(stream: np.ndarray, order: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    """Contexts (N, order − 1), oldest first, and targets (N,) for the tokens at positions [start, stop) of
    ``stream``; contexts reach back before ``start`` (the corpus is one stream, §4). Needs start ≥ order − 1."""
    stream = np.asarray(stream, np.int64)
    if start < order - 1 or stop > len(stream) or start >= stop:
        raise ValueError(f"cannot take {order}-gram windows for positions [{start}, {stop}) of {len(stream)}")
    positions = np.arange(start, stop)
    offsets = np.arange(-(order - 1), 0)
    context = stream[positions[:, None] + offsets[None, :]] if order > 1 else np.zeros((len(positions), 0), np.int64)
    return context, stream[positions]


def perplexity_of(probabilities: np.ndarray) -> float:
    """exp(−mean log p): the paper's perplexity (geometric mean of 1/p over every scored token, §4)."""
    p = np.asarray(probabilities, np.float64)
    return float(math.exp(-np.mean(np.log(p))))


class NgramCounts:
    """Sorted keys and counts of every k-gram (k = 1 … order) of a training id stream."""

    def __init__(self, train: np.ndarray, vocab_size: int, order: int):
        train = np.asarray(train, np.int64)
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        if len(train) < order:
            raise ValueError(f"need at least {order} training tokens, got {len(train)}")
        if train.min() < 0 or train.max() >= vocab_size:
            raise ValueError(f"training ids must lie in [0, {vocab_size}), got [{train.min()}, {train.max()}]")
        self.vocab_size, self.order = int(vocab_size), int(order)
        self.keys: list[np.ndarray | None] = [None, None]  # keys[k]: sorted keys of k-grams (k >= 2); 1-grams are ids
        self.counts: list[np.ndarray] = [np.array([len(train)], np.int64)]  # counts[0]: the empty gram
        self.counts.append(np.bincount(train, minlength=vocab_size).astype(np.int64))
        # index of the k-gram ending at each training position (−1 where it would start before the stream)
        ending = train.copy()
        self._ending = [None, ending]
        for k in range(2, order + 1):
            prev = np.full(len(train), -1, np.int64)
            prev[1:] = ending[:-1]
            valid = prev >= 0
            key = prev * vocab_size + train
            uniq, inverse, counts = np.unique(key[valid], return_inverse=True, return_counts=True)
            ending = np.full(len(train), -1, np.int64)
            ending[valid] = inverse
            self.keys.append(uniq)
            self.counts.append(counts.astype(np.int64))
            self._ending.append(ending)

    def num_grams(self, k: int) -> int:
        return self.vocab_size if k == 1 else (1 if k == 0 else len(self.keys[k]))

    def lookup(self, words: np.ndarray) -> np.ndarray:
        """Dense index of each row's k-gram (k = number of columns), −1 where it never occurred in training.
        A 0-column array gives index 0 (the empty gram)."""
        words = np.asarray(words, np.int64)
        if words.shape[1] == 0:
            return np.zeros(len(words), np.int64)
        index = words[:, 0].copy()
        for j in range(1, words.shape[1]):
            keys = self.keys[j + 1]
            key = index * self.vocab_size + words[:, j]
            pos = np.minimum(np.searchsorted(keys, key), len(keys) - 1)
            found = (index >= 0) & (keys[pos] == key)
            index = np.where(found, pos, -1)
        return index

    def context_of(self, k: int) -> np.ndarray:
        """For every distinct k-gram: the index of its (k−1)-word context (its first k − 1 words)."""
        if k == 1:
            return np.zeros(self.vocab_size, np.int64)
        return self.keys[k] // self.vocab_size

    def suffix_of(self, k: int) -> np.ndarray:
        """For every distinct k-gram (k >= 2): the index of its last k − 1 words."""
        ending, shorter = self._ending[k], self._ending[k - 1]
        out = np.empty(self.num_grams(k), np.int64)
        where = ending >= 0
        out[ending[where]] = shorter[where]  # any occurrence gives the same suffix
        return out


def kn_discounts(counts: np.ndarray) -> tuple[float, float, float]:
    """Chen & Goodman's modified-KN discounts (D_1, D_2, D_3+) from the count-of-counts n_1 … n_4 of ``counts``.

    Y = n_1/(n_1 + 2n_2), D_1 = 1 − 2Y n_2/n_1 (= Y), D_2 = 2 − 3Y n_3/n_2, D_3+ = 3 − 4Y n_4/n_3, each clipped to
    [0, i]. Where a count-of-count the formula divides by is 0 (toy corpora, and the class-unigram level of the
    class-based rows, where no class has a continuation count of 1–3) the estimate is undefined: D_1 = 0.5, and
    D_2, D_3+ take the discount of the class below.
    """
    counts = np.asarray(counts)
    n1, n2, n3, n4 = (int(np.count_nonzero(counts == i)) for i in (1, 2, 3, 4))
    y = n1 / (n1 + 2 * n2) if n1 else 0.0
    d1 = float(np.clip(y, 0, 1)) if n1 else 0.5
    d2 = float(np.clip(2 - 3 * y * n3 / n2, 0, 2)) if n2 else d1
    d3 = float(np.clip(3 - 4 * y * n4 / n3, 0, 3)) if n3 else d2
    return d1, d2, d3


class KneserNey:
    """Interpolated modified Kneser–Ney n-gram (see the module docstring for the equations).

    Args:
        order: n (Table 1: 3, 4, 5).
        vocab_size: |V|; every id in [0, |V|) gets probability, seen in training or not.
    """

    def __init__(self, order: int, vocab_size: int):
        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        self.order, self.vocab_size = int(order), int(vocab_size)
        self.grams: NgramCounts | None = None

    def fit(self, train: np.ndarray) -> "KneserNey":
        g = self.grams = NgramCounts(train, self.vocab_size, self.order)
        n = self.order
        self.level_counts: list[np.ndarray | None] = [None] * (n + 1)  # c_k per distinct k-gram
        for k in range(1, n + 1):
            if k == n:
                self.level_counts[k] = g.counts[k].astype(np.float64)
            else:  # continuation counts: distinct (k+1)-grams whose last k words are this k-gram
                self.level_counts[k] = np.bincount(g.suffix_of(k + 1), minlength=g.num_grams(k)).astype(np.float64)
        self.discounts: list[tuple[float, float, float] | None] = [None] * (n + 1)
        self.context_total: list[np.ndarray | None] = [None] * (n + 1)
        self.context_gamma_mass: list[np.ndarray | None] = [None] * (n + 1)
        for k in range(1, n + 1):
            c = self.level_counts[k]
            positive = c > 0
            d = kn_discounts(c[positive])
            self.discounts[k] = d
            ctx = g.context_of(k)
            size = g.num_grams(k - 1)
            total = np.bincount(ctx, weights=c, minlength=size)
            d_of = np.where(c >= 3, d[2], np.where(c == 2, d[1], d[0])) * positive
            mass = np.bincount(ctx, weights=d_of, minlength=size)
            self.context_total[k], self.context_gamma_mass[k] = total, mass
        return self

    def _level_count(self, k: int, index: np.ndarray) -> np.ndarray:
        c = self.level_counts[k]
        return np.where(index >= 0, c[np.maximum(index, 0)], 0.0)

    def prob(self, context: np.ndarray, target: np.ndarray) -> np.ndarray:
        """P(target | context) for rows of ``context`` (N, ≥ order − 1; the last order − 1 columns are used,
        oldest first) and ``target`` (N,)."""
        if self.grams is None:
            raise RuntimeError("fit the model first")
        context = np.asarray(context, np.int64)
        target = np.asarray(target, np.int64)
        n = self.order
        if context.ndim != 2 or context.shape[1] < n - 1:
            raise ValueError(f"context must be (N, >= {n - 1}), got {context.shape}")
        context = context[:, context.shape[1] - (n - 1):] if n > 1 else context[:, :0]
        p = np.full(len(target), 1.0 / self.vocab_size)
        for k in range(1, n + 1):
            ctx_words = context[:, n - k:]
            gram = self.grams.lookup(np.concatenate([ctx_words, target[:, None]], axis=1))
            ctx = self.grams.lookup(ctx_words)
            total = np.where(ctx >= 0, self.context_total[k][np.maximum(ctx, 0)], 0.0)
            mass = np.where(ctx >= 0, self.context_gamma_mass[k][np.maximum(ctx, 0)], 0.0)
            c = self._level_count(k, gram)
            d1, d2, d3 = self.discounts[k]
            d = np.where(c >= 3, d3, np.where(c == 2, d2, np.where(c == 1, d1, 0.0)))
            seen = total > 0
            safe = np.where(seen, total, 1.0)
            p = np.where(seen, np.maximum(c - d, 0.0) / safe + mass / safe * p, p)
        return p

    def describe(self) -> dict[str, Any]:
        g = self.grams
        return {"order": self.order, "ngrams": [int(g.num_grams(k)) for k in range(1, self.order + 1)],
                "discounts": [list(d) for d in self.discounts[1:]]}


class DeletedInterpolation:
    """Deleted-interpolation trigram with context-frequency-binned weights fitted by EM (Bengio et al. §4.1).

    Args:
        vocab_size: |V|.
        em_iterations: EM iterations on the validation part (§4.1: "about 5").
    """

    order = 3

    def __init__(self, vocab_size: int, em_iterations: int = 5):
        if em_iterations < 0:
            raise ValueError(f"em_iterations must be >= 0, got {em_iterations}")
        self.vocab_size, self.em_iterations = int(vocab_size), int(em_iterations)
        self.grams: NgramCounts | None = None
        self.weights: dict[int, np.ndarray] = {}

    def fit(self, train: np.ndarray, heldout_context: np.ndarray | None = None,
            heldout_target: np.ndarray | None = None) -> "DeletedInterpolation":
        """Relative frequencies from ``train``; α per bin by EM on the held-out (validation) windows."""
        g = self.grams = NgramCounts(train, self.vocab_size, 3)
        self.train_tokens = int(len(train))
        # Σ_w c(h w): the denominator of the relative frequency p_k(w | h) (so Σ_w p_k(w | h) = 1 exactly,
        # also for the context at the very end of the stream, which has no successor)
        self._context_totals = {k: np.bincount(g.context_of(k), weights=g.counts[k], minlength=g.num_grams(k - 1))
                                for k in (2, 3)}
        if heldout_context is not None:
            self.fit_weights(heldout_context, heldout_target)
        return self

    def bins(self, context: np.ndarray) -> np.ndarray:
        """q_t = ⌈−log((1 + freq(w_{t−2} w_{t−1})) / T)⌉ for each (N, 2) context (natural log)."""
        context = np.asarray(context, np.int64)[:, -2:]
        index = self.grams.lookup(context)
        freq = np.where(index >= 0, self.grams.counts[2][np.maximum(index, 0)], 0)
        return np.ceil(-np.log((1.0 + freq) / self.train_tokens)).astype(np.int64)

    def components(self, context: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 4) p_0, p_1(w), p_2(w | w_{t−1}), p_3(w | w_{t−2} w_{t−1}) (relative frequencies), and (N, 4) bool:
        whether each component's context was seen in training (p_0 and p_1 always are)."""
        g = self.grams
        context = np.asarray(context, np.int64)[:, -2:]
        target = np.asarray(target, np.int64)
        out = np.empty((len(target), 4))
        defined = np.ones((len(target), 4), bool)
        out[:, 0] = 1.0 / self.vocab_size
        out[:, 1] = g.counts[1][target] / g.counts[0][0]
        for k, ctx_words in ((2, context[:, 1:]), (3, context)):
            ctx = g.lookup(ctx_words)
            gram = g.lookup(np.concatenate([ctx_words, target[:, None]], axis=1))
            num = np.where(gram >= 0, g.counts[k][np.maximum(gram, 0)], 0).astype(np.float64)
            den = np.where(ctx >= 0, self._context_totals[k][np.maximum(ctx, 0)], 0.0)
            defined[:, k] = den > 0
            out[:, k] = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
        return out, defined

    def fit_weights(self, context: np.ndarray, target: np.ndarray) -> None:
        """EM per bin. A component whose context was never seen is left out of that token's mixture (its weight
        is shared out among the others), so every conditional distribution sums to 1; on Brown only the
        trigram component of the freq = 0 bin is affected, and EM gives it weight 0 there anyway."""
        comp, defined = self.components(context, target)
        bins = self.bins(context)
        self.weights = {}
        for q in np.unique(bins):
            rows, mask = comp[bins == q], defined[bins == q]
            alpha = np.full(4, 0.25)
            for _ in range(self.em_iterations):
                weighted = rows * alpha * mask
                resp = weighted / weighted.sum(axis=1, keepdims=True)
                alpha = resp.mean(axis=0)
            self.weights[int(q)] = alpha

    def alphas(self, context: np.ndarray) -> np.ndarray:
        """(N, 4) mixture weights of each row's bin; a bin not met in validation gets uniform weights."""
        bins = self.bins(context)
        out = np.full((len(bins), 4), 0.25)
        for q, alpha in self.weights.items():
            out[bins == q] = alpha
        return out

    def prob(self, context: np.ndarray, target: np.ndarray) -> np.ndarray:
        if self.grams is None:
            raise RuntimeError("fit the model first")
        comp, defined = self.components(context, target)
        weights = self.alphas(context) * defined
        return (comp * weights).sum(axis=1) / weights.sum(axis=1)

    def describe(self) -> dict[str, Any]:
        return {"order": 3, "bins": {str(q): [round(float(a), 6) for a in w] for q, w in sorted(self.weights.items())}}
