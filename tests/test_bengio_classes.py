"""Bengio et al. (2003) class-based n-grams: exchange-algorithm word clustering (objective against a brute-force
count, never decreasing, finds an obvious class structure) and the class n-gram (a distribution over the
vocabulary, the two limiting cases c = |V| and c = 1), and a smoke run of a Table 1 class row."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from lstm_hist.errors import DataError, UserError
from reproductions.bengio2003.classes import (ClassNgram, class_bigram_loglik, exchange_clustering,
                                              initial_classes)
from reproductions.bengio2003.ngram import KneserNey

SHARED_BROWN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "brown" / "brown.zip"
needs_brown = pytest.mark.skipif(not SHARED_BROWN.exists(), reason="shared/data/brown/brown.zip not present")


def _zipf_corpus(seed=0, vocab=40, length=600):
    rng = np.random.default_rng(seed)
    train = np.minimum(rng.zipf(1.4, length) - 1, vocab - 1)
    train[:vocab] = np.arange(vocab)  # every word occurs
    return train, vocab


def _brute_force_loglik(train, classes):
    """Σ_t log P(c_t | c_{t−1}) P(w_t | c_t) with maximum-likelihood estimates counted token by token."""
    bigrams = list(zip(train[:-1], train[1:]))
    pair = Counter((classes[a], classes[b]) for a, b in bigrams)
    left = Counter(classes[a] for a, _ in bigrams)
    right = Counter(classes[b] for _, b in bigrams)
    word = Counter(b for _, b in bigrams)
    return sum(math.log(pair[classes[a], classes[b]] / left[classes[a]]) + math.log(word[b] / right[classes[b]])
               for a, b in bigrams)


@pytest.mark.parametrize("num_classes", [1, 3, 7, 40])
def test_objective_matches_a_brute_force_count(num_classes):
    train, vocab = _zipf_corpus()
    classes = np.random.default_rng(num_classes).integers(0, num_classes, vocab)
    assert class_bigram_loglik(train, classes, num_classes) == pytest.approx(_brute_force_loglik(train, classes),
                                                                              rel=1e-12)


@pytest.mark.parametrize("num_classes", [2, 5, 12])
def test_objective_never_decreases_and_matches_the_counts(num_classes):
    train, vocab = _zipf_corpus(seed=num_classes)
    result = exchange_clustering(train, vocab, num_classes, 50, np.random.default_rng(0))
    history = np.array(result.objective)
    assert np.all(np.diff(history) >= -1e-9), history
    assert history[-1] > history[0]  # the random-ish start is improvable
    assert result.converged and result.moves[-1] == 0 and all(m > 0 for m in result.moves[:-1])
    # the incrementally updated counts give the same objective as counting from scratch
    assert history[-1] == pytest.approx(class_bigram_loglik(train, result.classes, num_classes), rel=1e-12)
    assert sorted(np.unique(result.classes)) == list(range(num_classes))  # no class emptied


@pytest.mark.parametrize("num_classes", [3, 8])
def test_converged_classes_are_a_local_optimum_of_the_objective(num_classes):
    # brute force: no single word moved to another class raises the class-bigram likelihood (so the
    # incremental gains the algorithm ranks classes by are the true changes of the objective)
    train, vocab = _zipf_corpus(seed=4, vocab=25, length=400)
    result = exchange_clustering(train, vocab, num_classes, 100, np.random.default_rng(0))
    assert result.converged
    best = class_bigram_loglik(train, result.classes, num_classes)
    sizes = np.bincount(result.classes, minlength=num_classes)
    for w in range(vocab):
        if sizes[result.classes[w]] == 1:
            continue
        for k in range(num_classes):
            moved = result.classes.copy()
            moved[w] = k
            assert class_bigram_loglik(train, moved, num_classes) <= best + 1e-9, (w, k)


def test_one_word_per_class_stays_put():
    # c = |V|: a move would merge two words' classes, which never raises a maximum-likelihood objective
    train, vocab = _zipf_corpus()
    result = exchange_clustering(train, vocab, vocab, 5, np.random.default_rng(0))
    assert result.moves == [0] and result.converged
    assert sorted(result.classes) == list(range(vocab))


def test_finds_an_obvious_two_class_structure():
    # words 0–3 ("A") are always followed by one of 4–7 ("B") and vice versa
    rng = np.random.default_rng(3)
    train = np.empty(2000, np.int64)
    train[0::2] = rng.integers(0, 4, 1000)
    train[1::2] = rng.integers(4, 8, 1000)
    start = initial_classes(np.bincount(train), 2, np.random.default_rng(0))
    assert len(set(start[:4])) == 2  # the start mixes the two groups, so the algorithm has work to do
    result = exchange_clustering(train, 8, 2, 20, np.random.default_rng(0))
    assert result.converged
    assert len(set(result.classes[:4])) == 1 and len(set(result.classes[4:])) == 1
    assert result.classes[0] != result.classes[4]


def test_initial_assignment_is_frequency_rank_mod_c_and_seeded():
    counts = np.array([5, 9, 1, 9, 3, 0, 7])
    classes = initial_classes(counts, 3, np.random.default_rng(0))
    # ranks: the two 9s first (order drawn), then 7, 5, 3, 1, 0
    assert {classes[1], classes[3]} == {0, 1}
    assert [classes[6], classes[0], classes[4], classes[2], classes[5]] == [2, 0, 1, 2, 0]
    train, vocab = _zipf_corpus()
    a = exchange_clustering(train, vocab, 6, 3, np.random.default_rng(7))
    b = exchange_clustering(train, vocab, 6, 3, np.random.default_rng(7))
    np.testing.assert_array_equal(a.classes, b.classes)


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_class_ngram_is_a_distribution_over_the_vocabulary(order):
    train, vocab = _zipf_corpus()
    classes = exchange_clustering(train, vocab, 6, 5, np.random.default_rng(0)).classes
    model = ClassNgram(order, vocab, classes).fit(train)
    rng = np.random.default_rng(1)
    for ctx in [train[10:13], train[200:203], [39, 39, 39], *rng.integers(0, vocab, (10, 3))]:
        p = model.prob(np.tile(np.asarray(ctx)[None, :], (vocab, 1)), np.arange(vocab))
        assert np.all(p > 0)
        assert p.sum() == pytest.approx(1.0, abs=1e-12), ctx


def test_limiting_cases_one_class_per_word_and_a_single_class():
    train, vocab = _zipf_corpus()
    context, target = np.random.default_rng(2).integers(0, vocab, (50, 2)), np.arange(50) % vocab
    # c = |V| with word i in class i: the word Kneser–Ney trigram itself
    own = ClassNgram(3, vocab, np.arange(vocab)).fit(train)
    np.testing.assert_allclose(own.prob(context, target), KneserNey(3, vocab).fit(train).prob(context, target),
                               rtol=1e-13)
    # c = 1: the class is certain, so P(w | h) = count(w) / T whatever the history
    single = ClassNgram(3, vocab, np.zeros(vocab, np.int64)).fit(train)
    np.testing.assert_allclose(single.prob(context, target), np.bincount(train, minlength=vocab)[target] / len(train),
                               rtol=1e-13)


def test_class_ngram_hand_computed_bigram():
    # words 0, 1 in class 0, word 2 in class 1; train 0 2 1 2 0 → class stream 0 1 0 1 0
    train = np.array([0, 2, 1, 2, 0])
    model = ClassNgram(2, 3, np.array([0, 0, 1])).fit(train)
    # KN bigram over classes: both class bigrams (0 1), (1 0) occur twice, so D_2 = 2 (n_1 = 0) leaves them nothing
    # and context 1 passes all its mass to the unigram level; there both classes have continuation count 1, D_1 = 1,
    # so P(class 0 | class 1) = 1/2 (the uniform floor)
    p_class = 0.5
    assert model.prob(np.array([[2]]), np.array([1]))[0] == pytest.approx(p_class * 1 / 3)  # count(1)/count(class 0)
    assert model.prob(np.array([[2]]), np.array([0]))[0] == pytest.approx(p_class * 2 / 3)


def test_vocabulary_words_unseen_in_training_share_an_extra_class_uniformly():
    # word 3 and word 4 never occur in training (the whole-stream vocabulary has such words)
    model = ClassNgram(2, 5, np.array([0, 0, 1, 1, 0])).fit(np.array([0, 1, 2, 0, 1, 2]))
    assert model.num_classes == 3 and model.classes.tolist() == [0, 0, 1, 2, 2] and model.unseen_words == 2
    assert model.emission[3] == model.emission[4] == 0.5
    for history in range(5):
        p = model.prob(np.full((5, 1), history), np.arange(5))
        assert p.sum() == pytest.approx(1.0) and p[3] > 0 and p[3] == p[4]
    with pytest.raises(DataError, match="at least one word seen"):  # a class of unseen words only
        ClassNgram(2, 4, np.array([0, 0, 1, 1])).fit(np.array([0, 1, 0, 1]))


def test_bad_arguments_are_rejected():
    from reproductions.bengio2003.protocol import class_based

    with pytest.raises(ValueError, match="classes"):
        class_based(order=3, classes=0)
    with pytest.raises(ValueError, match="iterations"):
        class_based(order=3, classes=5, iterations=-1)
    train, vocab = _zipf_corpus()
    with pytest.raises(ValueError, match="num_classes"):
        exchange_clustering(train, vocab, vocab + 1, 1, np.random.default_rng(0))
    with pytest.raises(UserError, match="model.classes"):
        class_based(order=3, classes=vocab + 1).build(vocab, train, seed=0)


@needs_brown
def test_class_row_smoke_runs_through_the_cli(tmp_path):
    from lstm_hist.cli import main

    assert main(["run", "bengio2003/class_n3_c150", "--smoke", "--out", str(tmp_path), "--quiet"]) == 0
    record = json.loads(next((tmp_path / "bengio2003").glob("class_n3_c150*.json")).read_text())
    m = record["metrics"]
    assert record["status"] == "completed"
    assert record["reported"] == {"valid_perplexity": 348, "test_perplexity": 334}
    assert m["cluster_iterations"] <= 2 and m["cluster_objective"] < 0
    assert 1.0 < m["valid_perplexity"] < m["vocab_size"] and 1.0 < m["test_perplexity"] < m["vocab_size"]
    history = record["trials"][0]["cluster_objective_history"]
    assert history[-1] == m["cluster_objective"] and history == sorted(history)
