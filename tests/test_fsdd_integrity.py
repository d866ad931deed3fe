"""FSDD integrity (issue 11): MANIFEST.tsv's own hash is pinned, a mismatch says whether the file or the manifest
is wrong, and a recording taken from another data folder is announced. Uses shared/data/fsdd through symlinks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from lstm_hist.data import fsdd
from lstm_hist.data import resolution as R
from lstm_hist.errors import DataError

SHARED_FSDD = [root / "fsdd" for root in R.shared_data_roots() if (root / "fsdd" / "MANIFEST.tsv").is_file()]
pytestmark = pytest.mark.skipif(not SHARED_FSDD, reason="shared/data/fsdd is not beside this checkout")


def linked_copy(tmp_path: Path, manifest: bool = True) -> Path:
    """``tmp_path/fsdd`` with every recording (and the manifest) as a symlink to the shared copy."""
    source, folder = SHARED_FSDD[0], tmp_path / "fsdd"
    (folder / "recordings").mkdir(parents=True)
    for wav in (source / "recordings").iterdir():
        (folder / "recordings" / wav.name).symlink_to(wav)
    if manifest:
        (folder / "MANIFEST.tsv").symlink_to(source / "MANIFEST.tsv")
    return folder


def swap(folder: Path, name: str, other: str) -> bytes:
    """Replace recording ``name`` by the bytes of ``other`` (a real WAV, just the wrong one)."""
    data = (SHARED_FSDD[0] / "recordings" / other).read_bytes()
    (folder / "recordings" / name).unlink()
    (folder / "recordings" / name).write_bytes(data)
    return data


def edited_manifest(folder: Path, name: str, sha256: str) -> None:
    lines = (SHARED_FSDD[0] / "MANIFEST.tsv").read_text().splitlines()
    for i, line in enumerate(lines):
        fields = line.split("\t")
        if fields[0] == f"recordings/{name}":
            fields[2] = sha256
            lines[i] = "\t".join(fields)
    (folder / "MANIFEST.tsv").unlink()
    (folder / "MANIFEST.tsv").write_text("\n".join(lines) + "\n")


def test_the_pinned_manifest_hash_is_the_shared_manifests():
    assert hashlib.sha256((SHARED_FSDD[0] / "MANIFEST.tsv").read_bytes()).hexdigest() == fsdd.FSDD_MANIFEST_SHA256
    assert len(fsdd.list_fsdd(SHARED_FSDD[0].parent)) == 3000


def test_swapped_wav_with_a_matching_manifest_edit_is_caught_as_a_wrong_manifest(tmp_path):
    folder = linked_copy(tmp_path)
    data = swap(folder, "3_theo_7.wav", "3_theo_8.wav")
    edited_manifest(folder, "3_theo_7.wav", hashlib.sha256(data).hexdigest())
    with pytest.raises(DataError, match="MANIFEST.tsv is not the v1.0.10 manifest.*the manifest is wrong"):
        fsdd.list_fsdd(tmp_path)


def test_a_wrong_manifest_line_blames_the_manifest_not_the_good_file(tmp_path):
    folder = linked_copy(tmp_path)
    edited_manifest(folder, "0_george_0.wav", "0" * 64)
    with pytest.raises(DataError, match="the manifest is wrong") as info:
        fsdd.list_fsdd(tmp_path)
    assert "0_george_0.wav" not in str(info.value) and "data fetch" not in str(info.value)  # the good file stays


def test_a_swapped_wav_under_the_pinned_manifest_blames_the_file(tmp_path):
    folder = linked_copy(tmp_path)
    swap(folder, "3_theo_7.wav", "3_theo_8.wav")
    with pytest.raises(DataError, match=r"3_theo_7.wav is not the v1.0.10 recording.*the file is wrong, the "
                                        r"manifest is intact"):
        fsdd.list_fsdd(tmp_path)


def test_recordings_taken_from_another_folder_are_announced(tmp_path, capsys):
    folder = linked_copy(tmp_path, manifest=False)
    for name in ("0_george_0.wav", "9_yweweler_49.wav"):
        (folder / "recordings" / name).unlink()
    recordings = fsdd.list_fsdd(tmp_path)  # verified against the shared (pinned) manifest
    taken = [r.path for r in recordings if folder not in r.path.parents]
    assert [p.name for p in taken] == ["0_george_0.wav", "9_yweweler_49.wav"]
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: fsdd:")]
    assert len(notes) == 1  # once per pair of folders, not once per file
    assert "recordings/0_george_0.wav is not in" in notes[0] and str(folder) in notes[0]
    assert str(taken[0].parents[1]) in notes[0]
