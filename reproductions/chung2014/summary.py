"""Whether Chung et al.'s ranking of tanh / GRU / LSTM holds per data set, from the run records (§4, Table 2).

Table 2 rows are named ``"<data set> / <unit>"``; for each data set the units are ranked by their mean test NLL over
seeds (lower is better), the paper's printed numbers against ours, and every pair the paper orders is checked
against the seeds' spread. The report (``lstm-hist report``) appends this under the paper's tables via
:func:`report_notes`.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

from lstm_hist import seed_stats
from lstm_hist.reported import paper_metrics, reference_note


def _unit_stats(values: list[float]) -> dict:
    mean, sd, n = seed_stats.mean_sd(values)  # the report's own mean ± sd (n) over seeds
    return {"mean": mean, "sd": sd, "n": n}


def _runs_by_unit(records: list[dict], metric: str) -> dict[str, dict[str, dict]]:
    """data set → unit → the runs of one protocol variant: the plain rows (no ``--set``) when there are any, else
    the override variant with the most runs (labelled reduced). Seeds of one variant are pooled."""
    groups: dict[str, dict[str, dict[tuple, dict]]] = defaultdict(lambda: defaultdict(dict))
    for record in records:
        row = str(record.get("row") or "")
        if " / " not in row or record.get("status") != "completed":
            continue
        data_set, unit = (part.strip() for part in row.split(" / ", 1))
        if reference_note(record.get("reported")):
            data_set += " (paper column: another data set)"
        paper = paper_metrics(record.get("reported")).get(metric)
        ours = (record.get("metrics") or {}).get(metric)
        if not isinstance(paper, (int, float)) or not isinstance(ours, (int, float)):
            continue
        variant = tuple(record.get("overrides") or ())
        group = groups[data_set][unit].setdefault(variant, {"paper": float(paper), "values": []})
        group["values"].append(float(ours))
    out: dict[str, dict[str, dict]] = {}
    for data_set, units in groups.items():
        out[data_set] = {}
        for unit, variants in units.items():
            variant = () if () in variants else max(variants, key=lambda v: len(variants[v]["values"]))
            chosen = variants[variant]
            out[data_set][unit] = {"paper": chosen["paper"], **_unit_stats(chosen["values"]), "plain": variant == ()}
    return out


def _separated(a: dict, b: dict) -> bool | None:
    """Whether two units' means differ by more than the sum of their seeds' sds (None: a unit has one run)."""
    if a["sd"] is None or b["sd"] is None:
        return None
    return abs(a["mean"] - b["mean"]) > a["sd"] + b["sd"]


def rankings(records: list[dict], metric: str = "test_nll") -> list[dict]:
    """One entry per data set with at least two units: the paper's order, ours (by seed mean), per-unit mean, sd
    and n, and ``spread``: "beyond" (every pair the paper orders is ours in the same order and separated by more
    than the sds), "within" (a pair is undecided or reversed, but within the spread), "reversed" (a pair is
    reversed beyond the spread), "n=1" (some unit has a single run, so there is no spread to compare with) or "none"
    (the paper prints every unit with the same number).

    A pair the paper prints with the same number (Piano-midi: LSTM and tanh both 9.03) is listed in ``ties`` and
    judged neither way: the paper does not order it, so ``holds`` asks only about the pairs it does order."""
    out = []
    for data_set, units in _runs_by_unit(records, metric).items():
        if len(units) < 2:
            continue
        paper_order = sorted(units, key=lambda u: units[u]["paper"])
        our_order = sorted(units, key=lambda u: units[u]["mean"])
        verdicts, ties, holds = [], [], True
        for better, worse in itertools.combinations(paper_order, 2):
            if units[better]["paper"] == units[worse]["paper"]:
                ties.append((better, worse))
                continue
            same = units[better]["mean"] < units[worse]["mean"]
            holds = holds and same
            separated = _separated(units[better], units[worse])
            verdicts.append("n=1" if separated is None else
                            ("beyond" if same else "reversed") if separated else "within")
        spread = next((v for v in ("n=1", "reversed", "within") if v in verdicts), "beyond" if verdicts else "none")
        out.append({"data_set": data_set, "paper": paper_order, "ours": our_order, "holds": holds, "ties": ties,
                    "reduced": [u for u in units if not units[u]["plain"]], "units": units, "spread": spread})
    return out


def _paper_order_text(rank: dict) -> str:
    order = rank["paper"]
    return order[0] + "".join((" = " if (a, b) in rank["ties"] else " < ") + b for a, b in zip(order, order[1:]))


SPREAD_WORDS = {"beyond": "yes, beyond the seeds' spread", "within": "within the seeds' spread",
                "reversed": "no, reversed beyond the seeds' spread", "n=1": "one run per unit: no spread",
                "none": "the paper orders no pair"}


def _cell(unit: str, stats: dict) -> str:
    sd = f" ± {stats['sd']:.2f}" if stats["sd"] is not None else ""
    return f"{unit} {stats['mean']:.2f}{sd} (n={stats['n']})"


def report_notes(records: list[dict], configs: list[dict] | None = None) -> list[str]:
    """For ``lstm-hist report``: the ranking table per data set from the chosen records (the paper's config entries
    are not needed: each record carries its row's ``reported`` numbers)."""
    from .selection_notes import selection_lines

    ranks = rankings(records)
    if not ranks:
        return selection_lines(records)
    lines = ["### Does the paper's ranking hold? (test NLL, mean ± sd over seeds (n), best first)", "",
             "| data set | paper | ours | same order | paper's pairs vs the spread |", "|---|---|---|---|---|"]
    for r in ranks:
        note = f" (rows run with a reduced protocol: {', '.join(r['reduced'])})" if r["reduced"] else ""
        ours = " < ".join(_cell(u, r["units"][u]) for u in r["ours"])
        lines.append(f"| {r['data_set']} | {_paper_order_text(r)} | {ours} | "
                     f"{'yes' if r['holds'] else 'no'}{note} | {SPREAD_WORDS[r['spread']]} |")
    lines += ["", "A pair counts as separated when the two means differ by more than the sum of the two seeds' "
              "standard deviations. A pair the paper prints equal (\"=\") is not judged.", ""]
    return lines + selection_lines(records)
