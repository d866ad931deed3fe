"""Bengio et al. (2003): n-gram baselines (distributions sum to 1, hand-computed cases), the NPLM (golden output,
the paper's parameter counts), the paper's SGD details, the Brown preparation, the configs, a smoke run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from reproductions.bengio2003.ngram import DeletedInterpolation, KneserNey, kn_discounts, perplexity_of, windows

SHARED_BROWN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "brown" / "brown.zip"
needs_brown = pytest.mark.skipif(not SHARED_BROWN.exists(), reason="shared/data/brown/brown.zip not present")

TOY = np.array([0, 1, 0, 1, 0, 2, 0, 1])  # V = 4: word 3 never occurs
CURRENT_TASK = {"vocab_counts": "stream", "separators": True}  # the configs' data preparation (data_rule)


def _configs() -> list[dict]:
    """The paper's config entries, as the report and `lstm-hist summary` hand them to the summary hooks."""
    from lstm_hist.registry import list_experiments

    return list_experiments("bengio2003")


# ------------------------------------------------------------------------------------------------ n-grams


def _random_corpus(seed=0, vocab=40, length=400):
    rng = np.random.default_rng(seed)
    train = np.minimum(rng.zipf(1.5, length) - 1, vocab - 2)  # Zipfian, so there are singletons at every order
    # (the last word, vocab − 1, never occurs in training)
    train[:60] = np.tile([1, 2, 3, 4, 5, 6], 10)  # some repeated long n-grams
    return train, vocab


@pytest.mark.parametrize("order", [1, 2, 3, 4, 5])
def test_kneser_ney_conditionals_sum_to_one_over_the_vocabulary(order):
    train, vocab = _random_corpus()
    model = KneserNey(order, vocab).fit(train)
    rng = np.random.default_rng(1)
    contexts = [train[10:14], train[100:104], [39, 39, 39, 39], [0, 39, 1, 2], *rng.integers(0, vocab, (20, 4))]
    for ctx in contexts:
        p = model.prob(np.tile(np.asarray(ctx)[None, :], (vocab, 1)), np.arange(vocab))
        assert p.sum() == pytest.approx(1.0, abs=1e-12), ctx
        assert (p > 0).all()  # the unseen word 39 too: the recursion ends in the uniform 1/|V|


def test_modified_kn_discounts_follow_chen_goodman():
    # count-of-counts n1..n4 = 4, 2, 1, 1: Y = 4/8; D1 = 1 − 2Y·2/4, D2 = 2 − 3Y·1/2, D3+ = 3 − 4Y·1/1
    counts = np.array([1, 1, 1, 1, 2, 2, 3, 4, 7])
    assert kn_discounts(counts) == pytest.approx((0.5, 1.25, 1.0))


def test_kneser_ney_bigram_known_numbers():
    """Hand-computed on TOY = 0 1 0 1 0 2 0 1, |V| = 4.

    Bigram counts c(01)=3, c(10)=2, c(02)=1, c(20)=1: n1..n4 = 2, 1, 1, 0, Y = 1/2, D = (0.5, 0.5, 3).
    Unigram continuation counts (distinct left neighbours) 0:2, 1:1, 2:1, 3:0: n1, n2 = 2, 1, Y = 1/2,
    D = (0.5, 2, 0); mass γ = (0.5·2 + 2·1)/4 = 3/4, so p1 = (0, .5, .5, 0)/4 + (3/4)(1/4) = (3, 5, 5, 3)/16.
    Context 0: total 4, γ = (3·1 + 0.5·1)/4 = 7/8: p(1|0) = 0 + 7/8·5/16, p(2|0) = 0.5/4 + 7/8·5/16, p(0|0) = 7/8·3/16.
    Context 1: total 2, γ = 0.5/2: p(0|1) = 1.5/2 + 1/4·3/16.
    """
    model = KneserNey(2, 4).fit(TOY)
    assert model.discounts[2] == pytest.approx((0.5, 0.5, 3.0))
    p = model.prob(np.array([[0], [0], [0], [0], [1], [3], [3]]), np.array([1, 2, 0, 3, 0, 1, 0]))
    expected = [7 / 8 * 5 / 16, 0.125 + 7 / 8 * 5 / 16, 7 / 8 * 3 / 16, 7 / 8 * 3 / 16, 0.75 + 3 / 64, 5 / 16, 3 / 16]
    np.testing.assert_allclose(p, expected, rtol=1e-12)


