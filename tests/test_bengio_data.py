"""Bengio et al. (2003) §4 data preparation: the separator marks, the rare-word rule (whole stream vs training part),
and how records of different preparations are kept apart in the report."""

from __future__ import annotations

import numpy as np
import pytest

from lstm_hist.data import resolution as R
from lstm_hist.data.brown import load_brown_tokens, split_paragraphs
from lstm_hist.errors import DataError
from reproductions.bengio2003.data import PARAGRAPH_MARK, TEXT_MARK, bengio_stream_tokens, encode_stream
from reproductions.bengio2003.vocab import brown_splits, build_vocab, ngram_examples
from reproductions.bengio2003.data_rule import CURRENT_RULE, data_rule, is_earlier_data, record_label

# Two texts in NLTK's Brown file format: sentence lines, tab-indented, blank lines between paragraphs.
FILE_A = "\n\n\tThe/at cat/nn sat/vbd ./.\n\n\n\tIt/pps ran/vbd ./.\nA/at dog/nn barked/vbd ./.\n\n"
FILE_B = "\n\n\tThe/at end/nn ./.\n"
needs_shared = pytest.mark.skipif(not R.shared_data_roots(), reason="shared/data is not beside this checkout")


def test_blank_lines_separate_paragraphs_and_tags_are_stripped():
    assert split_paragraphs(FILE_A) == [["The", "cat", "sat", "."], ["It", "ran", ".", "A", "dog", "barked", "."]]
    assert split_paragraphs(FILE_B) == [["The", "end", "."]]


def test_one_mark_after_each_paragraph_and_one_after_each_text():
    texts = [split_paragraphs(FILE_A), split_paragraphs(FILE_B)]
    tokens = bengio_stream_tokens(texts)
    assert tokens == ["The", "cat", "sat", ".", PARAGRAPH_MARK, "It", "ran", ".", "A", "dog", "barked", ".",
                      PARAGRAPH_MARK, TEXT_MARK, "The", "end", ".", PARAGRAPH_MARK, TEXT_MARK]
    bare = bengio_stream_tokens(texts, separators=False)
    assert len(tokens) - len(bare) == 3 + 2  # 3 paragraphs, 2 texts
    assert tokens.count(PARAGRAPH_MARK) == 3 and tokens.count(TEXT_MARK) == 2
    assert [t for t in tokens if t not in (PARAGRAPH_MARK, TEXT_MARK)] == bare


def test_whole_stream_rule_keeps_a_word_that_is_frequent_only_after_the_training_part():
    # "late" occurs 4 times, all in the test part; "rare" 3 times in train; "often" 4 times in train
    tokens = ["often", "rare"] * 3 + ["often", "x"] + ["v"] * 2 + ["late"] * 4
    stream = encode_stream(tokens, train_tokens=8, valid_tokens=2, vocab_counts="stream")
    train_only = encode_stream(tokens, train_tokens=8, valid_tokens=2, vocab_counts="train")
    assert set(stream.vocab.words) == {"<unk>", "often", "late"}
    assert set(train_only.vocab.words) == {"<unk>", "often"}
    a, b, c = stream.bounds
    assert (stream.ids[b:c] != 0).all() and (train_only.ids[b:c] == 0).all()  # "late": a word vs <unk>
    with pytest.raises(Exception, match="vocab_counts"):
        encode_stream(tokens, train_tokens=8, valid_tokens=2, vocab_counts="valid")


def _record(task=None, overrides=(), table="Table 1"):
    return {"id": "bengio2003/mlp1", "row": "MLP1", "table": table, "status": "completed",
            "overrides": list(overrides), "config": {"task": task} if task is not None else {}}


def test_records_are_labelled_by_the_data_preparation_they_ran_on():
    current = _record({"vocab_counts": "stream", "separators": True})
    earlier = _record({"vocab_counts": "train"})  # written before `separators` existed: NLTK's bare words
    variant = _record({"vocab_counts": "train", "separators": True}, ["task.vocab_counts=train"])
    assert data_rule(current) == CURRENT_RULE and data_rule(earlier) == ("train", False)
    assert data_rule(_record()) == ("train", False)  # before `vocab_counts` existed: counted on the training part
    assert not is_earlier_data(current) and is_earlier_data(earlier) and not is_earlier_data(variant)
    assert record_label(current) is None and record_label(variant) is None  # the override label says it already
    assert "earlier data: rare words counted over the training part, no separator marks" in record_label(earlier)
    assert record_label(_record({"vocab_counts": "train"}, table="Table 2")) is None


