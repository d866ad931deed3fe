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
    """

    name: str
    files: tuple[DataFile, ...]
    citation: str
    licence: str
    parser: str
    description: str = ""
    auto_download: bool = True

    def file(self, name: str) -> DataFile:
        for data_file in self.files:
            if data_file.name == name:
                return data_file
        known = ", ".join(f.name for f in self.files[:5])
        raise KeyError(f"data set {self.name!r} has no file {name!r} (files: {known}, ...)")
