"""Free Spoken Digit Dataset (FSDD v1.0.10): a public raw-speech stand-in for Chung et al. 2014's Ubisoft data.

Chung et al. (§4) feed raw 1-D audio, 20 samples in and the next 10 predicted per step; their Ubisoft sets are
not public, so results on FSDD are not comparable with their Table 2. This module only lists and loads the
recordings and applies the official split (README: takes 0–4 of every digit and speaker are test, 5–49 train);
framing into 20-in/10-out steps belongs to the paper module.

When ``MANIFEST.tsv`` (a derived file in shared/data/fsdd) sits beside ``recordings/``, every file's sha256 is
checked against it; otherwise the files are read unverified (upstream publishes no checksums).
"""

from __future__ import annotations

import csv
import dataclasses
import os
from pathlib import Path

import numpy as np

from lstm_hist.data.datasets import FSDD
from lstm_hist.data.resolution import resolve_file, sha256_of
from lstm_hist.errors import DataError

SAMPLE_RATE = 8000
TEST_TAKES = range(0, 5)


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
    path = folder / "MANIFEST.tsv"
    if not path.is_file():
        return {}
    with open(path, newline="") as handle:
        return {row["path"]: row["sha256"] for row in csv.DictReader(handle, delimiter="\t")}


def list_fsdd(
    data_dir: str | os.PathLike | None = None, verify: bool = True, download: bool | None = None
) -> list[Recording]:
    """All 3,000 recordings (digit, speaker, take), resolved like any data file; sha256-checked per MANIFEST."""
    recordings: list[Recording] = []
    manifests: dict[Path, dict[str, str]] = {}
    for data_file in FSDD.files:
        path = resolve_file(FSDD, data_file.name, data_dir=data_dir, download=download)
        folder = path.parents[1]
        if verify:
            if folder not in manifests:
                manifests[folder] = _manifest(folder)
            expected = manifests[folder].get(data_file.name)
            if expected is not None and sha256_of(path) != expected:
                raise DataError(
                    f"FSDD file {path} has the wrong sha256: expected {expected} (MANIFEST.tsv), got {sha256_of(path)}"
                )
        recordings.append(Recording(path, *_parse_name(data_file.name)))
    return recordings


def load_wav(path: str | os.PathLike) -> np.ndarray:
    """Mono 16-bit PCM WAV at 8 kHz → float32 samples in [−1, 1)."""
    import scipy.io.wavfile

    try:
        rate, samples = scipy.io.wavfile.read(str(path))
    except ValueError as exc:
        raise DataError(f"{path} is not a readable WAV file ({exc})") from None
    if rate != SAMPLE_RATE or samples.dtype != np.int16 or samples.ndim != 1:
        raise DataError(
            f"{path}: expected mono int16 at {SAMPLE_RATE} Hz, got {samples.dtype} {samples.shape} at {rate} Hz"
        )
    return samples.astype(np.float32) / 32768.0


def load_fsdd(
    data_dir: str | os.PathLike | None = None, verify: bool = True
) -> dict[str, list[tuple[np.ndarray, int, str]]]:
    """``{"train": [(audio, digit, speaker), ...], "test": [...]}`` with the official split (2,700 / 300)."""
    splits: dict[str, list[tuple[np.ndarray, int, str]]] = {"train": [], "test": []}
    for recording in list_fsdd(data_dir, verify=verify):
        splits[recording.split].append((load_wav(recording.path), recording.digit, recording.speaker))
    return splits