def test_kneser_ney_uses_only_the_last_order_minus_one_words():
    train, vocab = _random_corpus()
    model = KneserNey(3, vocab).fit(train)
    ctx = np.array([[5, 1, 2], [7, 1, 2]])
    p = model.prob(ctx, np.array([3, 3]))
    assert p[0] == p[1]


def test_deleted_interpolation_sums_to_one_and_known_case():
    train, vocab = _random_corpus()
    held = windows(np.concatenate([train, train[:50]]), 3, len(train), len(train) + 50)
    model = DeletedInterpolation(vocab).fit(train, *held)
    for ctx in ([1, 2], [39, 39], [0, 7], [3, 4], [0, 0]):
        p = model.prob(np.tile(ctx, (vocab, 1)), np.arange(vocab))
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
    for alpha in model.weights.values():
        assert alpha.sum() == pytest.approx(1.0) and (alpha >= 0).all()

    # No EM (uniform 1/4 weights) on TOY, context (0, 1) → 0: p0 = 1/4, p1 = 4/8, p2(0|1) = 2/2, p3(0|0 1) = 2/2
    # (the last (0, 1) of the stream has no successor, so Σ_w c(0 1 w) = 2). Bin: ⌈−log((1 + 3)/8)⌉ = 1.
    toy = DeletedInterpolation(4, em_iterations=0).fit(TOY)
    assert toy.prob(np.array([[0, 1]]), np.array([0]))[0] == pytest.approx(0.25 * (0.25 + 0.5 + 1 + 1))
    assert toy.bins(np.array([[0, 1], [3, 3]])).tolist() == [1, math.ceil(math.log(8))]


def test_deleted_interpolation_em_does_not_lower_the_heldout_likelihood():
    train, vocab = _random_corpus(seed=3)
    held = windows(np.concatenate([train, train[::-1]]), 3, len(train), 2 * len(train))
    likelihoods = []
    for iterations in (0, 1, 2, 5, 20):
        model = DeletedInterpolation(vocab, iterations).fit(train, *held)
        likelihoods.append(np.log(model.prob(*held)).sum())
    assert all(b >= a - 1e-9 for a, b in zip(likelihoods, likelihoods[1:]))
    assert likelihoods[-1] > likelihoods[0]


def test_perplexity_is_the_geometric_mean_of_inverse_probabilities():
    assert perplexity_of([0.5, 0.125]) == pytest.approx(4.0)


def test_windows_reach_back_across_the_split_boundary():
    context, target = windows(np.arange(10), 3, 5, 8)
    assert context.tolist() == [[3, 4], [4, 5], [5, 6]] and target.tolist() == [5, 6, 7]
    with pytest.raises(ValueError):
        windows(np.arange(10), 3, 1, 5)


# ------------------------------------------------------------------------------------------------ the network

TABLE1_SIZES = {  # (n, h, m, direct) → parameters with the paper's |V| = 16,383 (papers/bengio2003.md §1)
    "MLP1": ((5, 50, 60, True), 5_762_483),
    "MLP3": ((5, 0, 60, True), 4_931_283),
    "MLP5": ((5, 50, 30, True), 3_299_033),
    "MLP7": ((3, 50, 30, True), 2_313_053),
    "MLP9": ((5, 100, 30, False), 2_158_273),
}


