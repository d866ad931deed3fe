"""What a campaign finds in its output folder: completed records (skip), checkpoints (resume), nothing (start).

The checkpoint folder is the runner's, ``<out>/<paper>/<row>.work/seed<S>-<fp12>/`` named by
``lstm_hist.run_state.fingerprint``; a plain ``run`` resumes an unfinished checkpoint there by itself.

A completed record counts for a (row, seed) when its id, smoke flag, seed, backend and the semantic part of its
resolved config (experiment, task, model, protocol) equal the planned run's: :func:`fingerprint_of` over the
record's own ``config`` against the same over the planned config. That needs no ``fingerprint`` field, so records
written before that field existed are recognised too (and a record of an edited config is not).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path
from typing import Any

from lstm_hist import run_state
from lstm_hist.seed_stats import record_seed

SEMANTIC_KEYS = ("experiment", "task", "model", "protocol")


def fingerprint_of(cfg: dict, seed: int, backend: str | None) -> str:
    """Hex digest of what makes two runs the same run: the config's semantic blocks, the seed and the backend.

    The campaign's own, in this one place; ``lstm_hist.run_state`` (issue 11) defines the record's
    ``fingerprint``, which the campaign only compares with itself, never with this one.
    """
    semantic = {key: cfg.get(key) for key in SEMANTIC_KEYS}
    text = json.dumps({"config": semantic, "seed": int(seed), "backend": backend}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def row_stem(exp_id: str, smoke: bool) -> str:
    return exp_id.split("/", 1)[1] + (".smoke" if smoke else "")


def record_fingerprint(record: dict) -> str | None:
    seed = record_seed(record)
    if seed is None or not isinstance(record.get("config"), dict):
        return None
    return fingerprint_of(record["config"], seed, (record.get("provenance") or {}).get("backend"))


@dataclasses.dataclass
class Planned:
    """One (row, seed) of a campaign and what to do with it."""

    id: str
    seed: int
    fingerprint: str
    action: str = "start"  # "skip" (a completed record exists) | "resume" (a checkpoint exists) | "start"
    record: Path | None = None  # the completed record, for "skip"
    workdir: Path | None = None  # the checkpoint folder, for "resume"
    run_fp: str | None = None  # the runner's fingerprint (lstm_hist.run_state), which names its checkpoint folder
    config: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def label(self) -> str:
        return f"{self.id} seed {self.seed}"


def row_records(out_dir: Path, exp_id: str, smoke: bool) -> list[tuple[Path, dict]]:
    """The records of one row (and smoke flag) directly under ``<out>/<paper>/``, oldest end time first."""
    folder = Path(out_dir) / exp_id.split("/", 1)[0]
    found = []
    for path in sorted(folder.glob(exp_id.split("/", 1)[1] + "*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("id") == exp_id and bool(record.get("smoke")) == smoke:
            found.append((path, record))
    found.sort(key=lambda item: ((item[1].get("provenance") or {}).get("end") or "", item[0].name))
    return found


def completed_record(found: list[tuple[Path, dict]], fingerprint: str) -> Path | None:
    for path, record in reversed(found):
        if record.get("status") == "completed" and record_fingerprint(record) == fingerprint:
            return path
    return None


def runner_fingerprint(experiment: Any, cfg: dict, seed: int, backend: str | None) -> str | None:
    """The fingerprint the runner names the checkpoint folder with (``run_state.fingerprint``)."""
    if experiment is None:
        return None
    protocol = experiment.protocol(**cfg["protocol"])
    return run_state.fingerprint(cfg["task"], cfg["model"], protocol, seed, backend)


def checkpoint_dir(out_dir: Path, exp_id: str, smoke: bool, seed: int, run_fp: str | None) -> Path | None:
    """The checkpoint folder of this (row, seed, config) if it holds an unfinished run's checkpoint, else None."""
    if run_fp is None:
        return None
    work = run_state.checkpoint_dir(out_dir, exp_id, smoke, seed, run_fp)
    return work if run_state.has_checkpoint(work) and run_state.finished(work) is None else None


def plan(out_dir: Path, resolved: dict[str, dict], seeds: list[int], *, smoke: bool, backend: str | None,
         experiments: dict[str, Any] | None = None) -> list[Planned]:
    """One :class:`Planned` per (row, seed), rows in the given order; ``resolved`` maps id → resolved config,
    ``experiments`` id → Experiment (to name the runner's checkpoint folder exactly)."""
    out: list[Planned] = []
    for exp_id, cfg in resolved.items():
        found = row_records(out_dir, exp_id, smoke)
        for seed in seeds:
            item = Planned(exp_id, seed, fingerprint_of(cfg, seed, backend), config=cfg)
            item.run_fp = runner_fingerprint((experiments or {}).get(exp_id), cfg, seed, backend)
            item.record = completed_record(found, item.fingerprint)
            if item.record is not None:
                item.action = "skip"
            else:
                item.workdir = checkpoint_dir(out_dir, exp_id, smoke, seed, item.run_fp)
                item.action = "resume" if item.workdir is not None else "start"
            out.append(item)
    return out
