"""What a campaign prints: the plan, a status block while it runs, a line per finished task, the closing summary.

Each running row's line comes from the progress file its ``run`` writes (lstm_hist.progress_file): the
protocol's own counters and, where it has a cap, the time to that cap at the rate measured since its first report
(a run that meets its criterion or stops early ends sooner: the ETA is to the cap). A row running on another Ray node has no
file here and is counted, not shown.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from lstm_hist import progress_file, seed_stats
from lstm_hist.reported import paper_metrics
from lstm_hist.progress import format_duration, format_progress
from lstm_hist.formatting import fmt, table_lines


def eta_text(data: dict | None, now: float | None = None) -> str:
    """Progress and ETA of one running row from its progress file's content."""
    if not data or not isinstance(data.get("info"), dict):
        return "starting (no progress reported yet)"
    info, now = data["info"], now or time.time()
    eta = progress_file.eta_seconds(data)
    text = format_progress(info, eta if "max_sequences" in info else None)
    if eta is not None and "max_sequences" not in info:
        text += f" · ETA to the epoch cap {format_duration(eta)}"
    age = now - float(data.get("time", now))
    return text + (f" · last update {format_duration(age)} ago" if age > 60 else "")


class Monitor:
    def __init__(self, stream: TextIO, interval: float):
        self.stream, self.interval = stream, interval
        self.started = time.monotonic()
        self.last = float("-inf")

    def print(self, text: str = "") -> None:
        print(text, file=self.stream, flush=True)

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.interval

    def status(self, counts: dict[str, int], running: list[tuple[str, Path]]) -> None:
        """``running``: (label, its progress file) per task running on this machine."""
        self.last = time.monotonic()
        parts = [f"{n} {k}" for k, n in counts.items() if n]
        self.print(f"[campaign {format_duration(time.monotonic() - self.started)}] " + ", ".join(parts))
        for label, path in running:
            self.print(f"  {label}: {eta_text(progress_file.read(path))}")


def summary_lines(rows: list[str], configs: dict[str, dict], per_seed: dict[str, dict[int, dict]],
                  seeds: list[int], row_groups: dict[str, list[dict]] | None = None) -> list[str]:
    """Per row and headline metric: the paper's number and ours as mean ± sd (n) over the campaign's seeds.

    ``row_groups``: per row, the latest completed record of every seed run with its config in the output folder
    (:func:`seed_stats.config_seeds`), which is what the report averages; where that holds seeds this campaign did
    not run (seed 0 from an earlier session, say), a second column gives the row's mean over all of them, so the
    campaign's n and the report's are not confused."""
    row_groups = row_groups or {}
    wider = {r: g for r, g in row_groups.items() if len(g) > len(per_seed.get(r, {}))}
    table = []
    for exp_id in rows:
        records = {s: r for s, r in per_seed.get(exp_id, {}).items() if s in seeds}
        missing = [s for s in seeds if s not in records]
        reported = paper_metrics(configs[exp_id].get("reported"))
        keys = list(reported) or sorted({k for r in records.values() for k in (r.get("metrics") or {})})[:3]
        for i, key in enumerate(keys):
            ours = seed_stats.format_mean_sd(seed_stats.metric_over_seeds(records, key), fmt) if records else "—"
            note = ("seeds without a completed record: " + ",".join(map(str, missing))) if missing and i == 0 else ""
            row = [exp_id if i == 0 else "", key, fmt(reported.get(key)) if key in reported else "", ours]
            if wider:
                group = wider.get(exp_id)
                row.append(seed_stats.format_mean_sd([(r.get("metrics") or {}).get(key) for r in group], fmt)
                           if group else "")
            table.append(row + [note])
    header = ["row", "metric", "paper", "ours: mean ± sd (n seeds)"]
    header += ["every seed of its config here (n)"] if wider else []
    return table_lines(header + ["note"], table) if table else []
