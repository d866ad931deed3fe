"""Raw audio for next-samples prediction: read WAV files, list a directory of them, cut streams into frames.

Chung et al. (2014, §4, speech) feed raw 1-D audio: "at each time step, the RNN sees 20 consecutive samples and
predicts the next 10". :func:`frame_stream` makes exactly those (input, target) pairs from one long stream of
samples, with a stride of ``output_samples`` (the 10 targets of step t are the 10 samples after step t − 1's), and
cuts them into sequences of ``steps`` time steps. How streams are made (FSDD: one per speaker, recordings
concatenated) is the paper module's business (``reproductions.chung2014.speech``).

Plain NumPy/SciPy; no Keras or TensorFlow here.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from lstm_hist.errors import DataError

WAV_SUFFIXES = (".wav", ".WAV")


def read_wav(path: str | os.PathLike, sample_rate: int | None = None) -> tuple[int, np.ndarray]:
    """``(rate, samples)`` of a mono PCM/float WAV file; samples float32 in [−1, 1) (int16 / 32768 etc.).

    sample_rate: if given, a file at another rate is a DataError (we never resample silently).
    """
    import scipy.io.wavfile

    path = Path(path)
    if not path.is_file():
        raise DataError(f"WAV file {path} is missing; restore it (or remove it from the data folder)")
    try:
        rate, samples = scipy.io.wavfile.read(str(path))
    except (ValueError, EOFError, OSError) as exc:
        # NIST SPHERE files (e.g. original TIMIT) also end in .wav but are not RIFF.
        raise DataError(f"{path} is not a readable RIFF WAV file ({exc}); re-download it, or convert it to "
                        "PCM WAV (e.g. `sox in.wav -t wav out.wav`)") from None
    if samples.ndim != 1:
        raise DataError(f"{path}: expected mono audio, got {samples.shape[1]} channels; "
                        "convert it to mono (e.g. `sox in.wav -c 1 out.wav`)")
    if sample_rate is not None and rate != sample_rate:
        raise DataError(f"{path}: sample rate {rate} Hz, expected {sample_rate} Hz; resample the file "
                        f"(e.g. `sox in.wav -r {sample_rate} out.wav`) or set task.sample_rate")
    if samples.dtype == np.int16:
        audio = samples.astype(np.float32) / 32768.0
    elif samples.dtype == np.int32:
        audio = (samples.astype(np.float64) / 2.0**31).astype(np.float32)
    elif samples.dtype == np.uint8:
        audio = (samples.astype(np.float32) - 128.0) / 128.0
    elif samples.dtype in (np.float32, np.float64):
        audio = samples.astype(np.float32)
    else:
        raise DataError(f"{path}: unsupported sample type {samples.dtype}; convert it to 16-bit PCM")
    if len(audio) == 0:
        raise DataError(f"{path} holds no samples; remove it from the data folder")
    return int(rate), audio


def list_wav_dir(directory: str | os.PathLike) -> list[Path]:
    """Every ``*.wav`` under ``directory`` (recursively), sorted by relative path; a DataError if none."""
    root = Path(directory).expanduser()
    if not root.is_dir():
        raise DataError(f"audio directory {root} does not exist; set task.directory to a folder of WAV files")
    paths = sorted((p for p in root.rglob("*") if p.suffix in WAV_SUFFIXES and p.is_file()),
                   key=lambda p: p.relative_to(root).as_posix())
    if not paths:
        raise DataError(f"no .wav files under {root}; set task.directory to a folder of WAV files")
    return paths


def stable_fraction(key: str) -> float:
    """A number in [0, 1) fixed by ``key`` (sha256), so a file's split never depends on which other files exist."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2.0**64


def frame_stream(
    stream: np.ndarray, input_samples: int = 20, output_samples: int = 10, steps: int = 500
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut one 1-D stream into sequences of next-samples steps: ``(x, y, weight)``.

    Step t of the stream reads the ``input_samples`` samples that precede its ``output_samples`` targets; targets
    are consecutive, non-overlapping blocks (stride ``output_samples``). The first target block starts at sample
    ``input_samples`` (the opening samples are only ever inputs: no zero-padded context). Steps are grouped into
    sequences of ``steps``; the last, shorter sequence is zero-padded with weight 0, and an incomplete final
    block of fewer than ``output_samples`` samples is dropped.

    Returns x (n, steps, input_samples), y (n, steps, output_samples), weight (n, steps), all float32.
    """
    if min(input_samples, output_samples, steps) < 1:
        raise ValueError(f"input_samples, output_samples and steps must be >= 1, got "
                         f"{input_samples}, {output_samples}, {steps}")
    stream = np.asarray(stream, np.float32)
    total = (len(stream) - input_samples) // output_samples  # complete target blocks
    if total < 1:
        empty = np.zeros((0, steps), np.float32)
        return (np.zeros((0, steps, input_samples), np.float32), np.zeros((0, steps, output_samples), np.float32),
                empty)
    starts = input_samples + output_samples * np.arange(total)  # first target sample of each step
    x = stream[starts[:, None] - input_samples + np.arange(input_samples)]
    y = stream[starts[:, None] + np.arange(output_samples)]
    n = -(-total // steps)
    pad = n * steps - total
    x = np.concatenate([x, np.zeros((pad, input_samples), np.float32)]).reshape(n, steps, input_samples)
    y = np.concatenate([y, np.zeros((pad, output_samples), np.float32)]).reshape(n, steps, output_samples)
    weight = np.concatenate([np.ones(total, np.float32), np.zeros(pad, np.float32)]).reshape(n, steps)
    return x, y, weight


def frame_streams(
    streams: list[np.ndarray], input_samples: int = 20, output_samples: int = 10, steps: int = 500
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`frame_stream` of every stream, stacked (a sequence never spans two streams)."""
    parts = [frame_stream(s, input_samples, output_samples, steps) for s in streams]
    parts = [p for p in parts if len(p[0])]
    if not parts:
        raise DataError(f"no stream is longer than {input_samples + output_samples} samples; nothing to frame")
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))  # type: ignore[return-value]