def test_parameter_formula_gives_the_papers_counts():
    from reproductions.bengio2003.model import nplm_parameter_count

    for (n, h, m, direct), count in TABLE1_SIZES.values():
        assert nplm_parameter_count(16_383, n, h, m, direct) == count
    assert nplm_parameter_count(17_964, 6, 60, 100, True) == 11_904_264  # AP News MLP10


def test_keras_model_has_the_formula_parameter_count():
    from reproductions.bengio2003.model import build_nplm, nplm_parameter_count

    for (n, h, m, direct), _ in TABLE1_SIZES.values():  # a small |V| keeps it fast; the formula is pinned above
        model = build_nplm(vocab_size=97, order=n, hidden=h, features=m, direct=direct)
        assert model.count_params() == nplm_parameter_count(97, n, h, m, direct), (n, h, m, direct)
    (n, h, m, direct), count = TABLE1_SIZES["MLP9"]
    assert build_nplm(vocab_size=16_383, order=n, hidden=h, features=m, direct=direct).count_params() == count


def test_nplm_matches_a_numpy_reference_of_eq_1():
    from reproductions.bengio2003.model import build_nplm

    vocab, order, hidden, features = 11, 4, 3, 2
    model = build_nplm(vocab, order, hidden, features, direct=True)
    rng = np.random.default_rng(0)
    weights = {w.path.split("/")[0] + "/" + w.path.split("/")[-1]: rng.normal(size=w.shape).astype("float32")
               for w in model.weights}
    for w in model.weights:
        w.assign(weights[w.path.split("/")[0] + "/" + w.path.split("/")[-1]])
    context = rng.integers(0, vocab, (5, order - 1)).astype("int32")
    C = weights["C/embeddings"]
    x = C[context].reshape(5, -1)  # (C(w_{t−n+1}), …, C(w_{t−1})): oldest first, as the inputs are ordered
    y = weights["U/bias"] + x @ weights["W/kernel"] + np.tanh(weights["H/bias"] + x @ weights["H/kernel"]) @ \
        weights["U/kernel"]
    np.testing.assert_allclose(np.asarray(model(context)), y, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="hidden=0 needs direct=True"):
        build_nplm(vocab, order, 0, features, direct=False)


def test_paper_sgd_decays_the_rate_and_the_weights_but_not_the_biases():
    import keras

    from reproductions.bengio2003.model import build_nplm
    from reproductions.bengio2003.protocol import NPLMProtocol, paper_sgd

    protocol = NPLMProtocol(learning_rate=1e-3, lr_decay=1e-3, weight_decay=0.1, batch_size=10)
    optimizer = paper_sgd(protocol)
    # The shared trainer gets it through its optimizer hook (no patching of the trainer's module).
    hooked = protocol.make_optimizer(steps_per_epoch=5)
    unnamed = [{k: v for k, v in o.get_config().items() if k != "name"} for o in (hooked, optimizer)]
    assert type(hooked) is type(optimizer) and unnamed[0] == unnamed[1]
    # ε = ε₀·B / (1 + r·B·u): 0.01 at u = 0, 0.01 / 1.1 after u = 10 updates (100 examples)
    assert float(optimizer.learning_rate) == pytest.approx(0.01)
    assert float(optimizer._learning_rate(10)) == pytest.approx(0.01 / 1.1)
    model = build_nplm(7, 3, 2, 2, direct=True)
    model.get_layer("U").bias.assign(np.ones(7, "float32"))
    before = {v.path: np.array(v.numpy()) for v in model.trainable_variables}
    optimizer.apply_gradients([(keras.ops.zeros(v.shape), v) for v in model.trainable_variables])
    for v in model.trainable_variables:
        factor = 1.0 if "bias" in v.path else 1.0 - 0.01 * 0.1  # θ ← θ − ε·λ·θ (§4), biases untouched
        np.testing.assert_allclose(v.numpy(), before[v.path] * factor, rtol=1e-6, err_msg=v.path)


