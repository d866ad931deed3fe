"""The scorecard that opens docs/results.md: per paper and table, how many rows reproduce.

A row *reproduces* when every metric its tolerance judges (:mod:`lstm_hist.tolerance`) is within it
(:func:`lstm_hist.verdict.verdict`), *does not* when one is outside (or was not measured), is *not run* when it has
no completed record, and is *not judged* when its tolerance names none of its paper numbers or its paper column is
another data set's (``reported.reference_only``). The record judged is the one the table shows: the latest completed
record of the paper's config, else the latest completed one run with ``--set`` (the reduced protocol is named);
its numbers are the mean over the latest record of each seed run with that same config (CONVENTIONS: a row's
headline is the seed mean; the papers' targets are stated for it), shown with sd and n. Each judged row links to
its line in the tables below and to its entry in docs/deviations.md.

A row whose config names a ``variant`` (a modern baseline, a labelled reading that is not the paper's method) is
judged and shown the same way but not counted among the table's rows: the counts say how much of the paper
reproduces, and a variant is not the paper's model.
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable

from lstm_hist import seed_stats
from lstm_hist.reported import paper_metrics, reference_note
from lstm_hist.errors import UserError
from lstm_hist.tolerance import judge, row_rules
from lstm_hist.verdict import describe, no_value_reason

REPRODUCES, DOES_NOT, NOT_RUN, NOT_JUDGED = "reproduces", "does not", "not run", "not judged"
EARLIER = "earlier config"  # a completed record whose config is no longer the row's (lstm_hist.config_drift)
COLUMNS = (REPRODUCES, DOES_NOT, NOT_RUN, EARLIER, NOT_JUDGED)


def record_anchor(path: Path) -> str:
    """The HTML anchor the results table puts on a record's line (the scorecard links to it)."""
    return "rec-" + re.sub(r"[^A-Za-z0-9_-]", "-", path.stem)


def heading_slug(heading: str) -> str:
    """GitHub's anchor for a markdown heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _pick(candidates: list[tuple[Path, dict]]) -> tuple[Path, dict] | None:
    """The record to judge: completed on the paper's config, else completed with --set, else the latest other."""
    def rank(item):
        record = item[1]
        end = (record.get("provenance") or {}).get("end") or ""
        return (record.get("status") == "completed", not record.get("overrides"), end)

    return max(candidates, key=rank) if candidates else None


def judge_row(entry: dict, picked: tuple[Path, dict] | None, changes: list[str] | None = None,
              seeds: list[dict] | None = None) -> dict[str, Any]:
    """``{"status": one of COLUMNS, "verdicts": [...], "deviation": heading, "path", "record", "spread"}`` for one
    row. ``seeds``: the latest record of each seed of the picked record's config (:func:`seed_stats.config_seeds`);
    the verdict judges their mean (the papers' targets are for the seed mean), ``spread`` holds each metric's
    ``(sd, n)``. Without it, or with one seed, the picked record alone is judged."""
    try:
        rules = row_rules(entry["paper"], entry.get("experiment"), entry.get("tolerance"))
    except UserError as exc:
        warnings.warn(f"scorecard: {exc}", stacklevel=2)
        rules = {"tolerance": {}, "deviation": None}
    out: dict[str, Any] = {"verdicts": [], "deviation": rules["deviation"], "path": None, "record": None,
                           "changes": changes or [], "spread": {}}
    reported = paper_metrics(entry.get("reported"))
    if picked is not None:
        out["path"], out["record"] = picked
    if picked is None or picked[1].get("status") != "completed":
        out["status"] = NOT_RUN
        return out
    if changes:  # its numbers answer another config than the row's today: shown, not judged
        out["status"] = EARLIER
        return out
    if reference_note(entry.get("reported")) or not any(k in rules["tolerance"] for k in reported):
        out["status"] = NOT_JUDGED
        return out
    metrics, out["spread"] = seed_stats.mean_metrics(seeds or [picked[1]])
    out["verdicts"] = judge(reported, metrics, rules["tolerance"])
    out["tolerance"] = rules["tolerance"]
    out["status"] = REPRODUCES if all(v.within for v in out["verdicts"]) else DOES_NOT
    return out


