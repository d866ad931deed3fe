"""Table 1 paper vs ours from the run records, and the paper's headline comparison (§4.2, Table 1 caption).

The caption: the deleted-interpolation trigram's test perplexity is 33 % above that of the network with the lowest
validation perplexity (MLP10, 252), and the best n-gram (class-based, 312) 24 % above it. Here the same ratios are
computed from whatever records exist, never from typed numbers::

    lstm-hist summary bengio2003 --runs results        # (or any folder of run records)

The shared layer hands every function here the records and the paper's config entries (``summary_lines``,
``report_notes``, ``report_plots``); this module reads no file and asks no registry.

Mixture rows without their own record take the ``mix_*`` numbers of the odd row's record (same network, same
trigram, see docs/deviations.md (Bengio section) N8) and say so.

Only records of the same data preparation are compared (:mod:`.data_rule`: where the rare-word rule counts, whether
the separator marks are in the stream): "ours" uses the records made on the configs' current preparation, names the
Table 1 rows that have none yet, and names the rows shown from an earlier preparation, which it leaves out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lstm_hist import figures

from .data_rule import CURRENT_RULE, DataRule, data_rule, is_earlier_data, rule_text


def latest_records(loaded: list[tuple[Path, dict]], rule: DataRule = CURRENT_RULE) -> dict[str, dict]:
    """The latest completed, non-smoke record per bengio2003 id among those made on the data preparation ``rule``."""
    out: dict[str, tuple[str, dict]] = {}
    for path, record in sorted(loaded, key=lambda item: str(item[0])):
        if not str(record.get("id", "")).startswith("bengio2003/") or record.get("smoke") or record.get("status") != "completed" or record.get("kind") == "estimate":
            continue
        if data_rule(record) != rule:
            continue
        end = (record.get("provenance") or {}).get("end", "")
        if record["id"] not in out or end >= out[record["id"]][0]:
            out[record["id"]] = (end, {**record, "_path": str(path)})
    return {k: v[1] for k, v in out.items()}


def table1(loaded: list[tuple[Path, dict]], configs: list[dict], rule: DataRule = CURRENT_RULE) -> list[dict[str, Any]]:
    """One row per Table 1 config (``configs``: the paper's config entries): paper's numbers, ours on the preparation
    ``rule`` (or None) from the records ``loaded`` (path, record), where ours come from."""
    records = latest_records(loaded, rule)
    rows = []
    for entry in configs:
        if entry.get("table") != "Table 1":
            continue
        exp_id, reported = entry["id"], entry["reported"]
        row: dict[str, Any] = {"id": exp_id, "row": entry["row"], "paper": reported, "ours": {}, "source": None}
        record = records.get(exp_id)
        if record is not None:
            row["ours"] = {k: record["metrics"].get(k) for k in ("train_perplexity", "valid_perplexity",
                                                                  "test_perplexity")}
            row["source"] = record["_path"] + (f" [{', '.join(record['overrides'])}]" if record.get("overrides") else "")
        elif _mixture_base(exp_id) is not None:
            base = records.get(_mixture_base(exp_id))
            if _mixture_numbers(base) is not None:
                row["ours"] = _mixture_numbers(base)
                row["source"] = f"mix_* of {base['_path']}" + (
                    f" [{', '.join(base['overrides'])}]" if base.get("overrides") else "")
        rows.append(row)
    return sorted(rows, key=_table_order)


def _mixture_numbers(record: dict | None) -> dict[str, float] | None:
    """A network record's 0.5-mixture numbers as a mixture row's own (valid/test perplexity), or None."""
    metrics = (record or {}).get("metrics") or {}
    if "mix_test_perplexity" not in metrics:
        return None
    return {"valid_perplexity": metrics["mix_valid_perplexity"], "test_perplexity": metrics["mix_test_perplexity"]}


def _mixture_base(exp_id: str) -> str | None:
    """The network row whose 0.5 mixture a mixture row is (MLP2 → MLP1, …); None for other rows."""
    stem = exp_id.split("/", 1)[1]
    if not stem.startswith("mlp") or int(stem[3:]) % 2:
        return None
    return f"bengio2003/mlp{int(stem[3:]) - 1}"


def stand_in_record(entry: dict, current: list[tuple[Path, dict]]) -> tuple[Path, dict] | None:
    """The report's scorecard hook: a mixture row (MLP2, 4, …) without a record of its own today is answered by
    its network row's latest completed record on the current data preparation — the same network and trigram,
    its ``mix_*`` numbers as the row's (docs/deviations.md, Bengio N8), marked as such."""
    base_id = _mixture_base(entry["id"])
    bases = [(p, r) for p, r in current if base_id is not None and r.get("id") == base_id
             and r.get("status") == "completed" and not r.get("overrides") and not r.get("smoke")
             and data_rule(r) == CURRENT_RULE and _mixture_numbers(r) is not None]
    if not bases:
        return None
    path, base = max(bases, key=lambda item: (item[1].get("provenance") or {}).get("end") or "")
    record = {**base, "id": entry["id"], "row": entry.get("row"), "reported": entry.get("reported"),
              "metrics": _mixture_numbers(base),
              "stand_in": f"the {base.get('row') or base_id} record's 0.5 mixture with the trigram, deviations N8"}
    return path, record


def _table_order(row: dict) -> tuple:
    """Table 1's order: MLP1 … MLP10, Del. Int., Kneser–Ney 3–5, class-based rows."""
    stem = row["id"].split("/", 1)[1]
    if stem.startswith("mlp"):
        return (0, int(stem[3:]), "")
    if stem == "del_int":
        return (1, 0, "")
    if stem.startswith("kn"):
        return (2, int(stem[2:]), "")
    n, c = stem.removeprefix("class_n").split("_c")  # class_n3_c500
    return (3, int(n), f"{int(c):06d}")


def gains(rows: list[dict[str, Any]], which: str) -> dict[str, Any]:
    """Test perplexity of the network with the lowest validation perplexity, and how far above it the
    deleted-interpolation trigram and the best (lowest-validation) n-gram are, for ``which`` = paper | ours."""
    def numbers(row):
        return row["paper"] if which == "paper" else row["ours"]

    nets = [r for r in rows if r["id"].split("/")[1].startswith("mlp") and numbers(r).get("valid_perplexity")]
    grams = [r for r in rows if not r["id"].split("/")[1].startswith("mlp") and numbers(r).get("valid_perplexity")]
    if not nets or not grams:
        return {}
    best_net = min(nets, key=lambda r: numbers(r)["valid_perplexity"])
    best_gram = min(grams, key=lambda r: numbers(r)["valid_perplexity"])
    out = {"best_network": best_net["row"], "best_network_test": numbers(best_net)["test_perplexity"],
           "best_ngram": best_gram["row"], "best_ngram_test": numbers(best_gram)["test_perplexity"]}
    out["best_ngram_above_best_network"] = out["best_ngram_test"] / out["best_network_test"] - 1
    del_int = next((r for r in grams if r["id"].endswith("/del_int")), None)
    if del_int is not None:
        out["del_int_above_best_network"] = numbers(del_int)["test_perplexity"] / out["best_network_test"] - 1
    return out


def report_notes(records: list[dict], configs: list[dict]) -> list[str]:
    """The Table 1 caption's comparison for ``lstm-hist report``: paper vs ours, from the chosen records of the
    current data preparation only; ``configs`` (the paper's config entries) give every printed Table 1 row."""
    table = [r for r in records if r.get("table") == "Table 1" and r.get("status") == "completed"]
    current = [r for r in table if data_rule(r) == CURRENT_RULE]
    by_id = {r["id"]: r for r in current if not r.get("overrides")}
    rows = []
    for record in current:
        label = record.get("row") or record["id"]
        if record.get("overrides"):
            label += f" [{', '.join(record['overrides'])}]"
        metrics = record.get("metrics") or {}
        rows.append({"id": record["id"], "row": label, "paper": record.get("reported") or {},
                     "ours": {k: metrics.get(k) for k in ("valid_perplexity", "test_perplexity")}})
    for entry in configs:  # a mixture row without its own record competes with its network row's mix_* numbers
        base = by_id.get(_mixture_base(entry["id"]) or "") if entry.get("table") == "Table 1" else None
        if entry["id"] not in by_id and _mixture_numbers(base) is not None:
            rows.append({"id": entry["id"], "row": f"{entry['row']} (the {base.get('row')} record's mixture)",
                         "paper": entry["reported"], "ours": _mixture_numbers(base)})
    # The paper's line uses every printed Table 1 row, not only the rows we have records for.
    entries = [e for e in configs if e.get("table") == "Table 1"]
    paper_rows = [{"id": e["id"], "row": e["row"], "paper": e["reported"], "ours": {}} for e in entries]
    lines = []
    for which, source in (("paper", paper_rows), ("ours", rows)):
        g = gains(source, which)
        if not g:
            continue
        text = (f"best network (lowest validation perplexity) {g['best_network']}, test {g['best_network_test']:.0f}; "
                f"best n-gram {g['best_ngram']}, test {g['best_ngram_test']:.0f} "
                f"({g['best_ngram_above_best_network']:+.0%} relative to the network)")
        if "del_int_above_best_network" in g:
            text += f"; deleted interpolation {g['del_int_above_best_network']:+.0%}"
        lines.append(f"- **{which}**: {text}")
    if not lines:
        return []
    return ["### The paper's headline comparison (Table 1 caption)", "",
            "Computed from the records above, never typed: how far the best n-gram's test perplexity lies above "
            "that of the network with the lowest validation perplexity (paper: +24 %; deleted interpolation +33 %). "
            + _training_caveat(current), "", *lines, *_coverage(entries, current, table), "",
            *_borrowed_mixtures(current, configs)]


def _coverage(entries: list[dict], current: list[dict], table: list[dict]) -> list[str]:
    """Which Table 1 rows our line lacks on the current preparation, and which rows above are from an earlier one."""
    have = {r["id"] for r in current if not r.get("overrides")}
    mixed = {f"bengio2003/mlp{int(r['id'].rsplit('mlp', 1)[1]) + 1}" for r in current if not r.get("overrides")
             and r["id"].split("/", 1)[1].startswith("mlp") and "mix_test_perplexity" in (r.get("metrics") or {})}
    missing = [e["row"] for e in sorted(entries, key=_table_order) if e["id"] not in have | mixed]
    lines = []
    if missing:
        lines.append(f"- **ours** uses only records made on the configs' data preparation ({rule_text(CURRENT_RULE)}); "
                     f"Table 1 rows without one yet, so not in our line: {', '.join(missing)}.")
    if all(e["row"] in missing for e in entries if e["id"].split("/", 1)[1].startswith("mlp")):
        lines.append("- **ours**: no ratio yet — no network row has a record on this preparation.")
    earlier = list(dict.fromkeys((r.get("row") or r["id"], rule_text(data_rule(r))) for r in table
                                 if is_earlier_data(r)))
    for text in dict.fromkeys(t for _, t in earlier):
        names = ", ".join(row for row, t in earlier if t == text)
        lines.append(f"- Rows above from an earlier data preparation ({text}), left out of our line and not "
                     f"comparable with the others: {names}.")
    return lines


def _borrowed_mixtures(records: list[dict], configs: list[dict]) -> list[str]:
    """Mixture rows (MLP2, 4, …) without a record of their own, read from the ``mix_*`` of the row before: the
    same network and trigram (docs/deviations.md, Bengio N8)."""
    by_id = {r["id"]: r for r in records if r.get("status") == "completed" and not r.get("overrides")}
    lines = []
    for entry in configs:
        base = by_id.get(_mixture_base(entry["id"]) or "")
        mixed = _mixture_numbers(base)
        if entry["id"] in by_id or mixed is None:
            continue
        lines.append(f"- **{entry['row']}** has no record of its own: the {base.get('row')} record's 0.5 mixture "
                     f"with the trigram gives valid {mixed['valid_perplexity']:.1f}, test "
                     f"{mixed['test_perplexity']:.1f} (paper {entry['reported'].get('valid_perplexity')}, "
                     f"{entry['reported'].get('test_perplexity')}); the same network and trigram, deviations N8.")
    return [*lines, ""] if lines else []


def report_plots(records: list[dict], configs: list[dict], img_dir: Path) -> list[tuple[str, Path]]:
    """For ``lstm-hist report``: validation perplexity per epoch of each network record (committed configs only;
    a mixture row trains the same network as the row before it, so it is left out), with our Kneser–Ney trigram
    and best class-based row as reference lines."""
    records = [r for r in records if data_rule(r) == CURRENT_RULE]
    networks = [r for r in records if r.get("table") == "Table 1" and r.get("status") == "completed"
                and not r.get("overrides") and not ((r.get("config") or {}).get("protocol") or {}).get("mixture_weight")
                and (r.get("trials") or [{}])[0].get("history", {}).get("val_loss")]
    if not networks:
        return []
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    for record in networks:
        curve = np.exp(np.asarray(record["trials"][0]["history"]["val_loss"], float))
        ax.plot(np.arange(1, len(curve) + 1), curve, marker=".", label=record.get("row") or record["id"])
    ngrams = [r for r in records if r.get("table") == "Table 1" and r.get("status") == "completed"
              and "stopped_early" not in (r.get("metrics") or {}) and (r.get("metrics") or {}).get("valid_perplexity")]
    reference = [r for r in ngrams if r["id"].endswith("/kn3")]
    classes = [r for r in ngrams if "/class_" in r["id"]]
    if classes:
        reference.append(min(classes, key=lambda r: r["metrics"]["valid_perplexity"]))
    for record, style in zip(reference, ("--", ":")):
        ax.axhline(record["metrics"]["valid_perplexity"], color="gray", linestyle=style,
                   label=f"{record.get('row') or record['id']} (n-gram)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation perplexity")
    ax.set_title("Bengio et al. 2003, Table 1 networks (ours): validation perplexity per epoch", fontsize=10)
    ax.legend(fontsize=8, ncol=2)
    ax.grid(alpha=0.3)
    path = figures.save(fig, img_dir / "bengio2003_validation.png", dpi=110)
    return [("validation perplexity per epoch, bengio2003", path)]


def _longer_runs(capped: list[dict], records: list[dict]) -> str:
    """What labelled reruns of a capped row with a larger ``protocol.epochs`` found, as a clause."""
    clauses = []
    for record in capped:
        for other in records:
            m = other.get("metrics") or {}
            if (other["id"] != record["id"] or other.get("status") != "completed" or not m.get("stopped_early")
                    or not any(o.startswith("protocol.epochs=") for o in other.get("overrides") or ())):
                continue
            clauses.append(f"{record.get('row') or record['id']} rerun with {', '.join(other['overrides'])} stopped "
                           f"early after epoch {m.get('epochs')} and kept epoch {m.get('best_epoch')}, test "
                           f"{m.get('test_perplexity', float('nan')):.1f}, against epoch "
                           f"{record['metrics'].get('best_epoch')}, test "
                           f"{record['metrics'].get('test_perplexity', float('nan')):.1f} in the capped run")
    return f" ({'; '.join(clauses)})" if clauses else ""


def _training_caveat(records: list[dict]) -> str:
    """What the network records' training says about our line, read from their metrics."""
    networks = [r for r in records if r.get("table") == "Table 1" and r.get("status") == "completed"
                and "stopped_early" in (r.get("metrics") or {}) and not r.get("overrides")]
    if not networks:
        return "No network row has a record of the committed config yet, so our line does not test the paper's claim."
    capped = [r for r in networks if not r["metrics"]["stopped_early"]]
    if not capped:
        return f"All {len(networks)} network records stopped early on the validation perplexity."
    names = ", ".join(r.get("row") or r["id"] for r in capped)
    falling = all(r["metrics"].get("best_epoch") == r["metrics"].get("epochs") for r in capped)
    batches = sorted({((r.get("config") or {}).get("protocol") or {}).get("batch_size") for r in capped} - {None})
    fewer = f"minibatches of {batches[0]} make {batches[0]}× fewer updates per epoch; " if len(batches) == 1 else ""
    return (f"{len(capped)} of the {len(networks)} network records ({names}) ended at their epoch cap, not by early "
            f"stopping{', with the validation perplexity still falling' if falling else ''}"
            f"{_longer_runs(capped, records)}: they are less trained than the paper's "
            f"networks ({fewer}docs/deviations.md, Bengio N2 and N7), "
            "so our line compares networks trained for the paper's 10–20 epochs, not to convergence.")


def summary_lines(loaded: list[tuple[Path, dict]], configs: list[dict]) -> list[str]:
    """``lstm-hist summary bengio2003``: Table 1 paper vs ours and the caption's ratios, from the records ``loaded``
    (path, record) and the paper's config entries."""
    rows = table1(loaded, configs)
    keys = ("train_perplexity", "valid_perplexity", "test_perplexity")
    lines = [f"Records made on the configs' data preparation only: {rule_text(CURRENT_RULE)}.", "",
             "| row | paper train | paper valid | paper test | ours train | ours valid | ours test | record |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r["row"]] + [str(r["paper"].get(k, "")) for k in keys] + \
            [f"{r['ours'][k]:.1f}" if r["ours"].get(k) is not None else "" for k in keys] + [r["source"] or "—"]
        lines.append("| " + " | ".join(cells) + " |")
    for which in ("paper", "ours"):
        g = gains(rows, which)
        if g:
            text = ", ".join(f"{k}={v:+.1%}" if k.endswith("above_best_network") else
                             (f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}") for k, v in g.items())
            lines.append(f"{which}: {text}")
        else:
            lines.append(f"{which}: no ratio — no network row has a record on this preparation yet")
    return lines
