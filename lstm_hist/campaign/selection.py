"""Which rows and seeds a campaign runs: ids, unique row names, globs, ``--paper``, ``--table``; ``--seeds``.

Reads the YAML configs only (``registry.list_experiments``), so a typo fails before Ray or Keras start.
"""

from __future__ import annotations

import fnmatch
import re

from lstm_hist import registry
from lstm_hist.errors import UserError


def _table_matches(wanted: str, table: str | None) -> bool:
    """``--table 7``, ``--table "Table 7"`` and ``--table table7`` all pick the rows of "Table 7"."""
    norm = lambda text: re.sub(r"[^0-9a-z]", "", str(text or "").lower()).removeprefix("table")  # noqa: E731
    return bool(table) and norm(wanted) == norm(table)


def select_rows(patterns: list[str], *, paper: str | None = None, table: str | None = None) -> list[str]:
    """Full ids, in config order, without repeats.

    A pattern is a full id, a unique row name (as ``run`` accepts), or a shell glob matched against the full id
    and the row name (``hochreiter1997/adding_*``, ``jsb_*``). ``paper`` and ``table`` narrow the selection; with
    no pattern they select every row of that paper / table. Raises UserError when nothing matches.
    """
    entries = registry.list_experiments(paper)  # raises for an unknown paper
    if table is not None:
        entries = [e for e in entries if _table_matches(table, e.get("table"))]
        if not entries:
            raise UserError(f"no rows in table {table!r}" + (f" of {paper}" if paper else "")
                            + " (see `lstm-hist list`)")
    ids = [e["id"] for e in entries]
    if not patterns:
        if paper is None and table is None:
            raise UserError("say which rows to run: ids, globs, --paper or --table (see `lstm-hist list`)")
        return ids
    chosen: list[str] = []
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            hits = [i for i in ids if fnmatch.fnmatchcase(i, pattern) or fnmatch.fnmatchcase(i.split("/", 1)[1], pattern)]
            if not hits:
                raise UserError(f"no rows match {pattern!r}" + (" within the --paper/--table selection"
                                                                 if paper or table else "") + " (see `lstm-hist list`)")
        else:
            full = registry.resolve_id(pattern)
            if full not in ids:
                raise UserError(f"{full} is not in the --paper/--table selection")
            hits = [full]
        chosen += [i for i in hits if i not in chosen]
    return chosen


def parse_seeds(text: str) -> list[int]:
    """``"0-4"`` → 0..4, ``"0,2,7"``, ``"3"``, or a mix (``"0-2,9"``); non-negative, no repeats, in order given."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise UserError(f"--seeds: expected e.g. 0-4 or 0,1,2, got {text!r}")
        low, high = int(match[1]), int(match[2] if match[2] is not None else match[1])
        if high < low:
            raise UserError(f"--seeds: empty range {part!r}")
        seeds += [s for s in range(low, high + 1) if s not in seeds]
    return seeds
