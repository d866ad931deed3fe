"""Polyphonic-music piano rolls (Boulanger-Lewandowski et al. 2012 splits), as used by Chung et al. 2014 §4.

Each data set has three splits (train / valid / test); a sequence is a binary (T, D) float32 array, one row
per time step (quarter note for JSB, eighth note otherwise), a 1 where a note sounds.

Column layouts (``dim``):

* ``dim=None`` or ``88`` — the BL 2012 keyboard: column j is MIDI note 21 + j (A0 .. C8). This is the layout
  of the TCN ``.mat`` files (verified against the czhuang JSB pickle, see tests/test_data.py).
* ``dim="chung"`` — the sizes Chung et al. print in §4 ("93-, 96-, 105-, and 108-dimensional"):
  Nottingham 93, JSB 96, MuseData 105, Piano-midi 108, i.e. the highest MIDI note of the set.
* any other int D — the layout of the authors' code (jych/librnn ``pylearn2/datasets/music.py``, which sets
  ``y[i-1] = 1`` for MIDI note i): column j is MIDI note j + 1, so D must be at least the highest note.
  ``dim="chung"`` is this layout with the paper's D. The leading always-zero columns change parameter counts
  only (shared/papers/cho2014_chung2014.md B.2, B.3).

Loading validates the structure (three splits, 2-D 0/1 rolls, 88 keys, notes inside the chosen layout) and
raises :class:`~lstm_hist.errors.DataError` on anything else.
"""

from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from lstm_hist.data.resolution import resolve_file
from lstm_hist.data.safe_load import load_mat, safe_pickle_load
from lstm_hist.errors import DataError

SPLITS = ("train", "valid", "test")
LOWEST_KEY = 21  # MIDI A0, column 0 of the 88-key layout
KEYS = 88
MAT_FILES = {
    "jsb_chorales": "JSB_Chorales.mat",
    "nottingham": "Nottingham.mat",
    "piano_midi": "Piano_midi.mat",
    "muse_data": "MuseData.mat",
}
# Chung et al. 2014 §4: input/output sizes per data set (= highest MIDI note; librnn max_label).
CHUNG_DIMS = {"nottingham": 93, "jsb_chorales": 96, "muse_data": 105, "piano_midi": 108}
_MAT_KEYS = {"train": "traindata", "valid": "validdata", "test": "testdata"}


def _check_roll(roll: np.ndarray, where: str) -> None:
    if roll.ndim != 2 or roll.shape[1] != KEYS or roll.shape[0] == 0:
        raise DataError(f"{where}: expected a non-empty (T, {KEYS}) piano roll, got shape {roll.shape}")
    if not np.isin(roll, (0, 1)).all():
        raise DataError(f"{where}: piano roll holds values other than 0 and 1")


def _to_layout(roll88: np.ndarray, dim: int, where: str) -> np.ndarray:
    """Re-index an 88-key roll into the librnn layout of width ``dim`` (column j = MIDI j + 1)."""
    if dim == KEYS:
        return roll88
    offset = LOWEST_KEY - 1  # MIDI 21 goes to column 20
    used = np.nonzero(roll88.any(axis=0))[0]
    if used.size and used[-1] + offset >= dim:
        note = used[-1] + LOWEST_KEY
        raise DataError(f"{where}: MIDI note {note} does not fit in dim={dim} (the librnn layout needs dim >= {note})")
    out = np.zeros((roll88.shape[0], dim), np.float32)
    width = min(KEYS, dim - offset)
    out[:, offset : offset + width] = roll88[:, :width]
    return out


def _resolve_dim(name: str, dim: int | str | None) -> int:
    if dim is None:
        return KEYS
    if dim == "chung":
        if name not in CHUNG_DIMS:
            raise DataError(f"dim='chung' is defined only for {sorted(CHUNG_DIMS)}, not {name!r}")
        return CHUNG_DIMS[name]
    if isinstance(dim, int) and not isinstance(dim, bool) and dim >= LOWEST_KEY:
        return dim
    raise DataError(f"dim must be None, 88, 'chung' or an int >= {LOWEST_KEY}, got {dim!r}")