def test_nplm_protocol_rejects_what_the_paper_does_not_do():
    from lstm_hist.errors import UserError
    from reproductions.bengio2003.protocol import NPLMProtocol

    with pytest.raises(UserError):
        NPLMProtocol(optimizer="adam")
    with pytest.raises(UserError):
        NPLMProtocol(mixture_weight=1.0)
    with pytest.raises(TypeError):  # the learning-rate search is Chung's (reproductions.chung2014.lr_search)
        NPLMProtocol(lr_candidates=3)


# ------------------------------------------------------------------------------------------------ Brown, configs, CLI


@needs_brown
def test_brown_preparation_scores_every_valid_and_test_token():
    from reproductions.bengio2003.data import brown_windows, prepare_brown

    stream = prepare_brown()  # the default: separator marks in, rare words counted over the whole stream
    assert stream.bounds == (800_000, 1_000_000, 1_177_359) and stream.vocab_size == 17_907
    data = brown_windows(order=5)
    assert [len(data[p][1]) for p in ("train", "valid", "test")] == [799_996, 200_000, 177_359]
    context, target = data["valid"]
    assert context[0].tolist() == stream.ids[799_996:800_000].tolist() and target[0] == stream.ids[800_000]


@needs_brown
def test_data_stats_brown_prints_split_sizes_and_vocabulary(capsys):
    from lstm_hist.cli import main

    assert main(["data", "stats", "brown", "--json"]) == 0
    rows = {row["quantity"]: (row["ours"], row["paper"]) for row in json.loads(capsys.readouterr().out)}
    assert rows["texts (<text> marks)"][0] == 500 and rows["paragraphs (<p> marks)"][0] == 15_667
    marked, bare = "with marks (default)", "bare words"
    assert rows[f"{marked}: tokens"] == (1_177_359, 1_181_041)
    assert rows[f"{marked}: test tokens"] == (177_359, 181_041)
    assert rows[f"{marked}: distinct types (case kept)"] == (56_059, 47_578)
    assert rows[f"{marked}, counted over the whole stream: |V| (freq >= 4, + <unk>)"] == (17_907, 16_383)
    assert rows[f"{marked}, counted over train only: |V| (freq >= 4, + <unk>)"] == (14_039, 16_383)
    assert rows[f"{bare}: tokens"] == (1_161_192, 1_181_041)
    assert rows[f"{bare}, counted over the whole stream: |V| (freq >= 4, + <unk>)"][0] == 17_905  # issue 15's figure
    assert rows[f"{bare}, counted over train only: |V| (freq >= 4, + <unk>)"][0] == 14_114  # the earlier default
    shares = {p: rows[f"{marked}, counted over the whole stream: <unk> share of {p}"][0] for p in ("train", "valid", "test")}
    assert shares == {"train": 0.0488, "valid": 0.0424, "test": 0.0431}
    # with the whole-stream vocabulary valid/test are no easier than train for a unigram (docs/deviations.md N7)
    unigram = {p: rows[f"{marked}: unigram perplexity of {p} (add-one, train counts)"][0] for p in ("train", "valid", "test")}
    assert unigram == {"train": 783.3, "valid": 865.1, "test": 831.0}


