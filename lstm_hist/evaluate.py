"""``lstm-hist evaluate RECORD``: recompute a record's test metrics without retraining, and say if they match.

* A protocol with ``test_from_weights`` (the 1997 online protocol): the kept weights (:mod:`lstm_hist.weights`) go
  into a freshly built trial-parallel model, which is tested on the same per-trial test streams as at the end of
  the run (``lstm_hist.seeds``, "test_streams"); each trial's ``test_wrong``/``test_mse``/``test_mean_abs_error``
  and the summaries over solved trials are compared.
* Minibatch protocol (Chung's units): the kept weights go into the built model; every split of the task's data
  is scored again and the ``<split>_nll``-style metrics are compared.
* A protocol whose fit is a deterministic function of the data and the seed declares
  ``evaluation_refits = True`` (Bengio's n-grams: their "weights" are the corpus counts) and is fitted again,
  without a record; its metrics are compared.

The record's own resolved config is used, not today's config file. Numbers match when equal to ``rtol`` relative
(default 1e-6: the same backend on another machine may round differently in the last float32 bits); the output
says which were bit-identical. Exit 0 when everything matches, 1 when something differs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from lstm_hist.cite import load_record
from lstm_hist.errors import UserError
from lstm_hist.weights import load_final_weights

# Keys that measure time or machine, not the model: never compared.
_UNCOMPARED_SUFFIXES = ("seconds", "_per_iteration", "seconds_history")


class Check(NamedTuple):
    key: str
    recorded: Any
    recomputed: Any
    identical: bool
    match: bool


def compare(recorded: dict, recomputed: dict, rtol: float, prefix: str = "") -> list[Check]:
    """One Check per numeric key present in both (time and machine keys left out)."""
    out = []
    for key, new in recomputed.items():
        if key not in recorded or key.endswith(_UNCOMPARED_SUFFIXES):
            continue
        old = recorded[key]
        if not _is_number(new) or not _is_number(old):
            continue
        identical = float(old) == float(new)
        match = identical or math.isclose(float(old), float(new), rel_tol=rtol, abs_tol=0.0)
        out.append(Check(prefix + key, old, new, identical, match))
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def evaluate_record(path: str | Path, rtol: float = 1e-6) -> list[Check]:
    """Recompute ``path``'s test metrics (see the module docstring); UserError when it cannot be done."""
    from lstm_hist.registry import load

    path = Path(path)
    record = load_record(path)
    if record.get("status") != "completed":
        raise UserError(f"{path}: status {record.get('status')!r}; only completed records have final test metrics")
    cfg = record.get("config") or {}
    _, _, experiment, _ = load(record["id"])
    protocol = experiment.protocol(**(cfg.get("protocol") or {}))
    seed = _seed(record)
    if protocol.evaluation_refits:
        return _refit(record, experiment, protocol, cfg, seed, rtol)
    from lstm_hist.training.minibatch import MinibatchProtocol

    if isinstance(protocol, MinibatchProtocol):
        return _minibatch(path, record, experiment, protocol, cfg, rtol)
    # Any other protocol answers through the contract: TrainingProtocol.test_from_weights (the 1997 online
    # protocol's per-trial test); its default raises EvaluationUnavailable (the record cannot be checked).
    return _from_weights(path, record, experiment, protocol, cfg, seed, rtol)


def _seed(record: dict) -> int:
    seeds = record.get("seeds") or {}
    for value in (record.get("seed"), seeds.get("seed"), seeds.get("base")):
        if isinstance(value, int):
            return value
    raise UserError("the record names no seed")


def _from_weights(path, record, experiment, protocol, cfg, seed, rtol) -> list[Check]:
    trials = record.get("trials") or []
    if not any("test_wrong" in t for t in trials):
        raise UserError(f"{path}: no test metrics to recompute (Exp 1's criterion covers its test set)")
    weights = load_final_weights(path, record)
    test = protocol.test_from_weights(experiment=experiment, task_cfg=cfg["task"], model_cfg=cfg["model"], seed=seed,
                                      weights=weights)
    checks = []
    keys = ("test_wrong", "test_mse", "test_mean_abs_error")
    for b, row in enumerate(trials):
        checks += compare(row, {k: test[k][b].item() for k in keys}, rtol, prefix=f"trial {b} ")
    solved = np.array([bool(t.get("solved")) for t in trials])
    summary = {k: float(test[k][solved].mean()) for k in keys if solved.any()}
    if solved.any() and "fraction_misclassified" in (record.get("metrics") or {}):
        summary["fraction_misclassified"] = summary["test_wrong"] / int(test["test_sequences"])
    return checks + compare(record.get("metrics") or {}, summary, rtol)