def scorecard_lines(chosen: dict[str, tuple[Path, dict]], configs: list[dict], out_dir: Path,
                    stale: dict[Path, list[str]] | None = None,
                    loaded: list[tuple[Path, dict]] | None = None,
                    stand_in: Callable[[dict, list], tuple[Path, dict] | None] | None = None) -> list[str]:
    """The scorecard section: a summary table per paper and table, then each row's verdict (collapsed).
    ``loaded``: every record read, so a row is judged on the mean over its seeds (else on the picked record).
    ``stand_in(entry, current)``: for a row without a completed record of its config today, a record of another
    row that answers it (a paper's ``stand_in_record`` hook; ``current``: the chosen (path, record) pairs made on
    today's configs), marked by its ``stand_in`` text; None where there is none."""
    by_id: dict[str, list[tuple[Path, dict]]] = defaultdict(list)
    for path, record in chosen.values():
        by_id[record["id"]].append((path, record))
    deviations = _headings(out_dir / "deviations.md")
    current = [(p, r) for p, r in chosen.values() if p not in (stale or {})]
    rows: dict[str, dict[str, list[tuple[dict, dict]]]] = defaultdict(lambda: defaultdict(list))
    for entry in configs:
        picked = _pick(by_id.get(entry["id"], []))
        changes = (stale or {}).get(picked[0]) if picked else None
        seeds = seed_stats.config_seeds(loaded, picked[1]) if picked and loaded else None
        if stand_in is not None and (picked is None or picked[1].get("status") != "completed" or changes):
            other = stand_in(entry, current)
            if other is not None:
                picked, changes, seeds = other, None, None
        judged = judge_row(entry, picked, changes, seeds)
        rows[entry["paper"]][entry.get("table") or "(no table)"].append((entry, judged))
    if not rows:
        return []
    lines = ["## Scorecard", "",
             "Per paper table: rows whose numbers fall inside the row's tolerance (*reproduce*), outside it (*do "
             "not*), rows without a completed record (*not run*), rows whose latest record was made with an earlier "
             "version of the row's config (*earlier config*: shown below, labelled, not judged) and rows with nothing to judge (*not judged*: the "
             "paper's column is another data set, or no tolerance covers its numbers). Tolerances live with the "
             "paper's numbers: `configs/<paper>/_paper.yaml`, overridden by a row's `tolerance:`; the verdict is the "
             "one `lstm-hist run` prints, applied to the mean over the row's seeds (latest record of each seed of the "
             "row's config; sd and n shown). Each row's verdict is under its paper, with links to its line below and "
             "its deviation entry. Rows that are not the paper's method (a modern baseline: the config's `variant`) "
             "are judged and listed below but not counted in the table's rows; the last column says how many there "
             "are.", "",
             "| paper | table | rows | reproduce | do not (ours/paper) | not run | earlier config | not judged "
             "| variants (not counted) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for paper in sorted(rows):
        for table, items in sorted(rows[paper].items(), key=lambda kv: _table_key(kv[0])):
            paper_rows = [(e, j) for e, j in items if not e.get("variant")]
            counts = {c: str(sum(1 for _, j in paper_rows if j["status"] == c)) for c in COLUMNS}
            outside = [v.ratio for _, j in paper_rows for v in j["verdicts"] if not v.within and v.ratio is not None]
            if outside:  # how far off: the range of ours/paper over the numbers outside their tolerance
                low, high = min(outside), max(outside)
                counts[DOES_NOT] += f" ({low:.2g}×)" if f"{low:.2g}" == f"{high:.2g}" else f" ({low:.2g}–{high:.2g}×)"
            lines.append(f"| {paper} | {_md(table)} | {len(paper_rows)} | " + " | ".join(counts[c] for c in COLUMNS)
                         + f" | {len(items) - len(paper_rows)} |")
    lines.append("")
    for paper in sorted(rows):
        lines += _paper_details(paper, rows[paper], deviations, out_dir)
    return lines


def _paper_details(paper: str, tables: dict, deviations: set[str], out_dir: Path) -> list[str]:
    items = [(t, e, j) for t, group in sorted(tables.items(), key=lambda kv: _table_key(kv[0])) for e, j in group]
    shown = [(t, e, j) for t, e, j in items if j["status"] != NOT_RUN]
    lines = [f"<details><summary>{paper}: each row's verdict ({len(shown)} with a record)</summary>", "",
             "| table | row | verdict | numbers (ours / paper, tolerance) | deviations |", "|---|---|---|---|---|"]
    for table, entry, judged in shown:
        label = _md(entry.get("row") or entry["id"])
        record = judged["record"] or {}
        if judged["path"] is not None:
            label = f"[{label}](#{record_anchor(judged['path'])})"
        if record.get("overrides"):
            label += f" (run with `--set {' '.join(record['overrides'])}`)"
        if record.get("stand_in"):
            label += f" (no record of its own: {_md(record['stand_in'])})"
        numbers = "; ".join(_verdict_cell(v, judged["tolerance"][v.metric], judged["spread"].get(v.metric),
                                          record.get("metrics"))
                            for v in judged["verdicts"])
        if judged["status"] == EARLIER:
            from lstm_hist.config_drift import drift_text

            numbers = _md(drift_text(judged["changes"]))
        lines.append(f"| {_md(table)} | {label} | {_status_cell(judged, entry.get('variant'))} | {numbers or '—'} | "
                     f"{_deviation_link(judged['deviation'], deviations)} |")
    not_run = [(e, j) for _, e, j in items if j["status"] == NOT_RUN]
    names = {kind: [f"`{e['id'].split('/', 1)[1]}`" + (f" ({j['record'].get('status')})" if j["record"] else "")
                    for e, j in not_run if bool(e.get("variant")) == kind] for kind in (False, True)}
    lines += ["", f"Not run to completion ({len(names[False])}): {', '.join(names[False]) or 'none'}."]
    if names[True]:
        lines += ["", f"Variants (not counted) not run to completion ({len(names[True])}): {', '.join(names[True])}."]
    lines += ["", "</details>", ""]
    return lines


def _status_cell(judged: dict, variant: str | None = None) -> str:
    if variant:
        return f"variant, not counted ({_md(variant)}): {_status_cell(judged)}"
    status = judged["status"]
    if status == EARLIER:
        return "earlier config (not judged)"
    if status == NOT_JUDGED:
        return "not judged (paper column is another data set)" if reference_note(
            (judged["record"] or {}).get("reported")) else "not judged (no tolerance)"
    return "**reproduces**" if status == REPRODUCES else "does not"


def _verdict_cell(v, tolerance, spread: tuple | None = None, metrics: dict | None = None) -> str:
    from lstm_hist.formatting import fmt

    if v.ours is not None:
        ours = fmt(v.ours)
    elif reason := no_value_reason(metrics, v.metric):  # a mean over solved trials has no value
        ours = f"none ({reason})"
    else:
        ours = "not measured"
    if v.ours is not None and spread and spread[1] > 1:  # the seed mean was judged: say over how many, how spread
        ours = f"{ours} ± {fmt(spread[0])} (n={spread[1]})"
    ratio = f" = {v.ratio:.3g}×" if v.ratio is not None else ""
    mark = "✓" if v.within else "✗"
    return f"{v.metric} {ours} / {fmt(v.paper)}{ratio} ({describe(tolerance)}) {mark}"  # ✗ also when unmeasured


def _deviation_link(heading: str | None, known: set[str]) -> str:
    if not heading:
        return "[deviations](deviations.md)"
    slug = heading_slug(heading)
    return f"[{_md(heading)}](deviations.md#{slug})" if slug in known else f"[deviations](deviations.md) ({_md(heading)})"


def _headings(path: Path) -> set[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return set()
    return {heading_slug(m.group(1)) for m in re.finditer(r"^#+\s+(.+?)\s*$", text, flags=re.M)}


def _table_key(table: str) -> tuple:
    digits = "".join(ch if ch.isdigit() else " " for ch in table).split()
    return (0, int(digits[0]), table) if digits else (1, 0, table)


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