def test_every_table1_row_has_a_valid_config_with_the_papers_numbers():
    from lstm_hist.registry import list_experiments, load

    entries = {e["id"]: e for e in list_experiments("bengio2003")}
    expected = [f"bengio2003/mlp{i}" for i in range(1, 11)] + ["bengio2003/del_int"] + \
        [f"bengio2003/kn{n}" for n in (3, 4, 5)] + \
        [f"bengio2003/class_n{n}_c{c}" for n, c in ((3, 150), (3, 200), (3, 500), (3, 1000), (3, 2000), (4, 500),
                                                     (5, 500))]
    apnews = ["bengio2003/apnews_del_int"] + [f"bengio2003/apnews_kn{n}" for n in (3, 4, 5)]  # Table 2 n-grams
    assert sorted(entries) == sorted(expected + apnews)
    assert entries["bengio2003/mlp10"]["reported"] == {"valid_perplexity": 265, "test_perplexity": 252}
    assert entries["bengio2003/del_int"]["reported"]["train_perplexity"] == 31
    for exp_id in expected:
        _, _, _, cfg = load(exp_id)  # validates every block against its target's signature
        assert cfg.get("smoke"), exp_id
        # the paper's reading is every row's default, stated in the config (data_rule reads a missing key as the
        # earlier behaviour, so an implicit default would mislabel the record)
        assert (cfg["task"]["vocab_counts"], cfg["task"]["separators"]) == ("stream", True), exp_id
        if cfg["experiment"] == "nplm":
            assert cfg["task"]["order"] == cfg["model"]["order"]
            assert cfg["protocol"]["mixture_weight"] == (0.5 if int(exp_id.split("mlp")[1]) % 2 == 0 else 0.0)
            assert cfg["model"]["vocab_size"] == 17_907, exp_id  # what the preparation gives (checked at run time)
            # early stopping on validation decides, not the cap (docs/deviations.md N6, N7)
            assert cfg["protocol"]["epochs"] >= 100 and cfg["protocol"]["early_stopping_patience"] >= 1, exp_id
            assert cfg["protocol"]["restore_best_weights"] is True, exp_id


def test_unknown_config_key_is_rejected(tmp_path):
    from lstm_hist.config import validate_config
    from lstm_hist.errors import ConfigError
    from reproductions.bengio2003 import EXPERIMENTS

    cfg = {"task": {"order": 5}, "model": {"vocab_size": 10, "order": 5, "hidden": 2, "features": 2,
                                           "hiden": 3}, "protocol": {}}
    with pytest.raises(ConfigError, match="hiden"):
        validate_config(cfg, EXPERIMENTS["nplm"], tmp_path / "x.yaml")


@needs_brown
def test_smoke_runs_through_the_cli(tmp_path, capsys):
    from lstm_hist.cli import main

    assert main(["run", "bengio2003/del_int", "--smoke", "--out", str(tmp_path), "--quiet"]) == 0
    assert main(["run", "bengio2003/mlp2", "--smoke", "--out", str(tmp_path), "--quiet"]) == 0
    records = {p.name.split(".")[0]: json.loads(p.read_text()) for p in (tmp_path / "bengio2003").glob("*.json")}
    ngram, mix = records["del_int"], records["mlp2"]
    assert ngram["status"] == mix["status"] == "completed"
    assert 1.0 < ngram["metrics"]["valid_perplexity"] < 400  # smoke |V| = 1,172 on a 30,000-token stream
    m = mix["metrics"]
    assert m["valid_perplexity"] == m["mix_valid_perplexity"] and m["net_valid_perplexity"] > 1.0
    assert m["weights"] == 359 * (1 + 5 * 60 + 50) + 50 * (1 + 4 * 60)  # the §2 formula at the smoke |V|


def test_apnews_is_read_from_a_user_supplied_folder(tmp_path, capsys):
    from lstm_hist.cli import main
    from lstm_hist.errors import DataError
    from reproductions.bengio2003.apnews import apnews_stream

    with pytest.raises(DataError, match="licensed"):
        apnews_stream(str(tmp_path / "missing"))
    (tmp_path / "train.txt").write_text("The cat sat .\nthe cat ran 1995 .\nthe dog sat .\n" * 5)
    (tmp_path / "valid.txt").write_text("the cat sat on 12 mats .\n")
    (tmp_path / "test.txt").write_text("A dog ran .\n")
    stream = apnews_stream(str(tmp_path), vocab_size=6)
    # normalised training counts: the 15, . 15, cat 10, sat 10, <num> 5, dog 5, ran 5 → keep 5 (ties alphabetical)
    assert stream.vocab.words == ("<unk>", ".", "the", "cat", "sat", "<num>")
    assert stream.bounds == (65, 72, 76)
    assert stream.vocab.decode(stream.ids[65:72]) == ["the", "cat", "sat", "<unk>", "<num>", "<unk>", "."]
    out = tmp_path / "runs"
    assert main(["run", "bengio2003/apnews_kn3", "--set", f"task.data_dir={tmp_path}", "--set", "task.vocab_size=6",
                 "--out", str(out), "--quiet"]) == 0
    record = json.loads(next((out / "bengio2003").glob("apnews_kn3-*.json")).read_text())
    assert record["metrics"]["test_tokens"] == 4 and record["metrics"]["vocab_size"] == 6


