"""Class-based n-grams of Bengio et al. (2003) §4.1, Table 1 ("class-based back-off", c = 150 … 2000 classes).

The paper used SRILM: word classes from ``ngram-class`` and a class n-gram over them, "order and number of classes
chosen on the validation set" (§4.1). Ours, in NumPy/SciPy (docs/deviations.md, Bengio B3):

**Word classes** maximise the class-bigram log-likelihood of the training part (Brown et al. 1992), found with the
**exchange algorithm** (Kneser & Ney 1993; Martin, Liermann & Ney 1998), not with the agglomerative merging that
SRILM's ``ngram-class`` implements (Brown et al.'s algorithm). With the maximum-likelihood estimates
P(g' | g) = N(g, g')/N_l(g) and P(w | g) = N_r(w)/N_r(g) over the T − 1 training bigrams, the log-likelihood is
exactly::

    LL(classes) = Σ_{g,g'} F(N(g, g')) − Σ_g F(N_l(g)) − Σ_g F(N_r(g)) + Σ_w F(N_r(w)),   F(x) = x log x

N(g, g') = class-bigram counts, N_l(g) = Σ_g' N(g, g') (g as predecessor), N_r(g) = Σ_g N(g, g') (as successor),
N_r(w) = word w's count as successor (class-independent). Exchange: visit every word (by decreasing frequency), take
it out of its class, put it into the class that gives the largest LL (its own if none is strictly better), update
the counts; repeat until no word moves or ``iterations`` passes are done. Each move cannot lower LL, so LL never
decreases. A word alone in its class is not moved (every one of the c classes stays non-empty).

Initial assignment: words sorted by training frequency (ties in random order from the seeded RNG), the word of
rank r goes to class r mod c — the c most frequent words start in classes of their own, the rest round-robin.

**Class n-gram**::

    P(w | w_{t−n+1} … w_{t−1}) = P_KN(c(w) | c(w_{t−n+1}) … c(w_{t−1})) · P(w | c(w)),
    P(w | g) = count(w) / count(g)     (training part; ``<unk>`` is a word like any other)

with P_KN the interpolated modified Kneser–Ney of :mod:`.ngram` fitted on the class-id stream of the training
part (SRILM's class models use its own back-off discounting; docs/deviations.md B3). Σ_w P(w | h) = 1 for every
history because each class is non-empty and its emission probabilities sum to 1.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
from scipy import sparse
from scipy.special import xlogy

from lstm_hist.errors import DataError

from .ngram import KneserNey

__all__ = ["ClusteringResult", "ClassNgram", "class_bigram_loglik", "exchange_clustering", "initial_classes",
           "word_bigrams"]


def _f(x):
    return xlogy(x, x)


def word_bigrams(train: np.ndarray, vocab_size: int) -> sparse.csr_matrix:
    """(|V|, |V|) CSR counts N(w, w') of the T − 1 bigrams of ``train``."""
    train = np.asarray(train, np.int64)
    ones = np.ones(len(train) - 1, np.float64)
    return sparse.csr_matrix((ones, (train[:-1], train[1:])), shape=(vocab_size, vocab_size))


def class_bigram_loglik(train: np.ndarray, classes: np.ndarray, num_classes: int | None = None) -> float:
    """LL(classes) of the module docstring: the class-bigram log-likelihood (natural log) of the T − 1 bigrams of
    ``train`` under the maximum-likelihood class-bigram model of the class map ``classes`` (word id → class)."""
    train = np.asarray(train, np.int64)
    classes = np.asarray(classes, np.int64)
    num_classes = int(num_classes or classes.max() + 1)
    g = classes[train]
    pair = np.bincount(g[:-1] * num_classes + g[1:], minlength=num_classes * num_classes)
    left = np.bincount(g[:-1], minlength=num_classes)
    right = np.bincount(g[1:], minlength=num_classes)
    words = np.bincount(train[1:])
    return float(_f(pair).sum() - _f(left).sum() - _f(right).sum() + _f(words).sum())


def initial_classes(counts: np.ndarray, num_classes: int, rng: np.random.Generator) -> np.ndarray:
    """Word of frequency rank r → class r mod c (ties in frequency in an order drawn from ``rng``)."""
    counts = np.asarray(counts)
    order = np.lexsort((rng.permutation(len(counts)), -counts))  # by count descending, random among equals
    classes = np.empty(len(counts), np.int64)
    classes[order] = np.arange(len(counts)) % num_classes
    return classes


@dataclasses.dataclass
class ClusteringResult:
    classes: np.ndarray                  # (|V|,) class of each word id
    objective: list[float]               # LL after the initial assignment and after every pass
    moves: list[int]                     # words moved in each pass
    seconds: list[float]                 # wall seconds of each pass
    converged: bool                      # the last pass moved no word

    @property
    def iterations(self) -> int:
        return len(self.moves)


class _ExchangeCounts:
    """The counts the exchange algorithm keeps up to date while it moves words: the class-bigram counts N(g, g')
    (and their transpose), N_l(g), N_r(g), the class sizes, and the word counts that do not change."""

    def __init__(self, train: np.ndarray, vocab_size: int, classes: np.ndarray, c: int):
        bigram = word_bigrams(train, vocab_size).astype(np.int64)
        self.by_row, self.by_col = bigram.tocsr(), bigram.T.tocsr()  # successors of w, predecessors of w
        self.self_count = bigram.diagonal()
        self.left_w = np.asarray(self.by_row.sum(axis=1)).ravel()   # N_l(w): w as predecessor
        self.right_w = np.asarray(self.by_col.sum(axis=1)).ravel()  # N_r(w): w as successor
        # every count is an integer ≤ T, so F(x) = x log x is a table lookup (a gather is several times cheaper
        # than a log, and the gains below take (c × classes-next-to-w) of them per word)
        self.table = _f(np.arange(len(train) + 1, dtype=np.float64))
        self.classes, self.c = classes, c
        self.pair = np.zeros((c, c), np.int64)
        coo = bigram.tocoo()
        np.add.at(self.pair, (classes[coo.row], classes[coo.col]), coo.data)
        self.pair_t = np.ascontiguousarray(self.pair.T)  # N(g, k) read by column k as a contiguous row
        self.left = np.bincount(classes, weights=self.left_w, minlength=c).astype(np.int64)
        self.right = np.bincount(classes, weights=self.right_w, minlength=c).astype(np.int64)
        self.size = np.bincount(classes, minlength=c)
        self.constant = float(self.table[self.right_w].sum())

    def objective(self) -> float:
        table = self.table
        return float(table[self.pair].sum() - table[self.left].sum() - table[self.right].sum() + self.constant)

    def add(self, k: int, r: np.ndarray, l_: np.ndarray, s: int, w: int, sign: int) -> None:
        self.pair[k, :] += sign * r
        self.pair[:, k] += sign * l_
        self.pair[k, k] += sign * s
        self.pair_t[:, k] += sign * r
        self.pair_t[k, :] += sign * l_
        self.pair_t[k, k] += sign * s
        self.left[k] += sign * self.left_w[w]
        self.right[k] += sign * self.right_w[w]

    def neighbours(self, w: int, a: int) -> tuple[np.ndarray, np.ndarray, int]:
        """Class counts of w's successors / predecessors other than w itself, and w's self-bigram count."""
        by_row, by_col, classes, c = self.by_row, self.by_col, self.classes, self.c
        lo, hi = by_row.indptr[w], by_row.indptr[w + 1]
        r = np.bincount(classes[by_row.indices[lo:hi]], weights=by_row.data[lo:hi], minlength=c).astype(np.int64)
        lo, hi = by_col.indptr[w], by_col.indptr[w + 1]
        l_ = np.bincount(classes[by_col.indices[lo:hi]], weights=by_col.data[lo:hi], minlength=c).astype(np.int64)
        s = int(self.self_count[w])
        r[a] -= s
        l_[a] -= s
        return r, l_, s

    def gains(self, r: np.ndarray, l_: np.ndarray, s: int, w: int) -> np.ndarray:
        """The gain of LL of putting w (taken out of its class) into each class k (the terms of LL that change)."""
        table, pair, pair_t = self.table, self.pair, self.pair_t
        r_idx = np.flatnonzero(r)
        l_idx = np.flatnonzero(l_)
        rows = pair_t[r_idx]                        # (g, k) = N(k, g) for the classes g that w precedes
        cols = pair[l_idx]                          # (g, k) = N(g, k) for the classes g that precede w
        gain = (table[rows + r[r_idx, None]] - table[rows]).sum(axis=0)
        gain += (table[cols + l_[l_idx, None]] - table[cols]).sum(axis=0)
        diag = np.diagonal(pair)
        # the sums above treated N(k, k) as an off-diagonal cell twice; replace by the joint diagonal update
        f_diag = table[diag]
        gain -= table[diag + r] + table[diag + l_] - 2 * f_diag
        gain += table[diag + r + l_ + s] - f_diag
        gain -= (table[self.left + self.left_w[w]] - table[self.left]
                 + table[self.right + self.right_w[w]] - table[self.right])
        return gain

    def sweep(self, visit: np.ndarray) -> int:
        """One pass over the words ``visit``: each into its best class; the number of words moved."""
        classes, size = self.classes, self.size
        moved = 0
        for w in visit:
            a = classes[w]
            if size[a] == 1:
                continue
            r, l_, s = self.neighbours(w, a)
            self.add(a, r, l_, s, w, -1)  # take w out of class a
            gain = self.gains(r, l_, s, w)
            best = int(np.argmax(gain))
            if not gain[best] > gain[a] + 1e-9 * max(1.0, abs(gain[a])):
                best = a
            self.add(best, r, l_, s, w, +1)
            if best != a:
                classes[w] = best
                size[a] -= 1
                size[best] += 1
                moved += 1
        return moved


def exchange_clustering(train: np.ndarray, vocab_size: int, num_classes: int, iterations: int,
                        rng: np.random.Generator, progress=None) -> ClusteringResult:
    """Exchange-algorithm word clustering that maximises the class-bigram LL of ``train`` (module docstring).

    Args:
        train: training id stream.
        vocab_size: |V|; ids lie in [0, |V|).
        num_classes: c (Table 1: 150, 200, 500, 1000, 2000); 1 ≤ c ≤ |V|.
        iterations: at most this many passes over the vocabulary; stops earlier when a pass moves no word.
        rng: orders words of equal frequency in the initial assignment.
        progress: optional callable receiving ``{"pass", "moves", "objective", "seconds"}`` after each pass.
    """
    train = np.asarray(train, np.int64)
    if not 1 <= num_classes <= vocab_size:
        raise ValueError(f"num_classes must be in [1, {vocab_size}], got {num_classes}")
    if iterations < 0:
        raise ValueError(f"iterations must be >= 0, got {iterations}")
    counts = np.bincount(train, minlength=vocab_size)
    classes = initial_classes(counts, num_classes, rng)
    state = _ExchangeCounts(train, vocab_size, classes, num_classes)
    visit = np.lexsort((np.arange(vocab_size), -counts))
    visit = visit[counts[visit] > 0]  # a word never seen in training changes no count: nothing to decide
    history, moves, seconds = [state.objective()], [], []
    converged = False
    for sweep in range(iterations):
        start = time.perf_counter()
        moved = state.sweep(visit)
        moves.append(moved)
        seconds.append(time.perf_counter() - start)
        history.append(state.objective())
        if progress is not None:
            progress({"pass": sweep + 1, "moves": moved, "objective": history[-1], "seconds": seconds[-1]})
        if moved == 0:
            converged = True
            break
    return ClusteringResult(classes, history, moves, seconds, converged)


class ClassNgram:
    """Class n-gram: P_KN(class | previous n − 1 classes) · P(word | class) (see the module docstring).

    Args:
        order: n (Table 1: 3, 4, 5).
        vocab_size: |V|.
        classes: (|V|,) class of each word id, classes 0 … c − 1.
    """

    def __init__(self, order: int, vocab_size: int, classes: np.ndarray):
        classes = np.asarray(classes, np.int64)
        if classes.shape != (vocab_size,):
            raise ValueError(f"classes must have shape ({vocab_size},), got {classes.shape}")
        self.order, self.vocab_size = int(order), int(vocab_size)
        self.classes = classes
        self.num_classes = int(classes.max()) + 1
        self.class_model = KneserNey(order, self.num_classes)
        self.emission: np.ndarray | None = None
        self.unseen_words = 0

    def fit(self, train: np.ndarray) -> "ClassNgram":
        """Emissions and the class KN model from the training ids.

        Vocabulary words that never occur in the training part (the whole-stream vocabulary has some) go to one
        extra class of their own, emitted uniformly: the class KN model gives that never-seen class its share of
        the uniform floor, as a word-level KN model gives each unseen word its share (SRILM spreads the left-over
        unigram mass over such "zeroton" words likewise; docs/deviations.md, Bengio B3).
        """
        train = np.asarray(train, np.int64)
        counts = np.bincount(train, minlength=self.vocab_size).astype(np.float64)
        unseen = np.flatnonzero(counts == 0)
        if len(unseen):
            self.classes = self.classes.copy()
            self.classes[unseen] = self.num_classes
            if np.any(np.bincount(self.classes, minlength=self.num_classes + 1)[: self.num_classes] == 0):
                raise DataError("every word class needs at least one word seen in the training part")
            self.num_classes += 1
            self.class_model = KneserNey(self.order, self.num_classes)
            counts[unseen] = 1.0  # uniform within the extra class
        class_counts = np.bincount(self.classes, weights=counts, minlength=self.num_classes)
        if np.any(class_counts == 0):
            raise ValueError("every class needs at least one word seen in training")
        self.emission = counts / class_counts[self.classes]
        self.unseen_words = len(unseen)
        self.class_model.fit(self.classes[train])
        return self

    def prob(self, context: np.ndarray, target: np.ndarray) -> np.ndarray:
        """P(target | context) for rows of ``context`` (N, ≥ order − 1; oldest first) and ``target`` (N,)."""
        if self.emission is None:
            raise RuntimeError("fit the model first")
        context = np.asarray(context, np.int64)
        target = np.asarray(target, np.int64)
        return self.class_model.prob(self.classes[context], self.classes[target]) * self.emission[target]

    def describe(self) -> dict[str, Any]:
        return {"classes": self.num_classes, "words_unseen_in_training": self.unseen_words,
                **self.class_model.describe()}
