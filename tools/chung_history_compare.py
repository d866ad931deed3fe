"""Compare the per-epoch history of one learning-rate candidate across Chung et al. (2014) run records.

Why (docs/deviations.md, Chung section, "Nottingham at the full protocol"): a single-rate run that changes one
setting (e.g. ``--set protocol.weight_noise=0``) is compared with the same rate's candidate inside the full-protocol
record. The one-graph path replays a pinned candidate exactly (checked: ``path_check/``), so the record's history
*is* the other arm. Histories hold the per-piece summed NLL (``loss``: training pieces, at the noisy weights when
weight noise is on; ``val_loss``: validation pieces, clean weights); this tool divides them by the mean scored
steps per piece of the split (``metrics.train_steps`` / pieces), which gives the per-step NLL of the report
(exact for ``val_loss``, the mean over the epoch's updates for ``loss``).

    python tools/chung_history_compare.py --rate 7.946851315561394e-05 --pieces 694 173 \
        --arm "noise on" results/chung2014/nottingham_gru-seed0-...json \
        --arm "noise off" results/explorations/chung_nottingham/noise_off_lr7.95e-5/chung2014/...json \
        --out results/explorations/chung_nottingham/noise_compare.json

``--all-rates`` instead of ``--rate`` compares every candidate of two full searches (e.g. a search under another
clip) and says which rate each search would keep within the epochs both have.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from json_out import emit  # tools/json_out.py: run as `python tools/<name>.py`

MILESTONES = (1, 5, 10, 25, 50, 75, 100, 150, 200, 250, 300, 350, 400, 450, 500)


def candidate(record: dict, rate: float) -> dict:
    """The record's trial with this learning rate (relative tolerance 1e-9)."""
    for row in record.get("trials") or []:
        if abs(row["learning_rate"] - rate) <= 1e-9 * rate:
            return row
    raise SystemExit(f"error: no candidate with learning rate {rate!r} in the record")


def split_steps(records: list[dict]) -> tuple[int, int]:
    """(train, valid) scored steps from the records' metrics; an interrupted record has none, so any arm that
    completed gives them (all arms read the same data; they must agree)."""
    found = {(m["train_steps"], m["valid_steps"]) for m in (r.get("metrics", {}) for r in records)
             if m.get("train_steps")}
    if len(found) != 1:
        raise SystemExit(f"error: the records give {len(found)} different step counts (need exactly one)")
    return found.pop()


def arm_summary(path: Path, record: dict, rate: float, pieces: tuple[int, int], steps: tuple[int, int],
                upto: int | None) -> dict:
    row = candidate(record, rate)
    metrics = record.get("metrics", {})
    per_train, per_valid = steps[0] / pieces[0], steps[1] / pieces[1]
    loss = [v / per_train for v in row["history"]["loss"]]
    val = [v / per_valid for v in row["history"]["val_loss"]]
    n = len(val) if upto is None else min(upto, len(val))
    best = min(range(n), key=lambda i: val[i])
    return {"record": str(path), "status": record.get("status"), "candidate_status": row["status"],
            "epochs": len(val), "compared_epochs": n,
            "best_epoch_within": best + 1, "best_valid_nll_within": val[best],
            "train_loss_at_best_within": loss[best],
            "at": {str(e): {"train_loss": loss[e - 1], "valid_nll": val[e - 1]} for e in MILESTONES if e <= n},
            # sudden rises of the training loss: epochs whose per-step loss exceeds the previous epoch's by > 0.05
            "loss_jumps_over_0.05": [[e + 1, loss[e] - loss[e - 1]] for e in range(1, n) if loss[e] - loss[e - 1] > 0.05],
            "record_metrics": {k: metrics.get(k) for k in ("train_nll", "valid_nll", "test_nll", "best_epoch")}}


def compare(args, records: dict, rate: float, steps: tuple[int, int]) -> dict:
    """Every arm's summary for one rate, over the epochs all arms have (records: label -> parsed record)."""
    common = min(len(candidate(records[label], rate)["history"]["val_loss"]) for label, _ in args.arm)
    arms = {label: arm_summary(Path(p), records[label], rate, tuple(args.pieces), steps, common)
            for label, p in args.arm}
    return {"learning_rate": rate, "common_epochs": common, "train_valid_steps": list(steps), "arms": arms}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--rate", type=float, help="the candidate's learning rate")
    which.add_argument("--all-rates", action="store_true",
                       help="every candidate of the first arm's record (each arm must hold the same rates)")
    parser.add_argument("--pieces", type=int, nargs=2, required=True, metavar=("TRAIN", "VALID"),
                        help="pieces in the training and validation splits")
    parser.add_argument("--arm", nargs=2, action="append", required=True, metavar=("LABEL", "RECORD"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    records = {label: json.loads(Path(p).read_text()) for label, p in args.arm}
    steps = split_steps(list(records.values()))
    if args.all_rates:
        rates = [row["learning_rate"] for row in records[args.arm[0][0]]["trials"]]
        results = [compare(args, records, rate, steps) for rate in rates]
        # Which candidate each arm's search would keep if the run ended at the common epoch count.
        chosen = {label: min(results, key=lambda r: r["arms"][label]["best_valid_nll_within"])["learning_rate"]
                  for label, _ in args.arm}
        emit({"train_valid_steps": list(steps), "chosen_within_common_epochs": chosen, "rates": results}, args.out)
        for r in results:
            print(f"{r['learning_rate']:.3g}: " + "  ".join(
                f"{label} best valid {a['best_valid_nll_within']:.3f} (epoch {a['best_epoch_within']}), "
                f"{len(a['loss_jumps_over_0.05'])} jumps" for label, a in r["arms"].items()), file=sys.stderr)
        return 0
    result = compare(args, records, args.rate, steps)
    emit(result, args.out)
    arms, common = result["arms"], result["common_epochs"]
    lines = [f"epoch  " + "  ".join(f"{label:>24}" for label in arms)]
    for e in MILESTONES:
        if e <= common:
            cells = [f"{a['at'][str(e)]['train_loss']:.3f} / {a['at'][str(e)]['valid_nll']:.3f}" for a in arms.values()]
            lines.append(f"{e:5d}  " + "  ".join(f"{c:>24}" for c in cells))
    print("\n".join(lines), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
