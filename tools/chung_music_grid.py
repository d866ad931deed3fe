"""Time grid, lengths, pitch range and tonality of the piano-roll copies the Chung et al. (2014) music rows train on.

Why (docs/deviations.md, Chung section, "Nottingham at the full protocol"): Nottingham GRU is 14 % above the paper
at the full protocol while JSB is within 1 %. Boulanger-Lewandowski et al.'s data page (facts C.1) says the
piano-rolls were made "transposing each sequence in C major or C minor and sampling frames every eighth note
(quarter note for JSB chorales)"; this tool measures what the `.mat` copies in `shared/data` hold, so the copy can be
compared with that description. No CPU to speak of (NumPy counts over the three splits).

Measured per split: pieces, steps, length quantiles, pitch range (MIDI), notes per step; the share of training steps
in long pieces; the run lengths of the top voice (how many frames one melody pitch is held: on an eighth-note grid
most melody notes of reels and jigs last 1 frame, on a sixteenth grid 2) and of the lowest voice (the chord part:
a bar of 4/4 is 8 frames at eighths, of 6/8 6 frames); the most common piece lengths (a 32-bar 4/4 tune at
eighths is 256 frames); and a Krumhansl–Kessler
key estimate per piece (correlation of the pitch-class durations with the major/minor profiles), whose tonic
histogram says whether the pieces were transposed to C major / C minor.

    PYTHONPATH=$PWD python tools/chung_music_grid.py ../shared/data/nottingham/Nottingham.mat \
        --out results/explorations/chung_nottingham/data_grid_nottingham.json
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from json_out import emit  # tools/json_out.py: run as `python tools/<name>.py`

LOWEST_MIDI = 21  # the .mat layout: column j is MIDI note 21 + j (SOURCE.md)
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Krumhansl & Kessler (1982) key profiles, C major and C minor (the standard key-finding weights).
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def load_splits(path: Path) -> dict[str, list[np.ndarray]]:
    from scipy.io import loadmat

    mat = loadmat(str(path))
    return {name: [np.asarray(a, dtype=bool) for a in mat[f"{name}data"][0]] for name in ("train", "valid", "test")}


def top_voice_runs(roll: np.ndarray) -> list[int]:
    """Lengths of the runs of equal highest sounding pitch (empty frames break a run)."""
    top = np.where(roll.any(axis=1), roll.shape[1] - 1 - np.argmax(roll[:, ::-1], axis=1), -1)
    runs, start = [], 0
    for t in range(1, len(top) + 1):
        if t == len(top) or top[t] != top[start]:
            if top[start] >= 0:
                runs.append(t - start)
            start = t
    return runs


def bass_runs(roll: np.ndarray) -> list[int]:
    """Lengths of the runs of equal lowest sounding pitch (the chord/bass part; empty frames break a run)."""
    return top_voice_runs(roll[:, ::-1])


def key_of(roll: np.ndarray) -> str:
    """Krumhansl–Kessler key estimate from the pitch-class durations of the piece."""
    pcs = np.zeros(12)
    counts = roll.sum(axis=0)
    for col, n in enumerate(counts):
        pcs[(col + LOWEST_MIDI) % 12] += n
    best, name = -2.0, ""
    for tonic in range(12):
        for mode, profile in (("major", MAJOR), ("minor", MINOR)):
            r = float(np.corrcoef(pcs, np.roll(profile, tonic))[0, 1])
            if r > best:
                best, name = r, f"{NAMES[tonic]} {mode}"
    return name


def split_summary(rolls: list[np.ndarray]) -> dict:
    lengths = np.array([len(r) for r in rolls])
    active = np.nonzero(np.any([r.any(axis=0) for r in rolls], axis=0))[0]
    steps = int(lengths.sum())
    return {
        "pieces": len(rolls),
        "steps": steps,
        "length_quantiles": {q: int(np.quantile(lengths, float(q))) for q in ("0", "0.1", "0.5", "0.9", "1")},
        "length_mean": float(lengths.mean()),
        "share_of_steps_in_pieces_over_500": float(lengths[lengths > 500].sum() / steps),
        "share_of_steps_in_pieces_over_1000": float(lengths[lengths > 1000].sum() / steps),
        "pitch_range_midi": [int(active.min()) + LOWEST_MIDI, int(active.max()) + LOWEST_MIDI],
        "notes_per_step": float(sum(int(r.sum()) for r in rolls) / steps),
    }


def shares(counter: Counter, total: int, top: int | None = None) -> dict:
    return {str(k): round(v / total, 4) for k, v in counter.most_common(top)}


def measure(path: Path) -> dict:
    splits = load_splits(path)
    out = {"file": str(path), "splits": {name: split_summary(r) for name, r in splits.items()}}
    rolls = [r for name in ("train", "valid", "test") for r in splits[name]]
    runs = Counter(n for r in rolls for n in top_voice_runs(r))
    total_runs = sum(runs.values())
    out["top_voice_run_length_share"] = {str(k): round(runs[k] / total_runs, 4) for k in range(1, 9)}
    bass = Counter(n for r in rolls for n in bass_runs(r))
    out["bass_run_length_share"] = shares(bass, sum(bass.values()), top=8)
    lengths = Counter(len(r) for r in rolls)
    out["most_common_lengths"] = {str(k): v for k, v in lengths.most_common(8)}
    keys = Counter(key_of(r) for r in rolls)
    out["key_estimate_share"] = shares(keys, len(rolls), top=12)
    out["key_estimate_c_major_or_c_minor"] = round((keys["C major"] + keys["C minor"]) / len(rolls), 4)
    tonics = Counter(k.split()[0] for k in keys.elements())
    out["key_estimate_distinct_tonics"] = len(tonics)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mat", type=Path, help="a piano-roll .mat (traindata/validdata/testdata)")
    parser.add_argument("--out", type=Path, help="write the measurements as JSON here")
    args = parser.parse_args(argv)
    if not args.mat.is_file():
        print(f"error: no such file: {args.mat}", file=sys.stderr)
        return 2
    result = measure(args.mat)
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
