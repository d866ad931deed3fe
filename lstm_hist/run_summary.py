"""What ``lstm-hist run`` prints when a run ends: the paper-vs-ours table of its record, and its verdicts."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from lstm_hist.formatting import fmt, spread, table_lines
from lstm_hist.reported import paper_metrics


def print_summary(record: dict, path: Path, stream: TextIO) -> None:
    """The paper-vs-ours table for one record."""
    reported, metrics = paper_metrics(record.get("reported")), record.get("metrics") or {}
    trials = record.get("trials") or []
    where = " ".join(str(x) for x in (record.get("section"), record.get("table"), record.get("row")) if x)
    print(f"\n{record['id']} — {record.get('title') or ''} ({where})", file=stream)
    print(f"status: {record['status']}" + ("  [smoke run: not comparable to the paper]" if record.get("smoke") else ""),
          file=stream)
    keys = list(reported) + [k for k in metrics if k not in reported]
    rows = [[k, fmt(reported.get(k)) if k in reported else "", fmt(metrics.get(k)), spread(k, trials)] for k in keys]
    headers = ["metric", "paper", "ours", "per-trial spread (solved trials)"]
    if not any(row[3] for row in rows):  # no trials to spread over: no empty column
        headers, rows = headers[:3], [row[:3] for row in rows]
    if rows:
        for line in table_lines(headers, rows):
            print("  " + line, file=stream)
    prov = record.get("provenance", {})
    run = record.get("run") or {}
    killed = f", {run['killed_segments']} killed without a record" if run.get("killed_segments") else ""
    total = (f" ({run['train_seconds_total']} s over {run['segments']} segments{killed}, "
             f"{run.get('repeated_sequences', 0):,} sequences repeated)" if run.get("segments", 1) > 1 else "")
    print(f"backend {prov.get('backend')} on {prov.get('device')}, wall {prov.get('wall_seconds')} s{total}",
          file=stream)
    if record["status"] == "completed" and not record.get("smoke"):
        print_verdicts(record, stream)
    print(f"record: {path}", file=stream)


def print_verdicts(record: dict, stream: TextIO) -> None:
    """One verdict line per number the paper reports, and where docs/deviations.md discusses the row."""
    from lstm_hist.deviations import pointer
    from lstm_hist.tolerance import record_verdicts

    judged = record_verdicts(record)  # the scorecard's rule, so the run and docs/results.md agree
    for one in judged:
        print(f"verdict: {one.text}", file=stream)
    if not judged:
        print("verdict: none (no tolerance in configs/<paper>/_paper.yaml or the row covers these numbers, "
              "or the paper's numbers are on other data)", file=stream)
    print(pointer(record.get("paper") or record["id"].split("/", 1)[0], record.get("section")), file=stream)
