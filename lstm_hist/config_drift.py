"""Whether a run record was made with its row's config as the config stands today.

A config changes when a paper issue moves a row to the paper's protocol (Chung's optimizer and 500 epochs,
Bengio's whole-stream vocabulary). The records made before stay committed, but their numbers answer the old
config, not today's: the report labels such a row *earlier config* (naming the keys that changed) and the scorecard
counts it apart instead of judging it. Only what decides the numbers is compared (the ``experiment`` name and the
``task``, ``model`` and ``protocol`` blocks); keys the run itself set with ``--set`` are its own, labelled choice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lstm_hist.config import load_config
from lstm_hist.errors import UserError

SEMANTIC_BLOCKS = ("task", "model", "protocol")
_MISSING = object()


def _flat(cfg: dict) -> dict[str, Any]:
    out: dict[str, Any] = {"experiment": cfg.get("experiment")}
    for block in SEMANTIC_BLOCKS:
        for key, value in (cfg.get(block) or {}).items():
            out[f"{block}.{key}"] = value
    return out


def _text(value: Any) -> str:
    return "unset" if value is _MISSING else repr(value)


def drift(record: dict, current: dict) -> list[str]:
    """``["protocol.epochs 25→500", ...]``: each key whose value in the record's config differs from ``current``
    (the row's config today), leaving out the keys the run overrode with ``--set``."""
    overridden = {str(item).split("=", 1)[0] for item in record.get("overrides") or ()}
    then, now = _flat(record.get("config") or {}), _flat(current)
    changes = []
    for key in sorted(set(then) | set(now)):
        if key in overridden:
            continue
        old, new = then.get(key, _MISSING), now.get(key, _MISSING)
        if old != new:
            changes.append(f"{key} {_text(old)}→{_text(new)}")
    return changes


def current_configs(entries: list[dict]) -> dict[str, dict]:
    """Today's config per row id, from the registry's list entries (each has ``id`` and ``path``)."""
    out = {}
    for entry in entries:
        try:
            out[entry["id"]] = load_config(Path(entry["path"]))
        except (UserError, KeyError):
            continue  # list_experiments already warned about a config it could not read
    return out


def drift_text(changes: list[str], limit: int = 3) -> str:
    shown = "; ".join(changes[:limit]) + (f"; +{len(changes) - limit} more" if len(changes) > limit else "")
    return f"earlier config: {shown}"
