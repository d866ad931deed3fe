"""Which folders of run records ``lstm-hist report`` reads.

The default is the repository's committed ``results/``, found beside the package like ``configs/``
(:func:`lstm_hist.registry.configs_root`), so ``report`` gives the same page from any working directory; a user adds
their own runs with a repeated ``--runs``. A folder that does not exist is an error: silently reading nothing would
write a page where every row is "not yet run".
"""

from __future__ import annotations

import os
from pathlib import Path

import lstm_hist
from lstm_hist.errors import UserError


def repo_results_dir() -> Path:
    """``$LSTM_HIST_RESULTS`` if set, else ``results/`` beside the package (the repo root of an editable install)."""
    env = os.environ.get("LSTM_HIST_RESULTS")
    if env:
        return Path(env)
    return Path(lstm_hist.__file__).resolve().parent.parent / "results"


def resolve_runs_dirs(given: list[str] | None) -> list[Path]:
    """The folders to read: each of ``given`` (which must exist), or the default when none is given."""
    if given:
        dirs = []
        for item in given:
            path = Path(item)
            if not path.is_dir():
                what = "is not a folder" if path.exists() else "does not exist"
                raise UserError(f"--runs {item}: {what}; give a folder of run records (e.g. --runs results)")
            if path not in dirs:
                dirs.append(path)
        return dirs
    candidates = [repo_results_dir(), Path("results")]
    for path in candidates:
        if path.is_dir():
            return [path]
    looked = ", ".join(str(p.resolve()) for p in candidates)
    raise UserError(f"no folder of run records found (looked in {looked}); pass --runs DIR")
