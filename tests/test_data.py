"""Data layer: resolution and sha256 checks, safe loading, parsers against the counts in shared/data/*/SOURCE.md."""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.io

from lstm_hist import data as D
from lstm_hist.data import resolution as R
from lstm_hist.data.spec import DataFile, DatasetSpec
from lstm_hist.errors import DataError

SHARED = R.shared_data_roots()
needs_shared = pytest.mark.skipif(not SHARED, reason="shared/data is not beside this checkout")


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """No test reads or writes the real user cache, and none touches the network unless it stubs it."""
    monkeypatch.setenv("LSTM_HIST_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("LSTM_HIST_DATA", raising=False)
    monkeypatch.setenv("LSTM_HIST_OFFLINE", "1")


def toy_spec(tmp_path, payload=b"hello data\n", url=None, **kw) -> DatasetSpec:
    sha = hashlib.sha256(payload).hexdigest()
    return DatasetSpec(name="toy", files=(DataFile("toy.bin", url, sha, len(payload)),), citation="c",
                       licence="l", parser="none", **kw)


# --------------------------------------------------------------------------------------------- resolution


def test_data_dir_wins_and_accepts_root_or_dataset_folder(tmp_path):
    spec = toy_spec(tmp_path)
    (tmp_path / "root" / "toy").mkdir(parents=True)
    (tmp_path / "root" / "toy" / "toy.bin").write_bytes(b"hello data\n")
    assert R.resolve_file(spec, "toy.bin", data_dir=tmp_path / "root") == tmp_path / "root" / "toy" / "toy.bin"
    assert R.resolve_file(spec, "toy.bin", data_dir=tmp_path / "root" / "toy").name == "toy.bin"


def test_env_data_dir_and_cache_are_searched(tmp_path, monkeypatch):
    spec = toy_spec(tmp_path)
    cache = tmp_path / "cache" / "toy"
    cache.mkdir(parents=True)
    (cache / "toy.bin").write_bytes(b"hello data\n")
    assert R.resolve_file(spec, "toy.bin") == cache / "toy.bin"
    (tmp_path / "env").mkdir()
    (tmp_path / "env" / "toy.bin").write_bytes(b"hello data\n")
    monkeypatch.setenv("LSTM_HIST_DATA", str(tmp_path / "env"))
    assert R.resolve_file(spec, "toy.bin") == tmp_path / "env" / "toy.bin"


def test_wrong_sha256_names_the_file_and_both_hashes(tmp_path):
    spec = toy_spec(tmp_path)
    (tmp_path / "toy.bin").write_bytes(b"tampered\n")
    with pytest.raises(DataError) as info:
        R.resolve_file(spec, "toy.bin", data_dir=tmp_path)
    message = str(info.value)
    assert "toy.bin" in message and spec.files[0].sha256 in message
    assert hashlib.sha256(b"tampered\n").hexdigest() in message


def test_missing_file_error_is_one_line_with_name_size_sha_folder_and_url(tmp_path):
    spec = toy_spec(tmp_path, url="https://example.org/toy.bin")
    with pytest.raises(DataError) as info:
        R.resolve_file(spec, "toy.bin", data_dir=tmp_path / "mine")
    message = str(info.value)
    assert "\n" not in message
    for part in ("toy.bin", "11 bytes", spec.files[0].sha256, str(tmp_path / "mine" / "toy"),
                 "https://example.org/toy.bin"):
        assert part in message


def test_download_from_file_url_verifies_and_lands_in_the_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("LSTM_HIST_OFFLINE")
    source = tmp_path / "upstream.bin"
    source.write_bytes(b"hello data\n")
    spec = toy_spec(tmp_path, url=source.as_uri())
    path = R.resolve_file(spec, "toy.bin")
    assert path == tmp_path / "cache" / "toy" / "toy.bin" and path.read_bytes() == b"hello data\n"
    assert [p.name for p in path.parent.iterdir()] == ["toy.bin"]  # no temp file left behind


def test_download_with_wrong_sha256_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("LSTM_HIST_OFFLINE")
    monkeypatch.setattr(R, "_urlopen", lambda url, timeout: io.BytesIO(b"evil twin\n"))
    spec = toy_spec(tmp_path, url="https://example.org/toy.bin")
    with pytest.raises(DataError, match="wrong sha256"):
        R.resolve_file(spec, "toy.bin")
    assert not any((tmp_path / "cache" / "toy").iterdir())


def test_network_failure_becomes_the_put_it_here_message(tmp_path, monkeypatch):
    import urllib.error

    def offline(url, timeout):
        raise urllib.error.URLError("no route to host")

    monkeypatch.delenv("LSTM_HIST_OFFLINE")
    monkeypatch.setattr(R, "_urlopen", offline)
    with pytest.raises(DataError, match=r"download failed .*no route to host.*put it in"):
        R.resolve_file(toy_spec(tmp_path, url="https://example.org/toy.bin"), "toy.bin")


def test_muse_data_is_fetched_only_on_request(tmp_path, monkeypatch):
    monkeypatch.delenv("LSTM_HIST_OFFLINE")
    calls = []
    monkeypatch.setattr(R, "_urlopen", lambda url, timeout: calls.append(url) or io.BytesIO(b"not it"))
    with pytest.raises(DataError, match="licence.*download=True"):
        D.load_piano_roll("muse_data")
    assert calls == []
    with pytest.raises(DataError, match="wrong sha256"):
        D.load_piano_roll("muse_data", download=True)
    assert calls == [D.get_spec("muse_data").files[0].url]


def test_specs_carry_the_source_md_checksums():
    assert D.get_spec("brown").files[0].sha256.startswith("9b275f9b")
    assert D.get_spec("nottingham").files[0].size == 371_688
    assert len(D.get_spec("fsdd").files) == 3000
    assert all(f.url and f.url.startswith("https://") for spec in D.DATASETS.values() for f in spec.files)
    with pytest.raises(DataError, match="known"):
        D.get_spec("ptb")


@needs_shared
def test_shared_files_match_their_pinned_checksums():
    for name in ("brown", "jsb_chorales", "nottingham", "piano_midi"):
        paths = D.resolve(name)
        assert all(p.is_file() for p in paths.values())


# --------------------------------------------------------------------------------------------- safe loading


class Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_safe_pickle_refuses_code_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"train": [Evil(marker)]})
    with pytest.raises(DataError, match="system"):
        D.safe_pickle_load(payload)
    assert not marker.exists()
    with pytest.raises(DataError, match="not plain data"):
        D.safe_pickle_load(pickle.dumps(Path("x")))
    with pytest.raises(DataError, match="numeric"):
        D.safe_pickle_load(pickle.dumps(np.array([1], dtype=object)[0:1].dtype))


