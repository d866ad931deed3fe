"""Checkpoints kept with the results, so a campaign continues on another machine.

The rule (README, docs/architecture.md): the checkpoint folders (``<out>/<paper>/<row>.work/``) are scratch and
never committed. When a campaign task ends unfinished (interrupted, time limit, the campaign stopped), the
campaign packs that (row, seed)'s checkpoint folder into ``<out>/checkpoints/<paper>/<row>-seed<S>-<fp12>.tgz`` if
the folder holds at most ``limit`` bytes (5 MB by default: the 1997 and Chung nets are kilobytes, an NPLM is not
kept). Those archives are committed with the records. Before a task starts, an archive whose checkpoint folder is
missing is unpacked back into place, and the run resumes from it; when the (row, seed) completes, its archive is
deleted. The same archives carry a checkpoint to and from a Ray node that does not share the output folder.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from lstm_hist.records import atomic_write

DEFAULT_LIMIT = 5_000_000
KEEP_FOLDER = "checkpoints"


def _skipped(path: Path) -> bool:
    """Lock files name a live process on one machine and must not travel; temp files are half-written."""
    name = path.name.lower()
    return "lock" in name or name.endswith(".tmp")


def archive_path(out_dir: Path, exp_id: str, stem: str, seed: int, fingerprint: str) -> Path:
    paper = exp_id.split("/", 1)[0]
    return Path(out_dir) / KEEP_FOLDER / paper / f"{stem}-seed{seed}-{fingerprint[:12]}.tgz"


def folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not _skipped(p))


def pack(folder: Path, base: Path, limit: int | None = DEFAULT_LIMIT) -> bytes | None:
    """A tar.gz of ``folder`` with names relative to ``base``; None if it is missing, empty or over ``limit``."""
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not _skipped(p))
    if not files or (limit is not None and sum(p.stat().st_size for p in files) > limit):
        return None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in files:
            tar.add(path, arcname=path.relative_to(base).as_posix(), recursive=False)
    return buffer.getvalue()


def unpack(data: bytes, base: Path) -> list[Path]:
    """Extract an archive from :func:`pack` under ``base``; members that would land outside it are refused."""
    base = Path(base).resolve()
    written = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            target = (base / member.name).resolve()
            if not member.isfile() or base not in target.parents:
                continue
            handle = tar.extractfile(member)
            content = handle.read() if handle is not None else b""
            atomic_write(target, lambda out, content=content: out.write(content))
            written.append(target)
    return written


def keep(archive: Path, folder: Path, base: Path, limit: int | None = DEFAULT_LIMIT) -> Path | None:
    """Write ``folder``'s archive to ``archive`` (atomically); None when there is nothing small enough to keep."""
    data = pack(folder, base, limit)
    if data is None:
        return None
    return atomic_write(archive, lambda out: out.write(data))


def restore(archive: Path, base: Path) -> list[Path]:
    """Unpack ``archive`` under ``base`` unless one of its files is already there (a local checkpoint wins)."""
    if not archive.is_file():
        return []
    data = archive.read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
    if any((Path(base) / name).exists() for name in names):
        return []
    return unpack(data, base)
