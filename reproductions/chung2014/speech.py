"""Chung et al. (2014, §4) raw-speech rows, on public recordings instead of the non-public Ubisoft A/B sets.

The paper (facts B.2): one-dimensional raw audio; "at each time step, the RNN sees 20 consecutive samples and
predicts the next 10"; Ubisoft A has 7,230 sequences of 500 steps; the output is a mixture of 20 Gaussians
(:mod:`reproductions.chung2014.mog`). Splits and normalisation are not stated. Our choices (docs/deviations.md,
"Chung 2014 speech"):

* **Data.** FSDD v1.0.10 (3,000 digit recordings, 6 speakers, 8 kHz; ``source: fsdd``; ``source: tfds`` reads TFDS
  ``spoken_digit`` 1.0.9, an older release of 2,500), or any folder of mono WAVs the user owns (``source: directory``).
* **Split.** FSDD's official one: takes 0–4 test. Validation is carved from the official train part *by take*:
  takes 5–9 (``valid_takes``) validate, 10–49 train (2,400 / 300 / 300 recordings; every speaker and digit in every
  split, like the official split). A directory is split per file by a hash of its relative path
  (``valid_share``, ``test_share``), so a file's split does not depend on the other files.
* **Streams.** A recording is ~350 steps of 10 samples (mean 0.437 s), shorter than Ubisoft A's 500. The
  recordings of one speaker (FSDD) or one folder (directory) in one split are concatenated in file order into one
  stream, which :func:`lstm_hist.data.audio.frame_stream` cuts into 500-step sequences (last one padded, weight 0).
  A sequence starts with a fresh zero state; only its first 20 samples are inputs without being targets.
* **Normalisation.** Samples int16 / 32768, then minus the training split's mean and divided by its standard
  deviation (one scalar each, ``normalise: standardise``); NLLs are densities of these normalised samples.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

import numpy as np

from lstm_hist.data.audio import frame_streams, list_wav_dir, read_wav, stable_fraction
from lstm_hist.errors import DataError

SPLITS = ("train", "valid", "test")


def fsdd_streams(
    source: str = "fsdd", valid_takes: tuple[int, ...] = (5, 6, 7, 8, 9), data_dir: str | None = None,
    download: bool = False,
) -> dict[str, list[np.ndarray]]:
    """``{split: [one stream per speaker]}`` from FSDD (official test takes 0–4, ``valid_takes`` from train)."""
    from lstm_hist.data import fsdd

    if set(valid_takes) & set(fsdd.TEST_TAKES):
        raise DataError(f"valid_takes {list(valid_takes)} overlap FSDD's official test takes 0-4")
    items: list[tuple[np.ndarray, str, int]] = []
    if source == "tfds":
        for part in fsdd.load_fsdd_tfds(data_dir).values():
            items += [(audio, speaker, index) for audio, _, speaker, index in part]
    else:
        for recording in fsdd.list_fsdd(data_dir, download=True if download else None):
            items.append((fsdd.load_wav(recording.path), recording.speaker, recording.index))
    grouped: dict[str, dict[str, list[np.ndarray]]] = {s: defaultdict(list) for s in SPLITS}
    for audio, speaker, index in items:
        split = "test" if index in fsdd.TEST_TAKES else "valid" if index in valid_takes else "train"
        grouped[split][speaker].append(audio)
    return {split: [np.concatenate(parts) for _, parts in sorted(grouped[split].items())] for split in SPLITS}


def directory_streams(
    directory: str, sample_rate: int | None = None, valid_share: float = 0.1, test_share: float = 0.1
) -> tuple[dict[str, list[np.ndarray]], int]:
    """``({split: [one stream per folder]}, rate)`` from every WAV under ``directory``; split by path hash."""
    if not (0 <= valid_share and 0 <= test_share and valid_share + test_share < 1):
        raise DataError(f"valid_share + test_share must be in [0, 1), got {valid_share} + {test_share}")
    from pathlib import Path

    root = Path(directory).expanduser()
    grouped: dict[str, dict[str, list[np.ndarray]]] = {s: defaultdict(list) for s in SPLITS}
    rate = sample_rate
    for path in list_wav_dir(root):
        relative = path.relative_to(root).as_posix()
        file_rate, audio = read_wav(path, sample_rate=rate)
        rate = file_rate  # the first file fixes the rate when none is configured
        u = stable_fraction(relative)
        split = "test" if u < test_share else "valid" if u < test_share + valid_share else "train"
        grouped[split][path.parent.relative_to(root).as_posix()].append(audio)
    return {split: [np.concatenate(parts) for _, parts in sorted(grouped[split].items())] for split in SPLITS}, rate


def speech_task(
    source: Literal["fsdd", "tfds", "directory"] = "fsdd",
    directory: str | None = None,
    sample_rate: int | None = None,
    input_samples: int = 20,
    output_samples: int = 10,
    steps: int = 500,
    valid_takes: tuple[int, ...] = (5, 6, 7, 8, 9),
    valid_share: float = 0.1,
    test_share: float = 0.1,
    normalise: Literal["standardise", "none"] = "standardise",
    max_sequences: int | None = None,
    download: bool = False,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``{"train"|"valid"|"test": (x (n, steps, input_samples), y (n, steps, output_samples), weight (n, steps))}``.

    source: "fsdd" (shared data / cache / per-file download from the v1.0.10 tag with ``download: true``),
        "tfds" (TFDS ``spoken_digit`` 1.0.9, an older FSDD release of 2,500 recordings) or "directory" (every WAV
        under ``directory``).
    directory: the folder for source "directory" (recursive; one stream per sub-folder, e.g. per speaker).
    sample_rate: for "directory", the rate every file must have (null: the first file's). FSDD is 8 kHz.
    input_samples, output_samples: samples read / predicted per step (§4: 20 and 10); stride = output_samples.
    steps: time steps per sequence (Ubisoft A: 500).
    valid_takes: FSDD takes that validate (carved from the official train takes 5–49).
    valid_share, test_share: for "directory", the expected shares of files in valid and test.
    normalise: "standardise" (minus the training mean, over the training std) or "none" (int16 / 32768 only).
    max_sequences: keep the first sequences of each split (smoke runs; null = all).
    download: allow fetching FSDD from its canonical URLs when no local copy is found.
    """
    if source == "directory":
        if not directory:
            raise DataError("task.source is 'directory' but task.directory is not set; give a folder of WAV files")
        streams, _ = directory_streams(directory, sample_rate, valid_share, test_share)
    else:
        if directory:
            raise DataError(f"task.directory is only used with source 'directory' (source is {source!r})")
        streams = fsdd_streams(source, tuple(valid_takes), download=download)
    for split in SPLITS:
        if not streams[split]:
            raise DataError(f"speech data: the {split} split has no recordings; add files or change the shares")
    if normalise == "standardise":
        train = np.concatenate(streams["train"]).astype(np.float64)
        mean, std = float(train.mean()), float(train.std())
        if not std > 0:
            raise DataError("speech data: the training audio is constant (std 0); check the files")
        streams = {split: [((s - mean) / std).astype(np.float32) for s in parts] for split, parts in streams.items()}
    out = {}
    for split in SPLITS:
        x, y, weight = frame_streams(streams[split], input_samples, output_samples, steps)
        if max_sequences:
            x, y, weight = x[:max_sequences], y[:max_sequences], weight[:max_sequences]
        out[split] = (x, y, weight)
    return out
