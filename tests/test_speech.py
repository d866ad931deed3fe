"""Chung et al. (2014) raw-speech rows on public recordings: WAV reading, 20-in/10-out framing, the 20-component
mixture-of-Gaussians NLL, Table 1 speech sizes, the registered loss in the shared trainer, configs and report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import scipy.io.wavfile
import scipy.special
import scipy.stats

from lstm_hist import records, registry
from lstm_hist.data.audio import frame_stream, frame_streams, list_wav_dir, read_wav
from lstm_hist.errors import DataError, UserError
from lstm_hist.training.minibatch import REGISTERED_LOSSES, MinibatchProtocol

keras = pytest.importorskip("keras")
from keras import ops  # noqa: E402

from reproductions.chung2014 import EXPERIMENTS, build_speech_model, recurrent_parameters  # noqa: E402
from reproductions.chung2014.mog import (MIN_STD, mog_nll_loss, mog_nll_per_step, mog_nll_per_step_ops,  # noqa: E402
                                         mog_nll_totals, mog_output_size)
from reproductions.chung2014.speech import speech_task  # noqa: E402

SHARED_FSDD = [p for p in (Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd",) if p.is_dir()]
needs_fsdd = pytest.mark.skipif(not SHARED_FSDD, reason="shared/data/fsdd not present")


# ------------------------------------------------------------------------------------------ mixture NLL


def reference_nll(y, raw, k):
    """Independent reference: scipy.stats.norm densities, scipy.special.logsumexp over components."""
    d = y.shape[-1]
    logits, means, s = raw[..., :k], raw[..., k : k + k * d], raw[..., k + k * d :]
    means = means.reshape(*raw.shape[:-1], k, d)
    log_std = np.log(MIN_STD) + np.log1p(np.exp(s - np.log(MIN_STD))).reshape(*raw.shape[:-1], k, d)
    log_pi = logits - scipy.special.logsumexp(logits, axis=-1, keepdims=True)
    log_comp = scipy.stats.norm.logpdf(y[..., None, :], means, np.exp(log_std)).sum(-1)
    return -scipy.special.logsumexp(log_pi + log_comp, axis=-1)


@pytest.mark.parametrize("k,d", [(20, 10), (3, 2), (1, 1)])
def test_mixture_nll_matches_scipy_reference(k, d):
    rng = np.random.default_rng(k * 10 + d)
    y = rng.normal(size=(4, 7, d))
    raw = rng.normal(scale=1.5, size=(4, 7, k * (2 * d + 1)))
    expected = reference_nll(y, raw, k)
    np.testing.assert_allclose(mog_nll_per_step(y, raw), expected, rtol=1e-10)
    ours = ops.convert_to_numpy(mog_nll_per_step_ops(ops.convert_to_tensor(y, "float32"),
                                                     ops.convert_to_tensor(raw, "float32")))
    assert ours.shape == (4, 7)
    np.testing.assert_allclose(ours, expected, rtol=2e-4, atol=2e-4)


def test_mixture_nll_is_stable_where_naive_sums_overflow():
    k, d = 20, 10
    rng = np.random.default_rng(1)
    y = rng.normal(size=(2, 3, d)) * 50.0  # far from every mean: each component density underflows to 0
    raw = rng.normal(size=(2, 3, k * (2 * d + 1)))
    raw[..., :k] *= 200.0  # extreme mixture logits
    nll = ops.convert_to_numpy(mog_nll_per_step_ops(ops.convert_to_tensor(y, "float32"),
                                                    ops.convert_to_tensor(raw, "float32")))
    assert np.all(np.isfinite(nll))
    np.testing.assert_allclose(nll, reference_nll(y, raw, k), rtol=1e-4)
    # A single sharp component right on the data: a continuous density, so the NLL goes below zero.
    one = np.zeros((1, 2 * d + 1))
    one[0, 1 + d :] = -5.0
    assert mog_nll_per_step(np.zeros((1, d)), one)[0] < 0


def test_mixture_loss_averages_over_weighted_steps_only():
    rng = np.random.default_rng(2)
    y = rng.normal(size=(3, 5, 10)).astype("float32")
    raw = rng.normal(size=(3, 5, mog_output_size())).astype("float32")
    weight = np.ones((3, 5), "float32")
    weight[1, 2:] = 0
    loss = float(ops.convert_to_numpy(mog_nll_loss()(y, raw, sample_weight=weight)))
    total, steps = mog_nll_totals(y, raw, weight)
    assert steps == 12 and loss == pytest.approx(total / steps, rel=1e-5)
    with pytest.raises(ValueError, match="needs K"):
        mog_nll_per_step(y, raw[..., :-1])


# ------------------------------------------------------------------------------------------ framing


def test_frame_stream_reads_20_predicts_the_next_10_with_stride_10():
    stream = np.arange(1234, dtype=np.float32)
    x, y, weight = frame_stream(stream, input_samples=20, output_samples=10, steps=50)
    total = (1234 - 20) // 10  # 121 complete target blocks; the last 4 samples are dropped
    assert x.shape == (3, 50, 20) and y.shape == (3, 50, 10) and weight.sum() == total
    flat_x, flat_y = x.reshape(-1, 20)[:total], y.reshape(-1, 10)[:total]
    assert flat_y[0, 0] == 20  # the first 20 samples are only ever inputs
    np.testing.assert_array_equal(flat_y.ravel(), np.arange(20, 20 + 10 * total))  # no overlap, no gap
    for t in (0, 1, 57, total - 1):
        np.testing.assert_array_equal(flat_x[t], np.arange(flat_y[t, 0] - 20, flat_y[t, 0]))  # the 20 before
    assert np.all(x.reshape(-1, 20)[total:] == 0) and np.all(weight.ravel()[total:] == 0)
    assert frame_stream(np.zeros(29), 20, 10, 5)[0].shape == (0, 5, 20)
    with pytest.raises(DataError, match="nothing to frame"):
        frame_streams([np.zeros(29)])


# ------------------------------------------------------------------------------------------ WAV reading


def write_wav(path: Path, samples, rate=8000):
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.wavfile.write(path, rate, np.asarray(samples))


def test_read_wav_scales_int16_and_names_the_file_on_errors(tmp_path):
    write_wav(tmp_path / "a.wav", np.array([0, 16384, -32768], np.int16))
    rate, audio = read_wav(tmp_path / "a.wav")
    assert rate == 8000 and audio.dtype == np.float32 and audio.tolist() == [0.0, 0.5, -1.0]
    (tmp_path / "bad.wav").write_bytes(b"NIST_1A\n   1024\n")  # a SPHERE header, as in original TIMIT
    with pytest.raises(DataError, match="bad.wav.*not a readable RIFF WAV.*sox"):
        read_wav(tmp_path / "bad.wav")
    with pytest.raises(DataError, match="missing.wav is missing"):
        read_wav(tmp_path / "missing.wav")
    write_wav(tmp_path / "stereo.wav", np.zeros((10, 2), np.int16))
    with pytest.raises(DataError, match="stereo.wav: expected mono"):
        read_wav(tmp_path / "stereo.wav")
    with pytest.raises(DataError, match="a.wav: sample rate 8000 Hz, expected 16000"):
        read_wav(tmp_path / "a.wav", sample_rate=16000)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .wav files"):
        list_wav_dir(tmp_path / "empty")
    with pytest.raises(DataError, match="does not exist"):
        list_wav_dir(tmp_path / "stereo.wav")


@pytest.fixture
def wav_dir(tmp_path):
    rng = np.random.default_rng(0)
    for speaker in ("s1", "s2"):
        for i in range(12):
            tone = 8000 * np.sin(np.arange(900 + 37 * i) * (0.1 + 0.01 * i)) + rng.normal(0, 300, 900 + 37 * i)
            write_wav(tmp_path / "wavs" / speaker / f"utt{i}.wav", tone.astype(np.int16))
    return tmp_path / "wavs"


def test_directory_task_splits_by_path_hash_and_standardises_on_train(wav_dir):
    data = speech_task(source="directory", directory=str(wav_dir), steps=40, valid_share=0.2, test_share=0.2)
    assert set(data) == {"train", "valid", "test"}
    x, y, weight = data["train"]
    real = y[weight > 0]
    assert abs(real.mean()) < 0.05 and abs(real.std() - 1) < 0.05  # train targets ≈ all train samples
    assert x.shape[1:] == (40, 20) and y.shape[1:] == (40, 10)
    again = speech_task(source="directory", directory=str(wav_dir), steps=40, valid_share=0.2, test_share=0.2)
    for split in data:
        np.testing.assert_array_equal(data[split][1], again[split][1])
    write_wav(wav_dir / "s3" / "odd.wav", np.zeros(100, np.int16), rate=16000)
    with pytest.raises(DataError, match="odd.wav: sample rate 16000 Hz, expected 8000"):
        speech_task(source="directory", directory=str(wav_dir))
    with pytest.raises(DataError, match="task.directory is not set"):
        speech_task(source="directory")


@needs_fsdd
def test_fsdd_streams_use_the_official_test_takes_and_carve_valid_by_take():
    from lstm_hist.data import fsdd
    from reproductions.chung2014.speech import fsdd_streams

    streams = fsdd_streams()
    assert [len(streams[s]) for s in ("train", "valid", "test")] == [6, 6, 6]  # one stream per speaker
    frames = {"train": 0, "valid": 0, "test": 0}
    with open(SHARED_FSDD[0] / "MANIFEST.tsv") as handle:
        for line in list(handle)[1:]:
            row = line.rstrip("\n").split("\t")
            index = int(row[5])
            split = "test" if index < 5 else "valid" if index < 10 else "train"
            frames[split] += int(row[7])
    assert {s: sum(len(a) for a in streams[s]) for s in frames} == frames
    with pytest.raises(DataError, match="overlap"):
        fsdd_streams(valid_takes=(4, 5))
    assert fsdd.fsdd_set_digest({}) != fsdd.FSDD_SET_SHA256


# ------------------------------------------------------------------------------------------ models


@pytest.mark.parametrize("unit,units,recurrent,total", [
    ("lstm", 195, 169_065, 251_385),  # facts B.3: Table 1's ≈169.1×10³ is the recurrent layer alone
    ("gru", 227, 168_888, 264_648),   # ≈168.9×10³
    ("tanh", 400, 168_400, 336_820),  # ≈168.4×10³; the output layer adds units·420 + 420
])
def test_table1_speech_parameter_counts(unit, units, recurrent, total):
    model = build_speech_model(unit=unit, units=units)
    assert recurrent_parameters(model) == recurrent
    assert model.count_params() == total
    assert total - recurrent == units * mog_output_size() + mog_output_size()
    out = ops.convert_to_numpy(model(np.zeros((2, 3, 20), "float32")))
    assert out.shape == (2, 3, 420)


def test_registered_mixture_loss_trains_and_evaluates_in_the_shared_trainer():
    from lstm_hist.training import minibatch as MB

    assert "mog_nll" in REGISTERED_LOSSES
    with pytest.raises(UserError, match="mog_nll"):
        MinibatchProtocol(loss="mog_nl")
    protocol = MinibatchProtocol(optimizer="rmsprop", clipnorm=1.0, clipnorm_scope="global", loss="mog_nll",
                                 batch_size=3)
    model = MB.build_model(EXPERIMENTS["speech"], {"unit": "gru", "units": 4, "components": 2}, protocol, 0)
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(3, 6, 20)).astype("float32"), rng.normal(size=(3, 6, 10)).astype("float32")
    weight = np.ones((3, 6), "float32")
    weight[2, 4:] = 0
    loss = float(model.train_on_batch(x, y, sample_weight=weight))
    assert np.isfinite(loss)
    metrics = MB.evaluate_split(model, (x, y, weight), protocol, "test")
    assert metrics["test_steps"] == 16
    assert metrics["test_nll"] == pytest.approx(mog_nll_totals(y, model.predict_on_batch(x), weight)[0] / 16)


@pytest.mark.slow  # a whole protocol run (three compiled graphs): ~30 s on 2 cores, minutes when shared
def test_speech_training_through_the_shared_trainer_lowers_the_nll(wav_dir):
    protocol = MinibatchProtocol(optimizer="rmsprop", learning_rate=3e-3, batch_size=4, epochs=2, clipnorm=1.0,
                                 clipnorm_scope="global", weight_noise=0.075, loss="mog_nll")
    result = protocol.run(experiment=EXPERIMENTS["speech"],
                          task_cfg={"source": "directory", "directory": str(wav_dir), "steps": 30},
                          model_cfg={"unit": "gru", "units": 8, "components": 3}, seed=0)
    assert result.status == "completed"
    assert {"train_nll", "valid_nll", "test_nll", "test_steps"} <= set(result.evaluation)
    history = result.history["loss"]
    assert history[-1] < history[0]
    # Standardised data: a unit Gaussian per sample gives 10·(½ ln 2π + ½) ≈ 14.2 nats per step.
    assert result.evaluation["test_nll"] < 14.2


# ------------------------------------------------------------------------------------------ configs, report


def test_speech_configs_validate_with_table1_sizes_and_ubisoft_numbers_marked_reference_only():
    expected = {"fsdd_lstm": (195, 1.44, 2.70), "fsdd_gru": (227, 2.31, 3.59), "fsdd_tanh": (400, 6.29, 6.44),
                "wavdir_gru": (227, 2.31, 3.59)}
    for stem, (units, train, test) in expected.items():
        _, path, _, cfg = registry.load(f"chung2014/{stem}")
        assert cfg["experiment"] == "speech" and cfg["model"]["units"] == units
        assert cfg["task"]["input_samples"] == 20 and cfg["task"]["output_samples"] == 10
        assert cfg["model"]["components"] == 20 and cfg["protocol"]["loss"] == "mog_nll"
        # the music rows' authors' protocol carried over (docs/deviations.md, Chung speech)
        assert cfg["protocol"]["clipnorm"] is None and cfg["protocol"]["optimizer"] == "rmsprop_momentum"
        assert cfg["protocol"]["lr_candidates"] == 10 and cfg["protocol"]["epochs"] == 500
        assert cfg["model"]["init_range"] == 0.1 and cfg["model"]["recurrent_init"] == "orthogonal"
        # §4's weight noise on every row, on the recurrent weight matrices (docs/deviations.md, Chung speech)
        assert cfg["protocol"]["weight_noise"] == 0.075 and cfg["protocol"]["weight_noise_scope"] == "recurrent"
        assert (cfg["reported"]["train_nll"], cfg["reported"]["test_nll"]) == (train, test)
        assert "Ubisoft A" in cfg["reported"]["reference_only"] and "Ubisoft A" in cfg["table"]
    assert "NEEDS USER DATA" in path.read_text()


def test_report_marks_reference_only_paper_numbers(tmp_path):
    from lstm_hist.report import write_report

    note = registry.load("chung2014/fsdd_gru")[3]["reported"]["reference_only"]  # the table reads the row's config
    record = {"id": "chung2014/fsdd_gru", "paper": "chung2014", "table": "Table 2, speech", "row": "FSDD / GRU",
              "status": "completed", "smoke": False, "metrics": {"test_nll": -1.5},
              "reported": {"reference_only": note, "test_nll": 3.59}, "config": {},
              "trials": [{}], "provenance": {"end": "2026-01-01T00:00:00Z"}}
    records.write_record(tmp_path / "results" / "chung2014" / "fsdd_gru-1.json", record)
    text = write_report(tmp_path / "results", tmp_path / "results.md", plots=False).read_text()
    (row,) = [line for line in text.splitlines() if line.startswith("| FSDD / GRU")]
    assert "| 3.59† | -1.5 |" in row
    assert "reference_only" not in text and f"† Paper column: {note}" in text
    assert json.loads((tmp_path / "results" / "chung2014" / "fsdd_gru-1.json").read_text())["reported"]


@needs_fsdd
def test_fsdd_without_manifest_is_checked_as_one_set(tmp_path):
    """A downloaded copy has no MANIFEST.tsv: the pinned digest over all 3,000 sha256 still catches one bad file."""
    from lstm_hist.data import fsdd

    folder = tmp_path / "fsdd" / "recordings"
    folder.mkdir(parents=True)
    for wav in (SHARED_FSDD[0] / "recordings").iterdir():
        (folder / wav.name).symlink_to(wav)
    assert fsdd.verify_fsdd(tmp_path) == "3000 recordings match the v1.0.10 set sha256"
    (folder / "3_theo_7.wav").unlink()
    data = (SHARED_FSDD[0] / "recordings" / "3_theo_7.wav").read_bytes()
    (folder / "3_theo_7.wav").write_bytes(data[:-2] + b"\x00\x01")
    with pytest.raises(DataError, match="not the v1.0.10 files.*lstm-hist data fetch fsdd"):
        fsdd.list_fsdd(tmp_path)
