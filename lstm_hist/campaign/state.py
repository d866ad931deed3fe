"""What a campaign finds in its output folder: completed records (skip), checkpoints (resume), nothing (start).

One fingerprint names a run everywhere: ``lstm_hist.run_state.fingerprint`` of the resolved config (task, model,
the protocol as its dataclass builds it), the seed and the backend. The runner names its checkpoint folder
``<out>/<paper>/<row>.work/seed<S>-<fp12>/`` and stamps its record with it; the campaign plans with the same
value (:func:`config_fingerprint`), so the checkpoint it finds, and the archive it keeps
(``checkpoints/<paper>/<row>-seed<S>-<fp12>.tgz``), are the ones the run resumes.

A completed record counts for a (row, seed) when its id, smoke flag and that fingerprint, recomputed from the
record's own ``config``, seed and backend, equal the planned run's, and so do the protocol fields a resume may
change (``resumable_changes``, which the fingerprint leaves out: a record of fewer epochs is not the planned run). Recomputing needs no ``fingerprint`` field, so
records written before that field existed are recognised too (and a record of an edited config is not).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from lstm_hist import run_state
from lstm_hist.seed_stats import record_seed


def config_fingerprint(cfg: dict, seed: int, backend: str | None, experiment: Any = None) -> str | None:
    """``run_state.fingerprint`` of a resolved config, as the runner computes it: the protocol built by
    ``experiment.protocol`` (its defaults and contract fields count as the runner's do); without an experiment the
    config's ``protocol`` block as it is. None when the experiment cannot build the protocol (a record of a
    config that no longer exists)."""
    protocol: Any = cfg.get("protocol") or {}
    if experiment is not None:
        try:
            protocol = experiment.protocol(**protocol)
        except (TypeError, ValueError):
            return None
    return run_state.fingerprint(cfg.get("task") or {}, cfg.get("model") or {}, protocol, seed, backend)


def row_stem(exp_id: str, smoke: bool) -> str:
    return exp_id.split("/", 1)[1] + (".smoke" if smoke else "")


def record_fingerprint(record: dict, experiment: Any = None) -> str | None:
    """The run fingerprint of the config, seed and backend a record was written with (recomputed)."""
    seed = record_seed(record)
    if seed is None or not isinstance(record.get("config"), dict):
        return None
    backend = (record.get("provenance") or {}).get("backend")
    return config_fingerprint(record["config"], seed, backend, experiment) if backend else None


@dataclasses.dataclass
class Planned:
    """One (row, seed) of a campaign and what to do with it."""

    id: str
    seed: int
    fingerprint: str | None  # run_state.fingerprint: names the checkpoint folder, the kept archive, the record
    action: str = "start"  # "skip" (a completed record exists) | "resume" (a checkpoint exists) | "start"
    record: Path | None = None  # the completed record, for "skip"
    workdir: Path | None = None  # the checkpoint folder, for "resume"
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


def resumable_values(cfg: dict, experiment: Any = None) -> dict | None:
    """The protocol fields a resume may change (``resumable_changes``, e.g. ``epochs``), which the fingerprint
    leaves out: a completed record of 20 epochs is not a planned run of 30, though the run would resume its
    checkpoint. Without an experiment, none; None when the protocol cannot be built."""
    if experiment is None:
        return {}
    try:
        protocol = experiment.protocol(**(cfg.get("protocol") or {}))
    except (TypeError, ValueError):
        return None
    return {name: getattr(protocol, name, None) for name in getattr(protocol, "resumable_changes", ())}


def completed_record(found: list[tuple[Path, dict]], fingerprint: str | None, experiment: Any = None,
                     cfg: dict | None = None) -> Path | None:
    """The newest completed record of the planned run: the same fingerprint and the same ``resumable_values``."""
    wanted = resumable_values(cfg or {}, experiment)
    for path, record in reversed(found):
        if record.get("status") == "completed" and fingerprint is not None \
                and record_fingerprint(record, experiment) == fingerprint \
                and resumable_values(record["config"], experiment) == wanted:
            return path
    return None


def checkpoint_dir(out_dir: Path, exp_id: str, smoke: bool, seed: int, fingerprint: str | None) -> Path | None:
    """The checkpoint folder of this (row, seed, config) if it holds an unfinished run's checkpoint, else None."""
    if fingerprint is None:
        return None
    work = run_state.checkpoint_dir(out_dir, exp_id, smoke, seed, fingerprint)
    return work if run_state.has_checkpoint(work) and run_state.finished(work) is None else None


def plan(out_dir: Path, resolved: dict[str, dict], seeds: list[int], *, smoke: bool, backend: str | None,
         experiments: dict[str, Any] | None = None) -> list[Planned]:
    """One :class:`Planned` per (row, seed), rows in the given order; ``resolved`` maps id → resolved config,
    ``experiments`` id → Experiment (to name the runner's checkpoint folder exactly)."""
    out: list[Planned] = []
    for exp_id, cfg in resolved.items():
        found = row_records(out_dir, exp_id, smoke)
        for seed in seeds:
            experiment = (experiments or {}).get(exp_id)
            item = Planned(exp_id, seed, config_fingerprint(cfg, seed, backend, experiment), config=cfg)
            item.record = completed_record(found, item.fingerprint, experiment, cfg)
            if item.record is not None:
                item.action = "skip"
            else:
                item.workdir = checkpoint_dir(out_dir, exp_id, smoke, seed, item.fingerprint)
                item.action = "resume" if item.workdir is not None else "start"
            out.append(item)
    return out