@pytest.mark.slow
@needs_brown
def test_full_brown_baselines_reproduce_the_recorded_numbers():
    """Regression pin of the committed baseline records (results/bengio2003/kn3-20261130T040109.json,
    del_int-20261130T040040.json), full split, the configs' preparation."""
    from reproductions.bengio2003.data import prepare_brown

    stream = prepare_brown()
    train = stream.ids[:800_000]
    kn3 = KneserNey(3, stream.vocab_size).fit(train)
    assert perplexity_of(kn3.prob(*stream.windows("valid", 3))) == pytest.approx(332.348321, rel=1e-6)
    di = DeletedInterpolation(stream.vocab_size).fit(train, *stream.windows("valid", 3))
    assert perplexity_of(di.prob(*stream.windows("test", 3))) == pytest.approx(330.375161, rel=1e-6)
    assert perplexity_of(di.prob(*stream.windows("train", 3))) == pytest.approx(30.737917, rel=1e-6)


def test_summary_fills_mixture_rows_from_the_odd_rows_record_and_computes_the_caption_ratios(tmp_path):
    from reproductions.bengio2003.summary import gains, table1

    loaded = []
    def write(name, exp_id, metrics, **extra):
        record = {"id": exp_id, "status": "completed", "smoke": False, "metrics": metrics,
                  "provenance": {"end": "2026-01-01T00:00:00"}, "config": {"task": CURRENT_TASK}, **extra}
        loaded.append((tmp_path / "bengio2003" / f"{name}.json", record))
    write("mlp1-1", "bengio2003/mlp1", {"train_perplexity": 150.0, "valid_perplexity": 250.0,
                                        "test_perplexity": 240.0, "mix_valid_perplexity": 225.0,
                                        "mix_test_perplexity": 200.0}, overrides=["protocol.epochs=1"])
    write("del_int-1", "bengio2003/del_int", {"train_perplexity": 30.0, "valid_perplexity": 260.0,
                                              "test_perplexity": 250.0})
    write("kn3-smoke", "bengio2003/kn3", {"valid_perplexity": 1.0, "test_perplexity": 1.0}, smoke=True)
    rows = {r["id"]: r for r in table1(loaded, _configs())}
    assert rows["bengio2003/mlp2"]["ours"] == {"valid_perplexity": 225.0, "test_perplexity": 200.0}
    assert "mix_* of" in rows["bengio2003/mlp2"]["source"] and "epochs=1" in rows["bengio2003/mlp2"]["source"]
    assert rows["bengio2003/kn3"]["ours"] == {}  # smoke records never count
    ours = gains(list(rows.values()), "ours")
    assert ours["best_network"] == "MLP2" and ours["del_int_above_best_network"] == pytest.approx(0.25)
    paper = gains(list(rows.values()), "paper")
    assert paper["del_int_above_best_network"] == pytest.approx(336 / 252 - 1)  # the caption's 33 %
    assert paper["best_ngram_above_best_network"] == pytest.approx(312 / 252 - 1)  # and 24 %


def test_report_notes_recompute_the_papers_headline_ratios_from_the_configs():
    from reproductions.bengio2003.summary import report_notes

    text = "\n".join(report_notes([], _configs()))  # no records: only the paper's line, from Table 1's printed numbers
    assert "**paper**" in text and "MLP10, test 252" in text
    assert "(+24% relative to the network)" in text and "deleted interpolation +33%" in text
    assert "- **ours**: best network" not in text and "no ratio yet" in text