def test_caption_block_compares_only_records_of_the_current_preparation():
    from lstm_hist.registry import list_experiments
    from reproductions.bengio2003.summary import report_notes

    def record(row, exp_id, valid, test, task, **metrics):
        return {"id": f"bengio2003/{exp_id}", "row": row, "table": "Table 1", "status": "completed", "overrides": [],
                "reported": {}, "config": {"task": task},
                "metrics": {"valid_perplexity": valid, "test_perplexity": test, **metrics}}

    now = {"vocab_counts": "stream", "separators": True}
    old = {"vocab_counts": "train"}
    kn3 = record("KN3", "kn3", 330.0, 310.0, now)
    del_int = record("Del. Int.", "del_int", 356.0, 330.0, now)
    old_net = record("MLP1", "mlp1", 200.0, 190.0, old, stopped_early=False, best_epoch=15, epochs=15)
    text = "\n".join(report_notes([kn3, del_int, old_net], list_experiments("bengio2003")))
    assert "**paper**" in text and "- **ours**: best network" not in text  # no ratio mixing preparations
    assert "no ratio yet — no network row has a record on this preparation" in text
    assert "rows without one yet, so not in our line: MLP1, MLP2" in text and "Kneser-Ney back-off n=3," not in text
    assert "earlier data preparation (rare words counted over the training part, no separator marks)" in text
    assert "not comparable with the others: MLP1." in text
    new_net = record("MLP1", "mlp1", 300.0, 280.0, now, stopped_early=True, best_epoch=20, epochs=22)
    text = "\n".join(report_notes([kn3, del_int, new_net], list_experiments("bengio2003")))
    assert "- **ours**: best network (lowest validation perplexity) MLP1, test 280" in text
    assert "deleted interpolation +18%" in text and "MLP1, MLP2" not in text and "MLP3" in text
    # with its mixture numbers, MLP1's record also answers MLP2, which competes as the paper's MLP2 does
    mixed = {**new_net, "metrics": {**new_net["metrics"], "mix_valid_perplexity": 290.0, "mix_test_perplexity": 270.0}}
    text = "\n".join(report_notes([kn3, del_int, mixed], list_experiments("bengio2003")))
    assert "- **ours**: best network (lowest validation perplexity) MLP2 (the MLP1 record's mixture), test 270" in text
    assert "deleted interpolation +22%" in text


def test_ngram_records_say_what_words_unseen_in_training_cost():
    import numpy as np

    from reproductions.bengio2003.protocol import _unseen_word_share

    out = _unseen_word_share("valid", np.array([True, False, False, True]), np.array([np.exp(-10.0), 0.5, 0.5,
                                                                                     np.exp(-20.0)]))
    assert out["valid_unseen_in_train_share"] == 0.5
    assert out["valid_unseen_in_train_nll"] == pytest.approx(15.0)
    assert out["valid_unseen_in_train_nll_contribution"] == pytest.approx(30.0 / 4)
    assert _unseen_word_share("test", np.zeros(3, bool), np.ones(3)) == {"test_unseen_in_train_share": 0.0}


@needs_shared
def test_the_bengio_split_of_brown():
    tokens = load_brown_tokens()
    train, valid, test = brown_splits(tokens)
    assert (len(train), len(valid), len(test)) == (800_000, 200_000, 161_192)
    vocab = build_vocab(train)
    assert len(vocab) == 14_114  # 14,113 words seen ≥ 4 times in the training part, plus <unk>
    assert len(build_vocab(tokens)) == 17_904 + 1  # whole stream: SOURCE.md's "types with frequency ≥ 4"


def test_vocab_maps_rare_and_unseen_words_to_unk():
    vocab = build_vocab("a a a a b b b b b c c c d".split(), min_count=4)
    assert vocab.words == ("<unk>", "b", "a") and len(vocab) == 3
    assert vocab.encode(["a", "c", "zzz", "b"]).tolist() == [2, 0, 0, 1]
    assert vocab.decode([1, 0]) == ["b", "<unk>"]


def test_ngram_examples_pair_each_word_with_its_context():
    context, target = ngram_examples(np.arange(6), order=3)
    assert context.tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]] and target.tolist() == [2, 3, 4, 5]
    with pytest.raises(DataError):
        brown_splits(["w"] * 10, train=8, valid=2)


@needs_shared
@pytest.mark.slow
def test_tfds_brown_builder_gives_back_the_bengio_split(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    pytest.importorskip("importlib_resources")
    from reproductions.bengio2003.tfds_brown import BrownBengio2003

    builder = BrownBengio2003(data_dir=str(tmp_path))
    builder.download_and_prepare()
    train, valid, test = brown_splits(load_brown_tokens())
    assert builder.info.splits["valid"].num_examples == 200
    assert builder.info.metadata["vocab"] == list(build_vocab(train).words)
    chunks = sorted(builder.as_dataset(split="test").as_numpy_iterator(), key=lambda e: int(e["position"]))
    assert [t.decode() for e in chunks for t in e["tokens"]] == test
    ids = np.concatenate([e["ids"] for e in chunks])
    np.testing.assert_array_equal(ids, build_vocab(train).encode(test))
