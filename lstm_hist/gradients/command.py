"""``lstm-hist gradients``: measure every unit on every task, at initialisation and after brief training, and write
the record (then :mod:`.render` draws the figure and the page from it).

Seeds: init i of every unit draws its weights from ``seed·100000 + 10·i`` (each unit's builder adds small offsets
per weight matrix); task j's measured sequences come from ``SeedSequence(seed, spawn_key=(2, j))``, one sequence
per init, the same sequences for every unit; the training sequences from ``SeedSequence(seed, spawn_key=(3,))``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from lstm_hist import records, seeds
from lstm_hist.errors import UserError

from .measure import Net, cec_factor, gradient_norms, per_step_factor, quantile_curves, record_lags
from .train import BriefTraining, train_briefly
from .units import GradientUnit, select_units

DEFAULT_TASKS = ("hochreiter1997/adding_t100", "hochreiter1997/adding_t1000")
TRAINED_FROM = ("brief Adam training inside this command (no trained checkpoints of these units are committed), "
                "on the first task's sequences")


@dataclasses.dataclass
class Task:
    id: str
    generate: Any
    config: dict
    min_length: int


def load_tasks(ids: list[str]) -> list[Task]:
    """The tasks of experiment ids (their configs' ``task`` block); each must give one target per sequence."""
    from lstm_hist.registry import load

    tasks = []
    for exp_id in ids:
        full, path, experiment, cfg = load(exp_id)
        if experiment.task is None:
            raise UserError(f"{full}: has no sequence task; give an experiment with a task generator (e.g. "
                            f"{DEFAULT_TASKS[0]})")
        probe = experiment.task(seeds.probe_rng(), 2, **cfg["task"])
        if probe.y.ndim != 2:
            raise UserError(f"{full}: its targets are per step; gradients needs one target at each sequence's end")
        tasks.append(Task(full, experiment.task, cfg["task"], int(cfg["task"].get("min_length", probe.lengths.min()))))
    return tasks


def _summary(values: np.ndarray) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"median": None, "p10": None, "p90": None, "n": 0}
    p10, med, p90 = np.quantile(finite, (0.1, 0.5, 0.9))
    return {"median": float(med), "p10": float(p10), "p90": float(p90), "n": int(finite.size)}


def _weights_by_name(net: Net, weights: list, init: int) -> dict[str, np.ndarray]:
    cell_weights, _ = net.split(weights)
    return {v.name: np.asarray(w[init]) for v, w in zip(net.cell.trainable_variables, cell_weights)}


def measure_condition(net: Net, weights: list, batch, fn, lags: np.ndarray, half: int) -> dict[str, Any]:
    """Curves, per-step factors, the §3 bound and the CEC factor of one set of weights on one task's batch."""
    norms = gradient_norms(net, weights, batch.x, batch.lengths, batch.y, fn)
    finite = np.all(np.isfinite(norms["state"]), axis=1)
    state, inputs = norms["state"][finite], norms["input"][finite]
    factors = per_step_factor(state)
    out: dict[str, Any] = {
        "inits_measured": int(finite.sum()),
        "state": quantile_curves(state, lags),
        "input": quantile_curves(inputs, lags),
        "state_factor": _summary(factors),
        # relative to lag 1, where the factors start too (lag 0 holds the readout's own path)
        "state_reach_half": _summary(state[:, half] / state[:, 1]),
        "input_reach_half": _summary(inputs[:, half] / np.maximum(inputs[:, 1], 1e-45)),
    }
    unit = net.unit
    if unit.step_bound is not None:
        bounds = np.array([unit.step_bound(net.cell, _weights_by_name(net, weights, i))
                           for i in np.nonzero(finite)[0]])
        out["bound"] = _summary(bounds)
        ok = np.isfinite(factors)
        out["bound_holds"] = {"inits": int(np.sum(factors[ok] <= bounds[ok] * (1 + 1e-6))), "of": int(ok.sum())}
    if unit.cec_state is not None:
        out["cec_factor"] = cec_factor(norms[f"raw:{unit.cec_state}"][finite])
    return out


def _parameters(net: Net) -> dict[str, int]:
    cell = sum(int(np.prod(v.shape)) for v in net.cell.trainable_variables)
    readout = sum(int(np.prod(v.shape)) for v in net.readout.trainable_variables)
    return {"cell": cell, "readout": readout}


