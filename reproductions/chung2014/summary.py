"""Whether Chung et al.'s ranking of tanh / GRU / LSTM holds per data set, from the run records (§4, Table 2).

Table 2 rows are named ``"<data set> / <unit>"``; for each data set the units are ranked by test NLL (lower is
better), the paper's printed numbers against ours. The report (``lstm-hist report``) appends this under the
paper's tables via :func:`report_notes`.
"""

from __future__ import annotations

from collections import defaultdict

from lstm_hist.config import paper_metrics, reference_note


def rankings(records: list[dict], metric: str = "test_nll") -> list[dict]:
    """One entry per data set with both the paper's and our order of the units (only rows with both numbers).

    Rows run with ``--set`` overrides count, labelled, when no plain row of that unit exists."""
    by_set: dict[str, dict[str, tuple[float, float, bool]]] = defaultdict(dict)
    for record in records:
        row = str(record.get("row") or "")
        if " / " not in row:
            continue
        data_set, unit = (part.strip() for part in row.split(" / ", 1))
        if reference_note(record.get("reported")):
            data_set += " (paper column: another data set)"
        paper = paper_metrics(record.get("reported")).get(metric)
        ours = (record.get("metrics") or {}).get(metric)
        if not isinstance(paper, (int, float)) or not isinstance(ours, (int, float)):
            continue
        if record.get("status") != "completed":
            continue
        plain = not record.get("overrides")
        if unit in by_set[data_set] and by_set[data_set][unit][2] and not plain:
            continue  # keep the plain row over an override variant
        by_set[data_set][unit] = (float(paper), float(ours), plain)
    out = []
    for data_set, units in by_set.items():
        if len(units) < 2:
            continue
        paper_order = sorted(units, key=lambda u: units[u][0])
        our_order = sorted(units, key=lambda u: units[u][1])
        out.append({"data_set": data_set, "paper": paper_order, "ours": our_order,
                    "holds": paper_order == our_order, "reduced": [u for u in units if not units[u][2]]})
    return out


def report_notes(records: list[dict]) -> list[str]:
    ranks = rankings(records)
    if not ranks:
        return []
    lines = ["### Does the paper's ranking hold? (test NLL, best first)", "",
             "| data set | paper | ours | same order |", "|---|---|---|---|"]
    for r in ranks:
        note = f" (rows run with a reduced protocol: {', '.join(r['reduced'])})" if r["reduced"] else ""
        lines.append(f"| {r['data_set']} | {' < '.join(r['paper'])} | {' < '.join(r['ours'])} | "
                     f"{'yes' if r['holds'] else 'no'}{note} |")
    lines += ["", "Single seed per row; differences of a few hundredths of a nat are within what another seed or "
              "learning-rate sample changes.", ""]
    return lines
