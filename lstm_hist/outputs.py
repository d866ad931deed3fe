"""Check, before any work starts, that the places a command will write to can be written.

A run that trains for an hour and then fails to write its record (``--out`` under a file, on a read-only mount)
loses the hour; a report written over a directory is a traceback. These checks turn those into one ``error: ...``
line at the start, by writing (and removing) a temporary file where the command will write later.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lstm_hist.errors import UserError


def writable_dir(path: str | os.PathLike, option: str) -> Path:
    """``path`` if it is, or can be created as, a folder that takes a new file; nothing is left behind.

    ``option`` names the argument in the message (``--out``). Raises UserError when ``path`` or one of its
    parents is a file, or the folder (or, when it does not exist yet, its nearest existing parent, where it
    would be created) does not take a new file.
    """
    path = Path(path)
    existing = next((folder for folder in (path, *path.absolute().parents) if folder.exists()), None)
    if existing is not None and not existing.is_dir():
        what = "is a file" if existing == path else f"is under the file {existing}"
        raise UserError(f"{option} {path} {what}, not a folder; choose a folder for {option}")
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".lstm-hist-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        where = "the folder" if existing == path else f"its parent {existing}"
        raise UserError(f"{option} {path}: {where} is not writable ({exc.strerror or exc}); "
                        f"choose a writable folder for {option}") from None
    return path


def writable_file(path: str | os.PathLike, option: str) -> Path:
    """``path`` as a file that can be (re)written: not a folder, in a folder that :func:`writable_dir` accepts."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{option} {path} is a folder; give a file name (e.g. {path / 'results.md'})")
    if path.exists() and not os.access(path, os.W_OK):
        raise UserError(f"{option} {path}: the file is read-only; choose another file for {option}")
    writable_dir(path.parent if str(path.parent) else Path("."), f"{option} (its folder)")
    return path