def test_safe_pickle_reads_plain_data_and_numpy_scalars(tmp_path):
    data = {"a": [1, 2.5, (3, "x"), {4}, frozenset([5]), b"by", 1j, True, None], "n": np.int64(60)}
    for protocol in (2, 4):
        assert D.safe_pickle_load(pickle.dumps(data, protocol=protocol)) == data
    path = tmp_path / "p.pkl"
    path.write_bytes(pickle.dumps(data))
    assert D.safe_pickle_load(path)["n"] == 60
    with pytest.raises(DataError, match="not a readable pickle"):
        D.safe_pickle_load(b"garbage")


# --------------------------------------------------------------------------------------------- piano rolls


@needs_shared
@pytest.mark.parametrize("name, seqs, steps, notes", [
    ("jsb_chorales", (229, 76, 77), (13_807, 4_602, 4_725), (43, 96)),
    ("nottingham", (694, 173, 170), (176_561, 45_513, 44_463), (31, 93)),
    ("piano_midi", (87, 12, 25), (75_911, 8_540, 19_036), (21, 108)),
])
def test_piano_roll_splits_match_source_md(name, seqs, steps, notes):
    splits = D.load_piano_roll(name)
    assert tuple(len(splits[s]) for s in D.SPLITS) == seqs
    assert tuple(sum(len(r) for r in splits[s]) for s in D.SPLITS) == steps
    assert all(r.dtype == np.float32 and r.shape[1] == 88 for rolls in splits.values() for r in rolls)
    assert D.note_range(splits) == notes
    chung = D.load_piano_roll(name, dim="chung")
    assert chung["train"][0].shape[1] == D.CHUNG_DIMS[name] == notes[1]
    assert D.note_range(chung, lowest_midi=1) == notes  # librnn layout: column j is MIDI j + 1
    np.testing.assert_array_equal(chung["test"][3][:, 20:], splits["test"][3][:, : D.CHUNG_DIMS[name] - 20])


