"""Which learning rate and which epoch each Chung et al. (2014) run kept (§4: the learning rate is the best of the
log-uniform candidates on validation, and early stopping keeps the best-validation parameters), from the records.

Every record of the protocol says it: ``metrics.learning_rate`` (the chosen candidate's rate), ``metrics.best_epoch``
(the epoch whose weights were evaluated) and ``metrics.epochs``, and per candidate its own rate, best epoch and
validation NLL (``trials``). The report (``lstm-hist report``) prints one line per row and seed under the paper's
tables, via :func:`selection_lines` (called from ``summary.report_notes``).
"""

from __future__ import annotations

from lstm_hist.formatting import fmt


def _row_label(record: dict) -> str:
    label = str(record.get("row") or record.get("id"))
    return label + "".join(f" [{item}]" for item in record.get("overrides") or [])


def _seed(record: dict):
    seed = record.get("seed", (record.get("seeds") or {}).get("base"))
    return seed if isinstance(seed, int) else "—"


def _candidates_text(record: dict) -> str:
    """``"3rd of 10 by rate; best epoch at the cap for 2"``: where the chosen rate sits among the candidates, and
    how many candidates were still improving at the last epoch (their best epoch = the epochs run)."""
    rows = [t for t in record.get("trials") or [] if isinstance(t.get("learning_rate"), (int, float))]
    if len(rows) < 2:
        return "one rate (no search)"
    rates = sorted(t["learning_rate"] for t in rows)
    chosen = next((t for t in rows if t.get("chosen")), None)
    place = f"{rates.index(chosen['learning_rate']) + 1} of {len(rows)} (by rate, lowest first)" if chosen else \
        f"— of {len(rows)}"
    capped = sum(1 for t in rows if t.get("status") == "completed" and t.get("epochs")
                 and t.get("best_epoch") == t.get("epochs"))
    diverged = sum(1 for t in rows if t.get("status") == "diverged")
    extra = [f"{capped} still improving at their last epoch"] if capped else []
    extra += [f"{diverged} diverged"] if diverged else []
    return place + (f"; {', '.join(extra)}" if extra else "")


def selection_lines(records: list[dict]) -> list[str]:
    """A table of the chosen learning rate and best epoch per row and seed (completed records with a search)."""
    rows = [r for r in records if r.get("status") == "completed"
            and isinstance((r.get("metrics") or {}).get("learning_rate"), (int, float))]
    if not rows:
        return []
    rows.sort(key=lambda r: (_row_label(r), str(_seed(r))))
    lines = ["### Selected learning rate and epoch (§4: best of the candidates on validation; best-validation "
             "weights kept)", "",
             "| row | seed | learning rate | best epoch / epochs run | chosen rate among the candidates |",
             "|---|---|---|---|---|"]
    for r in rows:
        m = r["metrics"]
        lines.append(f"| {_row_label(r)} | {_seed(r)} | {m['learning_rate']:.3g} | {fmt(m.get('best_epoch'))} / "
                     f"{fmt(m.get('epochs'))} | {_candidates_text(r)} |")
    return lines + [""]