def _minibatch(path, record, experiment, protocol, cfg, rtol) -> list[Check]:
    from lstm_hist.seeds import minibatch_seeds
    from lstm_hist.training import minibatch

    if not protocol.metrics_from_model_alone:
        # e.g. the NPLM's protocol mixes in a trigram after training: the model's own scores are not the record's.
        raise UserError(f"{path}: {type(protocol).__name__} reports more than the model's own evaluation; "
                        "evaluate recomputes the plain minibatch protocol's metrics only")
    weights = load_final_weights(path, record)
    metrics = record.get("metrics") or {}
    single = protocol.evaluation_protocol(metrics)
    seeds = record.get("seeds") or minibatch_seeds(_seed(record))
    data = minibatch.load_data(experiment, cfg["task"], seeds["data"])  # the same splits the run scored
    model = minibatch.build_model(experiment, cfg["model"], single, seeds["init"],
                                  steps_per_epoch=minibatch.batches_per_epoch(data["train"], single.batch_size))
    model.set_weights(weights)
    recomputed: dict[str, float] = {}
    for name in ("train", "valid", "test"):
        if name in data:
            recomputed.update(minibatch.evaluate_split(model, data[name], single, name))
    return compare(metrics, recomputed, rtol)


def _refit(record, experiment, protocol, cfg, seed, rtol) -> list[Check]:
    result = protocol.run(experiment=experiment, task_cfg=cfg["task"], model_cfg=cfg["model"], seed=seed)
    return compare(record.get("metrics") or {}, result.metrics(), rtol)


def report_lines(path: Path, checks: list[Check], rtol: float) -> tuple[list[str], bool]:
    """Printable lines and whether everything matched."""
    if not checks:
        raise UserError(f"{path}: nothing in the record to compare with what was recomputed")
    from lstm_hist.formatting import fmt, table_lines

    rows = [[c.key, _exact(c.recorded), _exact(c.recomputed),
             "identical" if c.identical else ("match" if c.match else "DIFFERS")] for c in checks]
    lines = ["  " + line for line in table_lines(["metric", "record", "recomputed", ""], rows)]
    ok = all(c.match for c in checks)
    identical = sum(c.identical for c in checks)
    lines.append(f"{path}: {'matches' if ok else 'does NOT match'} — {identical} of {len(checks)} numbers "
                 f"bit-identical, {sum(c.match for c in checks)} within rtol {fmt(rtol)}")
    return lines, ok


def _exact(value: Any) -> str:
    return repr(float(value)) if isinstance(value, (float, np.floating)) else str(value)


# --------------------------------------------------------------------------------------------------- command

EXIT_MISMATCH = 1  # the recomputed metrics differ from the record's


def register(sub, formatter_class, add_backend) -> None:
    """The ``evaluate`` subcommand (lstm_hist.cli calls this while it builds its parser)."""
    p = sub.add_parser("evaluate", help="recompute a record's test metrics from its kept weights",
                       formatter_class=formatter_class,
                       description="Recompute a completed record's test metrics without retraining (from the "
                                   "weights kept beside it, or by refitting an n-gram) and say whether they match "
                                   "(exit 0) or not (exit 1).\n\nexamples:\n"
                                   "  lstm-hist evaluate results/hochreiter1997/two_sequence_3a_t100_n1-<time>.json")
    p.add_argument("record", help="a run record (.json) with <stem>.weights.npz beside it")
    p.add_argument("--rtol", type=float, default=1e-6, help="relative tolerance for a match (default 1e-6)")
    add_backend(p)
    p.set_defaults(func=command)


def command(args) -> int:
    from lstm_hist.backend import select_backend

    record = load_record(Path(args.record))
    if args.backend is None:  # the record's own backend: another one rounds differently
        select_backend((record.get("provenance") or {}).get("backend"))
    lines, ok = report_lines(Path(args.record), evaluate_record(args.record, rtol=args.rtol), args.rtol)
    print("\n".join(lines))
    return 0 if ok else EXIT_MISMATCH

