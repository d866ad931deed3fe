"""Free Spoken Digit Dataset (FSDD v1.0.10): a public raw-speech stand-in for Chung et al. 2014's Ubisoft data.

Chung et al. (§4) feed raw 1-D audio, 20 samples in and the next 10 predicted per step; their Ubisoft sets are
not public, so results on FSDD are not comparable with their Table 2. This module only lists and loads the
recordings and applies the official split (README: takes 0–4 of every digit and speaker are test, 5–49 train);
framing into 20-in/10-out steps belongs to the paper module.

When ``MANIFEST.tsv`` (a derived file in shared/data/fsdd) sits beside ``recordings/``, its own sha256 is checked
against :data:`FSDD_MANIFEST_SHA256` first (a manifest edited to match a swapped file would otherwise vouch for it,
and a wrong manifest line would blame a good file), then every file's sha256 against it. Otherwise (e.g. the 3,000 files downloaded one by one from the v1.0.10 tag into the cache) the
whole set is checked against :data:`FSDD_SET_SHA256`, one digest over every file's sha256 (upstream publishes no
checksums; ours pins the bytes of v1.0.10).

A second source is TFDS's ``spoken_digit`` (:func:`load_fsdd_tfds`). Its version 1.0.9 is an *older* FSDD release
(2,500 recordings, 5 speakers, per the TFDS catalogue), so it is a subset of v1.0.10, not the same data; the take
index is read from each example's file name, so the official split rule is the same.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np

from lstm_hist.data.audio import read_wav
from lstm_hist.data.datasets import FSDD, FSDD_SPEAKERS
from lstm_hist.data.resolution import resolve_file, sha256_of
from lstm_hist.errors import DataError

SAMPLE_RATE = 8000
TEST_TAKES = range(0, 5)
# sha256 of the lines "recordings/<name>.wav<TAB><sha256 of the file>\n", sorted by name, over all 3,000 files of
# v1.0.10 (computed from shared/data/fsdd/MANIFEST.tsv; see fsdd_set_digest).
FSDD_SET_SHA256 = "6a1aafacf40d8a7aeda379f079a39ca7e165fe03f4ed5d63a2ab25f3a8420685"
# sha256 of shared/data/fsdd/MANIFEST.tsv itself (3,001 lines: a header, then path, bytes, sha256, digit, speaker,
# index, official_split, frames, seconds per recording).
FSDD_MANIFEST_SHA256 = "c91154d4af7d655c4ab53b5d59b1f7be401591c5e1958c673392e4a474a96c7d"


@dataclasses.dataclass(frozen=True)
class Recording:
    path: Path
    digit: int
    speaker: str
    index: int

    @property
    def split(self) -> str:
        return fsdd_split(self.index)


def fsdd_split(index: int) -> str:
    """Official FSDD split: take index 0–4 → ``"test"``, 5–49 → ``"train"``."""
    return "test" if index in TEST_TAKES else "train"


def _parse_name(name: str) -> tuple[int, str, int]:
    digit, speaker, index = Path(name).stem.split("_")
    return int(digit), speaker, int(index)


def _manifest(folder: Path) -> dict[str, str]:
    """``{"recordings/x.wav": sha256}`` from ``folder/MANIFEST.tsv``, empty without one; DataError when the
    manifest is not the pinned one (then the manifest is what is wrong, whatever the recordings are)."""
    path = folder / "MANIFEST.tsv"
    if not path.is_file():
        return {}
    actual = sha256_of(path)
    if actual != FSDD_MANIFEST_SHA256:
        raise DataError(
            f"FSDD manifest {path} is not the v1.0.10 manifest (sha256 {actual}, pinned {FSDD_MANIFEST_SHA256}): "
            "the manifest is wrong, not necessarily the recordings; restore MANIFEST.tsv, or delete it to have the "
            "recordings checked as one set against the pinned set digest"
        )
    with open(path, newline="") as handle:
        return {row["path"]: row["sha256"] for row in csv.DictReader(handle, delimiter="\t")}


def fsdd_set_digest(hashes: dict[str, str]) -> str:
    """One sha256 over ``{"recordings/x.wav": sha256}``: what :data:`FSDD_SET_SHA256` pins."""
    text = "".join(f"{name}\t{hashes[name]}\n" for name in sorted(hashes))
    return hashlib.sha256(text.encode()).hexdigest()


def list_fsdd(
    data_dir: str | os.PathLike | None = None, verify: bool = True, download: bool | None = None
) -> list[Recording]:
    """All 3,000 recordings (digit, speaker, take), resolved like any data file.

    verify: check every file against the pinned MANIFEST.tsv where one sits beside any ``recordings/`` folder
    used (a pinned manifest vouches for files from every folder, so a wrong one is named), else all files together
    against :data:`FSDD_SET_SHA256` (a mismatch then asks to delete and re-fetch the set).
    """
    recordings = [Recording(resolve_file(FSDD, f.name, data_dir=data_dir, download=download), *_parse_name(f.name))
                  for f in FSDD.files]
    if verify:
        _verify(recordings)
    return recordings


def _verify(recordings: list[Recording]) -> None:
    manifest: dict[str, str] = {}
    for folder in dict.fromkeys(r.path.parents[1] for r in recordings):
        manifest = manifest or _manifest(folder)  # the first one present, once checked against the pin
    hashes = {f"recordings/{r.path.name}": sha256_of(r.path) for r in recordings}
    if manifest:
        for recording in recordings:
            name = f"recordings/{recording.path.name}"
            if hashes[name] != manifest.get(name):
                raise DataError(
                    f"FSDD file {recording.path} is not the v1.0.10 recording (sha256 {hashes[name]}, the pinned "
                    f"MANIFEST.tsv says {manifest.get(name)}): the file is wrong, the manifest is intact; delete it "
                    "and run `lstm-hist data fetch fsdd`"
                )
    elif fsdd_set_digest(hashes) != FSDD_SET_SHA256:
        folders = sorted({str(r.path.parent) for r in recordings})
        raise DataError(f"the FSDD recordings in {', '.join(folders)} are not the v1.0.10 files (set sha256 "
                        f"mismatch); delete them and run `lstm-hist data fetch fsdd`")


def load_wav(path: str | os.PathLike) -> np.ndarray:
    """Mono 16-bit PCM WAV at 8 kHz → float32 samples in [−1, 1) (int16 / 32768)."""
    return read_wav(path, sample_rate=SAMPLE_RATE)[1]


def load_fsdd(
    data_dir: str | os.PathLike | None = None, verify: bool = True
) -> dict[str, list[tuple[np.ndarray, int, str]]]:
    """``{"train": [(audio, digit, speaker), ...], "test": [...]}`` with the official split (2,700 / 300)."""
    splits: dict[str, list[tuple[np.ndarray, int, str]]] = {"train": [], "test": []}
    for recording in list_fsdd(data_dir, verify=verify):
        splits[recording.split].append((load_wav(recording.path), recording.digit, recording.speaker))
    return splits


def load_fsdd_tfds(data_dir: str | os.PathLike | None = None) -> dict[str, list[tuple[np.ndarray, int, str, int]]]:
    """FSDD through TFDS ``spoken_digit`` (downloads on first use): ``{"train"|"test": [(audio, digit, speaker,
    take), ...]}`` with the official split, audio int16 / 32768, sorted like :func:`list_fsdd`.

    TFDS ships the recordings as one "train" split; each example's ``audio/filename`` gives the take index.
    TFDS 1.0.9 holds an older release (2,500 recordings, 5 speakers): results differ from ``list_fsdd``'s 3,000.
    """
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise DataError("source 'tfds' needs tensorflow-datasets (`pip install tensorflow-datasets`); or use "
                        "source 'fsdd'") from None
    try:
        examples = tfds.as_numpy(tfds.load("spoken_digit", split="train", data_dir=data_dir))
        rows = []
        for example in examples:
            name = Path(example["audio/filename"].decode()).name
            digit, speaker, index = _parse_name(name)
            rows.append((name, np.asarray(example["audio"]).astype(np.float32) / 32768.0, digit, speaker, index))
    except Exception as exc:  # offline, a broken download, a TFDS version without spoken_digit
        raise DataError(f"TFDS spoken_digit could not be loaded ({type(exc).__name__}: {exc}); use source 'fsdd' "
                        "(shared data or `lstm-hist data fetch fsdd`)") from None
    rows.sort(key=lambda row: (row[2], FSDD_SPEAKERS.index(row[3]) if row[3] in FSDD_SPEAKERS else 99, row[4]))
    splits: dict[str, list[tuple[np.ndarray, int, str, int]]] = {"train": [], "test": []}
    for _, audio, digit, speaker, index in rows:
        splits[fsdd_split(index)].append((audio, digit, speaker, index))
    return splits


def verify_fsdd(data_dir: str | os.PathLike | None = None) -> str:
    """``lstm-hist data verify fsdd``: every file against MANIFEST.tsv, or the whole set against FSDD_SET_SHA256."""
    recordings = list_fsdd(data_dir, verify=True, download=False)
    folders = {r.path.parents[1] for r in recordings}
    how = "MANIFEST.tsv" if all((f / "MANIFEST.tsv").is_file() for f in folders) else "the v1.0.10 set sha256"
    return f"{len(recordings)} recordings match {how}"


def fsdd_stats(data_dir: str | os.PathLike | None = None) -> list[tuple[str, object, object]]:
    """``lstm-hist data stats fsdd``: counts and durations beside Chung et al.'s Ubisoft A (a different data set)."""
    recordings = list_fsdd(data_dir)
    lengths = np.array([len(load_wav(r.path)) for r in recordings])
    test = np.array([r.split == "test" for r in recordings])
    return [
        ("recordings (train / test)", f"{int((~test).sum())} / {int(test.sum())}", None),
        ("speakers", len({r.speaker for r in recordings}), None),
        ("sample rate (Hz)", SAMPLE_RATE, None),
        ("total seconds", round(float(lengths.sum()) / SAMPLE_RATE, 2), None),
        ("mean seconds per recording", round(float(lengths.mean()) / SAMPLE_RATE, 3), None),
        ("10-sample steps per recording (mean)", round(float(lengths.mean()) / 10, 1),
         "Ubisoft A: 500 per sequence"),
        ("train steps of 10 samples", int(lengths[~test].sum()) // 10, None),
    ]
