"""Declarative description of a data set: its files, where they come from, how to cite it.

A :class:`DatasetSpec` holds no code that touches the disk or the network; ``lstm_hist.data.resolution`` finds
or fetches its files and ``lstm_hist.data.<parser module>`` reads them.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class DataFile:
    """One file of a data set.

    name:   path relative to the data set's folder, e.g. ``"brown.zip"`` or ``"recordings/0_george_0.wav"``.
    url:    canonical download URL (``None``: no public source we may fetch from).
    sha256: expected hex digest; ``None`` means "not pinned" (only for files whose checksum comes from a
            manifest that may be absent, see FSDD).
    size:   expected size in bytes, or ``None``.
    """

    name: str
    url: str | None
    sha256: str | None
    size: int | None = None


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """A data set: canonical files with checksums, citation, licence and which parser reads it.

    auto_download: whether resolution may fetch missing files without being asked. ``False`` for data sets
    whose licence forbids redistribution (MuseData): they are fetched only when the caller passes
    ``download=True`` after reading ``licence``.
    total_size: bytes of all files, for data sets whose files carry no ``size`` each (FSDD's 3,000 WAVs);
    ``None``: the sum of the files' sizes.
    """

    name: str
    files: tuple[DataFile, ...]
    citation: str
    licence: str
    parser: str
    description: str = ""
    auto_download: bool = True
    total_size: int | None = None

    def size(self) -> int | None:
        """Bytes of all files, or None when some file's size is not pinned (and no total is)."""
        if self.total_size is not None:
            return self.total_size
        sizes = [f.size for f in self.files]
        return None if any(s is None for s in sizes) else sum(sizes)

    def file(self, name: str) -> DataFile:
        for data_file in self.files:
            if data_file.name == name:
                return data_file
        known = ", ".join(f.name for f in self.files[:5])
        raise KeyError(f"data set {self.name!r} has no file {name!r} (files: {known}, ...)")