def test_report_notes_say_whether_the_networks_stopped_early_or_at_their_cap():
    from reproductions.bengio2003.summary import report_notes

    def record(row, stopped, best, epochs=15, overrides=()):
        return {"id": f"bengio2003/{row.lower()}", "table": "Table 1", "row": row, "status": "completed",
                "overrides": list(overrides), "reported": {}, "config": {"task": CURRENT_TASK},
                "metrics": {"stopped_early": stopped, "best_epoch": best, "epochs": epochs,
                            "valid_perplexity": 200.0, "test_perplexity": 190.0}}

    capped = "\n".join(report_notes([record("MLP1", False, 15), record("MLP9", True, 12)], _configs()))
    assert "1 of the 2 network records (MLP1) ended at their epoch cap" in capped
    assert "still falling" in capped
    worse_at_end = "\n".join(report_notes([record("MLP1", False, 14)], _configs()))
    assert "ended at their epoch cap" in worse_at_end and "still falling" not in worse_at_end
    assert "All 1 network records stopped early" in "\n".join(report_notes([record("MLP1", True, 10)], _configs()))
    longer = record("MLP1", True, 15, 17, ["protocol.epochs=50"])
    longer["metrics"]["test_perplexity"] = 189.96
    both = "\n".join(report_notes([record("MLP1", False, 15), longer], _configs()))
    assert ("(MLP1 rerun with protocol.epochs=50 stopped early after epoch 17 and kept epoch 15, test 190.0, "
            "against epoch 15, test 190.0 in the capped run)") in both
    # an overridden (labelled) run is not the committed config and does not count
    only_labelled = "\n".join(report_notes([record("MLP9", False, 1, 1, ["protocol.epochs=1"])], _configs()))
    assert "No network row has a record of the committed config" in only_labelled