@needs_shared
def test_jsb_pickle_agrees_with_the_mat_file_step_for_step():
    from_pickle, from_mat = D.load_jsb_pickle(), D.load_piano_roll("jsb_chorales")
    for split in D.SPLITS:
        assert len(from_pickle[split]) == len(from_mat[split])
        assert all(np.array_equal(a, b) for a, b in zip(from_pickle[split], from_mat[split]))


@needs_shared
def test_a_dim_too_small_for_the_notes_is_an_error():
    with pytest.raises(DataError, match="does not fit"):
        D.load_piano_roll("jsb_chorales", dim=90)


def write_mat(folder: Path, name: str, rolls: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cells = {}
    for key, seqs in rolls.items():
        cell = np.empty((1, len(seqs)), dtype=object)
        for i, seq in enumerate(seqs):
            cell[0, i] = seq
        cells[key] = cell
    scipy.io.savemat(folder / name, cells)


@pytest.mark.parametrize("rolls, match", [
    ({"traindata": [np.full((3, 88), 2, np.uint8)], "validdata": [np.zeros((2, 88), np.uint8)],
      "testdata": [np.zeros((2, 88), np.uint8)]}, "other than 0 and 1"),
    ({"traindata": [np.zeros((3, 80), np.uint8)], "validdata": [np.zeros((2, 88), np.uint8)],
      "testdata": [np.zeros((2, 88), np.uint8)]}, r"\(T, 88\)"),
    ({"traindata": [np.zeros((3, 88), np.uint8)], "validdata": [np.zeros((2, 88), np.uint8)]}, "testdata"),
])
def test_piano_roll_structure_is_validated(tmp_path, monkeypatch, rolls, match):
    write_mat(tmp_path / "nottingham", "Nottingham.mat", rolls)
    spec = D.get_spec("nottingham")
    path = tmp_path / "nottingham" / "Nottingham.mat"
    monkeypatch.setattr(R, "check_file", lambda p, f, d: p)  # our fake is not the pinned file
    with pytest.raises(DataError, match=match):
        D.load_piano_roll(spec.name, data_dir=tmp_path)
    assert path.exists()


def test_note_lists_become_88_key_rolls():
    rolls = D.piano_roll.rolls_from_note_lists([[(21, 60), (), (108,)]])
    assert rolls[0].shape == (3, 88)
    assert rolls[0][0, [0, 39]].tolist() == [1, 1] and rolls[0][1].sum() == 0 and rolls[0][2, 87] == 1
    with pytest.raises(DataError, match="outside 21..108"):
        D.piano_roll.rolls_from_note_lists([[(20,)]])


# --------------------------------------------------------------------------------------------- Brown


@needs_shared
def test_brown_has_1161192_tokens():
    tokens = D.load_brown_tokens()
    assert len(tokens) == D.BROWN_TOKENS == 1_161_192
    assert tokens[:4] == ["The", "Fulton", "County", "Grand"]


# --------------------------------------------------------------------------------------------- FSDD


@needs_shared
def test_fsdd_lists_3000_recordings_with_the_official_split():
    recordings = D.list_fsdd()
    assert len(recordings) == 3000
    assert sum(r.split == "test" for r in recordings) == 300
    assert {r.index for r in recordings if r.split == "test"} == set(range(5))
    audio = D.load_wav(recordings[0].path)
    assert audio.dtype == np.float32 and len(audio) == 2384 and np.abs(audio).max() <= 1.0


@needs_shared
def test_fsdd_manifest_mismatch_is_caught(tmp_path):
    source = next(root / "fsdd" for root in SHARED if (root / "fsdd").is_dir())
    (tmp_path / "fsdd" / "recordings").mkdir(parents=True)
    for wav in (source / "recordings").iterdir():
        (tmp_path / "fsdd" / "recordings" / wav.name).symlink_to(wav)
    lines = (source / "MANIFEST.tsv").read_text().splitlines()
    fields = lines[1].split("\t")
    fields[2] = "0" * 64
    (tmp_path / "fsdd" / "MANIFEST.tsv").write_text("\n".join([lines[0], "\t".join(fields), *lines[2:]]) + "\n")
    with pytest.raises(DataError, match="MANIFEST"):
        D.list_fsdd(data_dir=tmp_path)
    assert D.fsdd_split(4) == "test" and D.fsdd_split(5) == "train"


# --------------------------------------------------------------------------------------------- batching


def test_next_step_arrays_pad_and_mask():
    seqs = [np.ones((4, 3), np.float32), 2 * np.ones((2, 3), np.float32)]
    x, y, w = D.next_step_arrays(seqs)
    assert x.shape == y.shape == (2, 3, 3) and w.tolist() == [[1, 1, 1], [1, 0, 0]]
    assert x[1, 1:].sum() == 0
    x, y, w = D.next_step_arrays(seqs, predict_first=True)
    assert x.shape == (2, 4, 3) and x[0, 0].sum() == 0 and w.sum() == 6


def test_iterate_batches_is_seeded_and_covers_every_row():
    a = np.arange(10)
    first = [b[0].tolist() for b in D.iterate_batches([a], 4, shuffle=True, rng=np.random.default_rng(1))]
    again = [b[0].tolist() for b in D.iterate_batches([a], 4, shuffle=True, rng=np.random.default_rng(1))]
    assert first == again and sorted(sum(first, [])) == list(range(10))
    assert len(list(D.iterate_batches([a], 4, drop_remainder=True))) == 2


def test_to_tf_dataset_matches_the_numpy_batches():
    pytest.importorskip("tensorflow")
    x = np.arange(10, dtype=np.float32)
    batches = [b[0].tolist() for b in D.to_tf_dataset([x], 4).as_numpy_iterator()]
    assert batches == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    seqs = [np.ones((4, 3), np.float32), np.ones((2, 3), np.float32)]
    (bx, by, bw), = D.next_step_tf_dataset(seqs, 2).as_numpy_iterator()
    assert bx.shape == (2, 3, 3) and bw.tolist() == [[1, 1, 1], [1, 0, 0]]


@needs_shared
def test_tfds_builder_prepares_jsb(tmp_path):
    pytest.importorskip("tensorflow_datasets")
    pytest.importorskip("importlib_resources")  # a TFDS dependency not every install has
    from lstm_hist.data.tfds_builders import PianoRoll

    builder = PianoRoll(config="jsb_chorales", data_dir=str(tmp_path))
    builder.download_and_prepare()
    assert builder.info.splits["train"].num_examples == 229
    lengths = [int(e["length"]) for e in builder.as_dataset(split="valid").as_numpy_iterator()]
    assert sum(lengths) == 4_602


def test_importing_the_shared_layer_loads_no_keras_or_tensorflow():
    code = ("import sys, lstm_hist.data, lstm_hist.evaluation.metrics, lstm_hist.training.minibatch; "
            "bad = [m for m in sys.modules if m.split('.')[0] in ('keras', 'tensorflow', 'jax')]; "
            "assert not bad, bad")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


@needs_shared
def test_data_cli_verifies_and_explains(capsys):
    from lstm_hist.cli import main

    assert main(["data", "verify", "nottingham"]) == 0
    assert "nottingham: 1 file(s) ok" in capsys.readouterr().out
    assert main(["data", "fetch", "muse_data"]) == 2
    assert "--accept-licence" in capsys.readouterr().err
