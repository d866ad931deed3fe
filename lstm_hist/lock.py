"""The pinned environment: which constraints file a run ran under, and whether the installed versions match it.

``constraints.txt`` at the repository root pins the exact versions the committed records were made with
(``pip install -e ".[test]" -c constraints.txt``). Each record's provenance names it by path and sha256 and lists
the installed distributions whose version differs from their pin, so a record made outside the pinned set says so.
"""

from __future__ import annotations

import hashlib
import re
from importlib import metadata
from pathlib import Path
from typing import Any

LOCK_FILE = "constraints.txt"
_PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;#]+)")


def pins(text: str) -> dict[str, str]:
    """``{normalised name: version}`` for every ``name==version`` line."""
    out = {}
    for line in text.splitlines():
        match = _PIN.match(line)
        if match:
            out[_normalise(match.group(1))] = match.group(2)
    return out


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_provenance(root: Path) -> dict[str, Any] | None:
    """``{"file", "sha256", "mismatches"}`` for ``root/constraints.txt``; None when there is no such file.

    ``mismatches`` lists ``"name installed (pinned version)"`` for installed distributions off their pin
    (distributions the lock pins but this environment lacks are not listed: extras such as ray are optional).
    """
    path = Path(root) / LOCK_FILE
    try:
        data = path.read_bytes()
    except OSError:
        return None
    mismatches = []
    for name, pinned in sorted(pins(data.decode("utf-8", "replace")).items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        if installed != pinned:
            mismatches.append(f"{name} {installed} (pinned {pinned})")
    return {"file": LOCK_FILE, "sha256": hashlib.sha256(data).hexdigest(), "mismatches": mismatches}