def test_report_plots_draw_one_curve_per_network_and_skip_mixtures_and_overrides(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from reproductions.bengio2003.summary import report_plots

    def record(row, mixture=0.0, overrides=()):
        return {"id": f"bengio2003/{row.lower()}", "table": "Table 1", "row": row, "status": "completed",
                "overrides": list(overrides),
                "config": {"task": CURRENT_TASK, "protocol": {"mixture_weight": mixture}},
                "metrics": {"stopped_early": False, "valid_perplexity": 200.0},
                "trials": [{"history": {"val_loss": [6.0, 5.5, 5.3]}}]}

    kn3 = {"id": "bengio2003/kn3", "table": "Table 1", "row": "KN3", "status": "completed",
           "config": {"task": CURRENT_TASK}, "metrics": {"valid_perplexity": 210.0}}
    drawn = []
    original = plt.Axes.plot
    monkeypatch.setattr(plt.Axes, "plot", lambda self, *a, **k: drawn.append(k.get("label")) or original(self, *a, **k))
    out = report_plots([record("MLP1"), record("MLP2", mixture=0.5), record("MLP9", overrides=["protocol.epochs=1"]),
                        kn3], _configs(), tmp_path / "img")
    assert drawn == ["MLP1"]
    (caption, path), = out
    assert "validation perplexity" in caption and path.exists() and path.stat().st_size > 1000
    assert report_plots([kn3], _configs(), tmp_path / "none") == []


def test_report_notes_read_a_mixture_row_without_its_own_record_from_the_row_before():
    from reproductions.bengio2003.summary import report_notes

    mlp3 = {"id": "bengio2003/mlp3", "table": "Table 1", "row": "MLP3", "status": "completed", "overrides": [],
            "reported": {}, "config": {"task": CURRENT_TASK}, "metrics": {"stopped_early": True, "best_epoch": 3, "epochs": 5,
                                        "valid_perplexity": 230.0, "test_perplexity": 222.0,
                                        "mix_valid_perplexity": 196.25, "mix_test_perplexity": 187.75}}
    text = "\n".join(report_notes([mlp3], _configs()))
    assert "**MLP4** has no record of its own: the MLP3 record's 0.5 mixture" in text
    assert "valid 196.2, test 187.8 (paper 286, 272)" in text
    assert "**MLP8**" not in text  # no MLP7 record to read
    mlp4 = {**mlp3, "id": "bengio2003/mlp4", "row": "MLP4"}
    assert "has no record of its own" not in "\n".join(report_notes([mlp3, mlp4], _configs()))


def test_a_borrowed_mixture_row_competes_in_our_caption_line():
    from reproductions.bengio2003.summary import report_notes

    def record(row, valid, test, mix_valid=None, mix_test=None):
        metrics = {"stopped_early": True, "best_epoch": 3, "epochs": 5, "valid_perplexity": valid,
                   "test_perplexity": test}
        if mix_valid is not None:
            metrics.update(mix_valid_perplexity=mix_valid, mix_test_perplexity=mix_test)
        return {"id": f"bengio2003/{row.lower().replace(' ', '_')}", "table": "Table 1", "row": row,
                "status": "completed", "overrides": [], "reported": {}, "config": {"task": CURRENT_TASK},
                "metrics": metrics}

    records = [record("MLP9", 280.0, 260.0, 270.0, 250.0), record("Del Int", 330.0, 325.0)]
    text = "\n".join(report_notes(records, _configs()))
    # MLP10 (MLP9's mixture, valid 270) beats MLP9 alone (valid 280): del int 325 is 30 % above its test 250
    assert "- **ours**: best network (lowest validation perplexity) MLP10 (the MLP9 record's mixture), test 250" in text
    assert "deleted interpolation +30%" in text


def test_the_scorecard_judges_a_mixture_row_on_its_network_rows_record(tmp_path):
    from lstm_hist.scorecard import scorecard_lines
    from reproductions.bengio2003.summary import stand_in_record

    configs = [e for e in _configs() if e["id"] in ("bengio2003/mlp1", "bengio2003/mlp2", "bengio2003/mlp4")]
    mlp1 = {"id": "bengio2003/mlp1", "paper": "bengio2003", "table": "Table 1", "row": "MLP1", "status": "completed",
            "overrides": [], "reported": configs[0]["reported"], "config": {"task": CURRENT_TASK},
            "provenance": {"end": "2026-11-30T18:52:00"},
            "metrics": {"valid_perplexity": 294.0, "test_perplexity": 269.0, "mix_valid_perplexity": 277.6,
                        "mix_test_perplexity": 255.8}}
    path = tmp_path / "bengio2003" / "mlp1-seed0-x.json"
    found = stand_in_record(next(e for e in configs if e["id"] == "bengio2003/mlp2"), [(path, mlp1)])
    assert found[0] == path and found[1]["metrics"] == {"valid_perplexity": 277.6, "test_perplexity": 255.8}
    assert "MLP1 record's 0.5 mixture" in found[1]["stand_in"]
    assert stand_in_record(next(e for e in configs if e["id"] == "bengio2003/mlp1"), [(path, mlp1)]) is None
    assert stand_in_record(next(e for e in configs if e["id"] == "bengio2003/mlp2"),
                           [(path, {**mlp1, "overrides": ["protocol.epochs=1"]})]) is None  # not the row's config
    lines = "\n".join(scorecard_lines({"a": (path, mlp1)}, [{**e, "paper": "bengio2003"} for e in configs], tmp_path,
                                      stand_in=stand_in_record))
    mlp2 = next(line for line in lines.splitlines() if line.startswith("| Table 1 | [MLP2]"))
    assert "no record of its own: the MLP1 record's 0.5 mixture" in mlp2 and "**reproduces**" in mlp2
    assert "test_perplexity 256 / 257" in mlp2
    assert "Not run to completion (1): `mlp4`" in lines  # no MLP3 record to stand in
