"""Find a data set's files on disk, or fetch them, and check their sha256.

Resolution order for each file (first hit wins):

1. ``data_dir`` (the ``--data-dir`` argument), then ``$LSTM_HIST_DATA``: either a root holding ``<name>/``
   folders (like ``shared/data``) or the data set's own folder;
2. ``shared/data/<name>/`` beside the repository (``<repo>/../shared/data`` or ``<repo>/shared/data``), found
   relative to this package so tests and CI see the project's copy;
3. the user cache ``$LSTM_HIST_CACHE/<name>/`` (default ``~/.cache/lstm-hist/<name>/``);
4. a download from the canonical URL into the cache: streamed to a temporary file in the cache folder,
   sha256 verified, then renamed into place atomically (so a killed download never leaves a bad file);
5. otherwise a :class:`~lstm_hist.errors.DataError` saying, in one line, which file (name, size, sha256) to
   put in which folder, and the URL.

A file that is present but has the wrong sha256 is an error at once (never silently skipped or replaced). A file
missing from a folder that holds the data set but found in a later one (a partial copy in ``--data-dir``, the rest
in ``../shared/data``) is used, and announced on stderr once per pair of folders: mixing copies is the user's call
to know about.
Downloads are off when ``$LSTM_HIST_OFFLINE`` is set, and off by default for data sets whose licence forbids
redistribution (``DatasetSpec.auto_download``).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

from lstm_hist.data.datasets import get_spec
from lstm_hist.data.spec import DataFile, DatasetSpec
from lstm_hist.errors import DataError

# Indirection so tests can replace the network with a stub.
_urlopen = urllib.request.urlopen

_CHUNK = 1 << 20
_verified: dict[tuple[str, int, int], str] = {}  # (path, size, mtime_ns) -> sha256, memo for one process
_announced: set[tuple[str, str, str]] = set()  # (data set, folder lacking files, folder used instead)


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file (memoised per process on path, size and mtime)."""
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _verified:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
        _verified[key] = digest.hexdigest()
    return _verified[key]


def shared_data_roots() -> list[Path]:
    """``shared/data`` folders beside the repository this package lives in (those that exist)."""
    repo = Path(__file__).resolve().parents[2]
    candidates = [repo.parent / "shared" / "data", repo / "shared" / "data"]
    return [path for path in candidates if path.is_dir()]


def cache_root() -> Path:
    """``$LSTM_HIST_CACHE`` or ``~/.cache/lstm-hist``."""
    env = os.environ.get("LSTM_HIST_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "lstm-hist"


def search_dirs(name: str, data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders searched for data set ``name``, in order (they need not exist)."""
    dirs: list[Path] = []
    for root in (data_dir, os.environ.get("LSTM_HIST_DATA")):
        if root:
            root = Path(root).expanduser()
            dirs += [root / name, root]
    dirs += [root / name for root in shared_data_roots()]
    dirs.append(cache_root() / name)
    return dirs


def check_file(path: Path, data_file: DataFile, dataset: str) -> Path:
    """``path`` if its sha256 matches ``data_file.sha256`` (or none is pinned); a DataError otherwise."""
    if data_file.sha256 is not None:
        actual = sha256_of(path)
        if actual != data_file.sha256:
            raise DataError(
                f"data file {path} of data set {dataset!r} has the wrong sha256: expected {data_file.sha256}, "
                f"got {actual}; delete it and put the file from {data_file.url} there"
            )
    return path


def _describe(data_file: DataFile) -> str:
    size = f"{data_file.size:,} bytes" if data_file.size is not None else "size not pinned"
    sha = f"sha256 {data_file.sha256}" if data_file.sha256 else "sha256 not pinned"
    return f"{data_file.name} ({size}, {sha})"


def download(data_file: DataFile, dest: Path) -> Path:
    """Fetch ``data_file.url`` to ``dest``: temp file in the same folder, sha256 check, atomic rename."""
    if not data_file.url:
        raise DataError(f"{data_file.name} has no download URL")
    dest.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    handle, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, _urlopen(data_file.url, timeout=60) as response:
            for chunk in iter(lambda: response.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
        actual = digest.hexdigest()
        if data_file.sha256 is not None and actual != data_file.sha256:
            raise DataError(
                f"download of {data_file.url} has the wrong sha256: expected {data_file.sha256}, got {actual}; "
                f"the upstream file changed or the transfer was corrupted"
            )
        os.replace(tmp_name, dest)
    except BaseException:
        if os.path.exists(tmp_name):
            os.unlink(tmp_name)
        raise
    return dest


def _downloads_allowed(spec: DatasetSpec, download_flag: bool | None) -> bool:
    if download_flag is not None:
        return download_flag
    return spec.auto_download and not os.environ.get("LSTM_HIST_OFFLINE")


def resolve_file(
    dataset: str | DatasetSpec,
    filename: str,
    data_dir: str | os.PathLike | None = None,
    download: bool | None = None,
) -> Path:
    """Path of one verified file of ``dataset``, found or fetched as described in the module docstring.

    download: ``None`` follows the data set's default (and ``$LSTM_HIST_OFFLINE``); ``True`` forces a fetch
    of a missing file (needed for MuseData); ``False`` never touches the network.
    """
    spec = dataset if isinstance(dataset, DatasetSpec) else get_spec(dataset)
    data_file = spec.file(filename)
    lacking = None  # the first folder that holds (part of) the data set but not this file
    for folder in search_dirs(spec.name, data_dir):
        path = folder / data_file.name
        if path.is_file():
            if lacking is not None:
                announce_fallback(spec.name, data_file.name, lacking, folder)
            return check_file(path, data_file, spec.name)
        if lacking is None and path.parent.is_dir():
            lacking = folder

    target = Path(data_dir).expanduser() / spec.name if data_dir else cache_root() / spec.name
    reason = ""
    if _downloads_allowed(spec, download) and data_file.url:
        try:
            return download_file(data_file, cache_root() / spec.name / data_file.name)
        except DataError:
            raise
        except OSError as exc:  # URLError is an OSError: offline, DNS, HTTP errors
            reason = f"download failed ({exc}); "
    elif not spec.auto_download and download is None:
        reason = (f"not fetched automatically (licence: {spec.licence}); to fetch it anyway pass download=True "
                  f"or run `lstm-hist data fetch {spec.name} --accept-licence`; ")
    raise DataError(
        f"missing data file {spec.name}/{_describe(data_file)}: {reason}put it in {target}/ "
        f"(or pass --data-dir / set LSTM_HIST_DATA); source: {data_file.url or 'none public'}"
    )


def announce_fallback(dataset: str, name: str, lacking: Path, used: Path) -> None:
    """One stderr line the first time files of ``dataset`` missing from ``lacking`` are taken from ``used``."""
    key = (dataset, str(lacking), str(used))
    if key in _announced:
        return
    _announced.add(key)
    print(f"note: {dataset}: {name} is not in {lacking}; using the copy in {used} (and so for any other file of "
          f"{dataset} missing there)", file=sys.stderr)


# Public name for the fetch step (``download`` is also a keyword argument of resolve_file).
download_file = download


def resolve(
    dataset: str | DatasetSpec,
    data_dir: str | os.PathLike | None = None,
    download: bool | None = None,
    files: list[str] | None = None,
) -> dict[str, Path]:
    """Resolve every file of ``dataset`` (or only ``files``): ``{file name: verified path}``."""
    spec = dataset if isinstance(dataset, DatasetSpec) else get_spec(dataset)
    names = files if files is not None else [f.name for f in spec.files]
    return {name: resolve_file(spec, name, data_dir=data_dir, download=download) for name in names}
