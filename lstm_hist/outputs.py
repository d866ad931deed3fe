"""Check, before any work starts, that the places a command will write to can be written.

A run that trains for an hour and then fails to write its record (``--out`` under a file, on a read-only mount)
loses the hour; a report written over a directory is a traceback. These checks turn those into one ``error: ...``
line at the start, by doing what the command will do later: create the folder and a temporary file in it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from lstm_hist.errors import UserError


def writable_dir(path: str | os.PathLike, option: str) -> Path:
    """``path`` as a folder that exists (created if needed, like the command will) and takes a new file.

    ``option`` names the argument in the message (``--out``). Raises UserError when ``path`` or one of its
    parents is a file, or the folder cannot be created or written.
    """
    path = Path(path)
    for folder in (path, *path.parents):
        if folder.exists():
            if not folder.is_dir():
                what = "is a file" if folder == path else f"is under the file {folder}"
                raise UserError(f"{option} {path} {what}, not a folder; choose a folder for {option}")
            break
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{option} {path}: cannot create the folder ({exc.strerror or exc}); "
                        f"choose a writable folder for {option}") from None
    try:
        fd, probe = tempfile.mkstemp(dir=path, prefix=".lstm-hist-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise UserError(f"{option} {path}: the folder is not writable ({exc.strerror or exc}); "
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