def rolls_from_mat(path: str | os.PathLike) -> dict[str, list[np.ndarray]]:
    """The three splits of a TCN-style .mat file as 88-key float32 rolls (validated)."""
    contents = load_mat(path)
    splits: dict[str, list[np.ndarray]] = {}
    for split, key in _MAT_KEYS.items():
        if key not in contents:
            raise DataError(f"{path}: missing {key!r} (found {sorted(contents)}); not a piano-roll .mat file")
        cells = np.asarray(contents[key])
        if cells.dtype != object or cells.ndim != 2 or cells.shape[0] != 1 or cells.shape[1] == 0:
            raise DataError(f"{path}: {key!r} should be a (1, n) cell array, got {cells.dtype} {cells.shape}")
        rolls = []
        for index, cell in enumerate(cells[0]):
            roll = np.asarray(cell)
            _check_roll(roll, f"{path} {key}[{index}]")
            rolls.append(roll.astype(np.float32))
        splits[split] = rolls
    return splits


def rolls_from_note_lists(
    sequences: Iterable[Iterable[Iterable[int]]], where: str = "note lists"
) -> list[np.ndarray]:
    """BL 2012 pickle format (a sequence is a list of steps, a step the MIDI notes sounding) → 88-key rolls."""
    rolls = []
    for index, sequence in enumerate(sequences):
        steps = [list(step) for step in sequence]
        roll = np.zeros((len(steps), KEYS), np.float32)
        for t, notes in enumerate(steps):
            for note in notes:
                note = int(note)
                if not LOWEST_KEY <= note < LOWEST_KEY + KEYS:
                    raise DataError(f"{where}[{index}] step {t}: MIDI note {note} outside 21..108")
                roll[t, note - LOWEST_KEY] = 1.0
        _check_roll(roll, f"{where}[{index}]")
        rolls.append(roll)
    return rolls


def load_jsb_pickle(data_dir: str | os.PathLike | None = None) -> dict[str, list[np.ndarray]]:
    """JSB Chorales from the original-format pickle (czhuang copy), safely unpickled, as 88-key rolls."""
    path = resolve_file("jsb_chorales", "jsb-chorales-quarter.pkl", data_dir=data_dir)
    contents = safe_pickle_load(path)
    if not isinstance(contents, dict) or set(contents) != set(SPLITS):
        raise DataError(f"{path}: expected a dict with keys {SPLITS}")
    return {split: rolls_from_note_lists(contents[split], f"{path} {split}") for split in SPLITS}


def load_piano_roll(
    name: str,
    data_dir: str | os.PathLike | None = None,
    dim: int | str | None = None,
    download: bool | None = None,
) -> dict[str, list[np.ndarray]]:
    """``{"train"|"valid"|"test": [roll (T, D) float32, ...]}`` for one of :data:`MAT_FILES`.

    name: ``jsb_chorales``, ``nottingham``, ``piano_midi`` or ``muse_data`` (the latter needs
    ``download=True`` or a local copy: licence, see ``lstm_hist.data.datasets.MUSE_DATA``).
    dim: column layout, see the module docstring.
    """
    if name not in MAT_FILES:
        raise DataError(f"no piano-roll data set {name!r}; known: {', '.join(sorted(MAT_FILES))}")
    width = _resolve_dim(name, dim)
    path = resolve_file(name, MAT_FILES[name], data_dir=data_dir, download=download)
    splits = rolls_from_mat(path)
    return {
        split: [_to_layout(roll, width, f"{path} {split}[{i}]") for i, roll in enumerate(rolls)]
        for split, rolls in splits.items()
    }


def note_range(splits: dict[str, list[np.ndarray]], lowest_midi: int = LOWEST_KEY) -> tuple[int, int]:
    """(lowest, highest) MIDI note sounding anywhere, for rolls whose column 0 is ``lowest_midi``."""
    used = np.zeros(splits["train"][0].shape[1], bool)
    for rolls in splits.values():
        for roll in rolls:
            used |= roll.any(axis=0)
    columns = np.nonzero(used)[0]
    return int(columns[0]) + lowest_midi, int(columns[-1]) + lowest_midi
