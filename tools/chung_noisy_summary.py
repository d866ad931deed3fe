"""Mean and sd over seeds of `chung_nll_by_length.py --noise-draws` outputs: per row, each split clean and noisy.

Reads every `<record>.json` of a folder that holds a noisy score (one per seeded record's kept weights) and
groups them by row. The paper's train and test NLL come from the scored record's own `reported` (the record
beside its `.weights.npz`), so the ratios use the numbers the row was run against. sd is the sample sd.

    python tools/chung_noisy_summary.py results/explorations/chung_noisy_eval --out results/explorations/chung_noisy_eval/summary.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from json_out import emit  # tools/json_out.py: run as `python tools/<name>.py`

SPLITS = ("train", "valid", "test")


def summarise(folder: Path, root: Path) -> dict:
    rows: dict[str, list[tuple[str, dict]]] = {}
    for path in sorted(folder.glob("*-seed*.json")):
        scored = json.loads(path.read_text())
        if "noisy" in scored:
            rows.setdefault(scored["row"].split("/")[-1], []).append((path.name, scored))
    summary = {}
    for row, files in rows.items():
        weights = files[0][1]["weights"]
        reported = json.loads((root / weights.replace(".weights.npz", ".json")).read_text())["reported"]
        entry: dict = {"n": len(files), "records": [name for name, _ in files]}
        for split in SPLITS:
            for kind, key in (("clean", "splits"), ("noisy", "noisy")):
                values = [scored[key][split]["nll"] for _, scored in files]
                entry[f"{split}_{kind}_mean"] = statistics.mean(values)
                entry[f"{split}_{kind}_sd"] = statistics.stdev(values) if len(values) > 1 else None
        entry["paper_train"], entry["paper_test"] = reported["train_nll"], reported["test_nll"]
        entry["test_noisy_over_paper"] = entry["test_noisy_mean"] / entry["paper_test"]
        entry["test_clean_over_paper"] = entry["test_clean_mean"] / entry["paper_test"]
        summary[row] = entry
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="a folder of chung_nll_by_length.py outputs")
    parser.add_argument("--root", type=Path, default=Path("."), help="where the outputs' `weights` paths start (default: .)")
    parser.add_argument("--out", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    emit(summarise(args.folder, args.root), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