def measure_unit(unit: GradientUnit, tasks: list[Task], batches: list, inits: int, seed: int,
                 training: BriefTraining, progress) -> dict[str, Any]:
    inputs, outputs = batches[0].x.shape[-1], batches[0].y.shape[-1]
    net = Net(unit, inputs, outputs)
    weights = net.init_weights(seeds.gradient_init_seeds(seed, inits))
    fn = net.gradient_fn()  # jit compiles once per task's padded length
    results = {}
    for task, batch in zip(tasks, batches):
        progress(f"  {task.id}: at initialisation")
        results[task.id] = {"init": measure_condition(net, weights, batch, fn, record_lags(task.min_length),
                                                      task.min_length // 2)}
    progress(f"  training {training.updates} updates on {tasks[0].id}")
    rng = seeds.gradient_training_rng(seed)
    trained, info = train_briefly(net, weights, tasks[0].generate, tasks[0].config, rng, training)
    for task, batch in zip(tasks, batches):
        progress(f"  {task.id}: after training")
        results[task.id]["trained"] = measure_condition(net, trained, batch, fn, record_lags(task.min_length),
                                                        task.min_length // 2)
    return {
        "label": unit.label,
        "source": unit.source,
        "state_names": list(unit.state_names),
        "parameters": _parameters(net),
        "training": {"error_first": _summary(info["error_first"]), "error_last": _summary(info["error_last"]),
                     "diverged_inits": int(np.sum(~np.isfinite(info["error_last"])))},
        "results": results,
    }


NUMBER_LIST = re.compile(r"\[\s+([-+\d.eE,\s]+?)\s+\]")


def write_compact(path: Path, record: dict) -> Path:
    """Write the record atomically like :func:`records.write_record`, but each list of numbers on one line (the
    curves hold ~20,000 numbers; one per line would make the file 50 times the size of a run record)."""
    text = json.dumps(records.to_jsonable(record), indent=2, allow_nan=False)
    text = NUMBER_LIST.sub(lambda m: "[" + " ".join(m.group(1).split()) + "]", text) + "\n"
    return records.atomic_write(path, lambda handle: handle.write(text.encode("utf-8")))


def record_path(out_dir: Path, row: str, seed: int, start) -> Path:
    """``<out>/gradients/<row>-seed<S>-<UTC>-<6 hex>.json`` (the agreed record name; never an existing file)."""
    stamp = start.strftime("%Y%m%dT%H%M%S")
    while True:
        path = Path(out_dir) / "gradients" / f"{row}-seed{seed}-{stamp}-{secrets.token_hex(3)}.json"
        if not path.exists():
            return path


def run_gradients(task_ids: list[str] | None = None, unit_names: list[str] | None = None, inits: int = 24,
                  seed: int = 0, training: BriefTraining = BriefTraining(), out_dir: str | Path = "runs",
                  progress: bool = True) -> tuple[Path, dict]:
    """Measure, write the record, return ``(path, record)``."""
    import keras

    if keras.backend.backend() != "jax":
        raise UserError(f"lstm-hist gradients measures with jax.grad and jax.vmap; the backend is "
                        f"{keras.backend.backend()!r}: unset KERAS_BACKEND or set it to jax")
    if inits < 2:
        raise UserError(f"--inits must be at least 2 (a median and a band), received {inits}")
    say = (lambda text: print(text, file=sys.stderr, flush=True)) if progress else (lambda text: None)
    start, cpu_start = records.utc_now(), time.process_time()
    tasks = load_tasks(list(task_ids or DEFAULT_TASKS))
    units = select_units(unit_names)
    batches = [task.generate(seeds.gradient_sequences_rng(seed, j), inits, **task.config)
               for j, task in enumerate(tasks)]
    results, seconds = {}, {}
    for key, unit in units.items():
        say(f"{key}: {unit.label}")
        began = time.perf_counter()
        results[key] = measure_unit(unit, tasks, batches, inits, seed, training, say)
        seconds[key] = round(time.perf_counter() - began, 2)
    end = records.utc_now()
    row = "_".join(task.id.split("/", 1)[1] for task in tasks)
    record = {
        "id": f"gradients/{row}",
        "kind": "gradients",
        "title": "The vanishing gradient, measured",
        "status": "completed",
        "seed": seed,
        "seeds": {"base": seed,
                  "inits": f"weights of init i: {seeds.STREAMS['gradient_inits'].derivation} (every unit)",
                  "sequences": f"task j: {seeds.STREAMS['gradient_sequences'].derivation}, one sequence per init",
                  "training": seeds.STREAMS["gradient_training"].derivation},
        "config": {"tasks": [task.id for task in tasks], "units": list(units), "inits": inits,
                   "training": dataclasses.asdict(training), "trained_on": tasks[0].id,
                   "trained_from": TRAINED_FROM},
        "tasks": {task.id: {"task": task.config, "min_length": task.min_length,
                            "lengths": [int(batch.lengths.min()), int(batch.lengths.max())],
                            "lags": record_lags(task.min_length).tolist(), "half_lag": task.min_length // 2}
                  for task, batch in zip(tasks, batches)},
        "units": results,
        "unit_seconds": seconds,
        # the wall time depends on who else uses the machine: the CPU time and the load say how much
        "cpu_seconds": round(time.process_time() - cpu_start, 1),
        "load_average": [round(v, 2) for v in os.getloadavg()],
        "provenance": records.provenance(None, start, end, "jax"),
    }
    path = write_compact(record_path(Path(out_dir), row, seed, start), record)
    return path, record
