"""The figure and the page of ``lstm-hist gradients``, drawn from a gradients record only (``--render RECORD``
redraws them from a committed record without measuring again), so every number on the page comes from it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lstm_hist import figures

CONDITIONS = (("init", "at initialisation"), ("trained", "after brief training"))
QUANTITIES = (("state", "‖∂E(T)/∂state(T−k)‖"), ("input", "‖∂E(T)/∂x(T−k)‖"))


def _short(task_id: str) -> str:
    return task_id.split("/", 1)[1]


def draw_figure(record: dict, path: str | Path) -> Path:
    """Rows: state and input gradients; columns: each task at initialisation and after training. One line per
    unit (median over inits), a band from the 10th to the 90th percentile; log scale, zeros (float32 underflow)
    not drawn."""
    import numpy as np

    plt = figures.pyplot()

    tasks = record["config"]["tasks"]
    columns = [(task, cond, text) for task in tasks for cond, text in CONDITIONS]
    fig, axes = plt.subplots(len(QUANTITIES), len(columns), figsize=(4.2 * len(columns), 7.5), squeeze=False)
    colors = plt.get_cmap("tab10")
    for col, (task, cond, text) in enumerate(columns):
        lags = np.asarray(record["tasks"][task]["lags"])
        for row, (quantity, ylabel) in enumerate(QUANTITIES):
            ax = axes[row][col]
            for i, (key, unit) in enumerate(record["units"].items()):
                curves = unit["results"][task][cond][quantity]
                median, low, high = (np.asarray(curves[k], dtype=float) for k in ("median", "p10", "p90"))
                median[median <= 0] = np.nan
                # every other unit dashed: curves that coincide (truncated vs full 1997 gradient) stay visible
                ax.plot(lags, median, color=colors(i), label=unit["label"], linewidth=1.6,
                        linestyle="--" if i % 2 else "-")
                ax.fill_between(lags, np.where(low > 0, low, np.nan), np.where(high > 0, high, np.nan),
                                color=colors(i), alpha=0.15, linewidth=0)
            ax.set_yscale("log")
            ax.set_title(f"{_short(task)}, {text}", fontsize=10)
            ax.set_xlabel("lag k (steps back from the last)")
            if col == 0:
                ax.set_ylabel(ylabel)
            ax.grid(True, which="major", alpha=0.3)
    axes[0][0].legend(fontsize=8, loc="lower left")
    fig.suptitle(f"Error at the last step reaching step T−k: median and 10–90% band over "
                 f"{record['config']['inits']} random initialisations", fontsize=11)
    return figures.save(fig, path, dpi=90)


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    return f"{value:.{digits}g}"


def _spread(summary: dict | None, digits: int = 3) -> str:
    if not summary or summary.get("median") is None:
        return "–"
    return f"{_num(summary['median'], digits)} [{_num(summary['p10'], digits)}, {_num(summary['p90'], digits)}]"


def _reach(value: float | None) -> str:
    return "0 (underflow)" if value == 0 else _num(value)


def _factor_table(record: dict) -> list[str]:
    tasks = record["config"]["tasks"]
    head = ["unit"] + [f"{_short(t)} {cond}" for t in tasks for cond, _ in CONDITIONS] + ["training error"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for unit in record["units"].values():
        cells = [unit["label"]] + [_spread(unit["results"][t][c]["state_factor"], 4) for t in tasks
                                   for c, _ in CONDITIONS]
        training = unit["training"]
        cells.append(f"{_num(training['error_first']['median'])} → {_num(training['error_last']['median'])}")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _reach_table(record: dict) -> list[str]:
    tasks = record["config"]["tasks"]
    head = ["unit"] + [f"{_short(t)} (k = {record['tasks'][t]['half_lag']}) {c}" for t in tasks for c, _ in CONDITIONS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for unit in record["units"].values():
        cells = [unit["label"]] + [_reach(unit["results"][t][c]["input_reach_half"]["median"]) for t in tasks
                                   for c, _ in CONDITIONS]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _columns(record: dict) -> list[tuple[str, str]]:
    return [(task, cond) for task in record["config"]["tasks"] for cond, _ in CONDITIONS]


def _head(record: dict) -> list[str]:
    head = ["unit"] + [f"{_short(t)} {c}" for t, c in _columns(record)]
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]


def _unit_table(record: dict, key: str, cell) -> list[str]:
    """One line per unit whose results carry ``key``, one ``cell(result)`` per task and condition."""
    lines = []
    for unit in record["units"].values():
        results = [unit["results"][t][c] for t, c in _columns(record)]
        if key in results[0]:
            lines.append("| " + " | ".join([unit["label"]] + [cell(r) for r in results]) + " |")
    return _head(record) + lines if lines else []


def _bound_table(record: dict) -> list[str]:
    return _unit_table(record, "bound", lambda r: f"{_num(r['state_factor']['median'], 4)} ≤ "
                       f"{_num(r['bound']['median'], 4)} ({r['bound_holds']['inits']}/{r['bound_holds']['of']})")


def _cec_table(record: dict) -> list[str]:
    return _unit_table(record, "cec_factor", lambda r: f"{_num(r['cec_factor']['max_abs_deviation'])} "
                       f"({_num(r['cec_factor'].get('median_abs_deviation'))}; {r['cec_factor']['ratios']} ratios)")


def _command(record: dict) -> str:
    argv = record["provenance"].get("command") or ""
    return "lstm-hist " + argv[argv.index("gradients"):] if "gradients" in argv else "lstm-hist gradients"


def _link(target: str | Path, page: Path) -> str:
    return Path(os.path.relpath(Path(target).resolve(), page.parent.resolve())).as_posix()


def page_text(record: dict, record_path: str | Path, figure: str | Path, page: str | Path) -> str:
    page = Path(page)
    cfg, prov = record["config"], record["provenance"]
    training = cfg["training"]
    tasks = ", ".join(f"`{t}`" for t in cfg["tasks"])
    return "\n".join([
        "# The vanishing gradient, measured",
        "",
        f"<!-- Generated by `lstm-hist gradients` from {Path(record_path).as_posix()}; do not edit by hand: "
        "rerun the command, or `lstm-hist gradients --render RECORD --docs`. -->",
        "",
        "Every paper reproduced here starts from the same argument (Hochreiter & Schmidhuber 1997 §3): an error "
        "sent back k steps through a recurrent unit is multiplied k times by a weight times a derivative, so it "
        "shrinks or grows exponentially in k. The 1997 cell's remedy is the constant error carousel (CEC, §4): a "
        "state whose self-connection is fixed at 1.0, so error carried on it is multiplied by exactly 1 per step. "
        "The figure shows this measured on the units the tables use, for the adding problem (§5.4): E is the "
        "squared error at a sequence's last step, the top row the norm of its gradient with respect to the whole "
        "state k steps earlier, the bottom row with respect to the input k steps earlier (what a weight update "
        "there sees). A straight line falling on the log scale is exponential vanishing; a flat one carries the "
        "error. Lines end where float32 underflows to zero.",
        "",
        f"Made by `{_command(record)}` ({tasks}; {cfg['inits']} random initialisations per "
        f"unit, the same sequences for every unit; {prov['wall_seconds']:.0f} s wall, "
        f"{record.get('cpu_seconds', float('nan')):.0f} s CPU on {prov['device']}, load average "
        f"{(record.get('load_average') or ['?'])[0]} at the end). "
        f"Record: [{Path(record_path).name}]({_link(record_path, page)}) (seeds and provenance inside). "
        f"*After training* means {training['updates']} Adam updates (α = {training['learning_rate']}, "
        f"{training['batch']} sequences each) on `{cfg['trained_on']}`, far short of the papers' criteria: "
        f"{cfg['trained_from']}. The 1997 cell is trained with Adam here, not the paper's SGD.",
        "",
        f"![gradient norms by lag, median and 10-90% band]({_link(figure, page)})",
        "",
        "## Per-step factor",
        "",
        "How much ‖∂E/∂state‖ changes per step back in time: the geometric mean "
        "(g(K)/g(1))^(1/(K−1)) per init, K the last lag before underflow; median [10th, 90th percentile] over "
        "inits. Below 1 the error vanishes at that rate, above 1 it grows. *Training error*: ½·squared error per "
        "sequence, median over inits, mean of the first and of the last tenth of the updates.",
        "",
        *_factor_table(record),
        "",
        "## The analytical side (§3, §4)",
        "",
        "For h = tanh(W x + U h₋₁ + b) one step multiplies ∂E/∂h by diag(tanh′)·Uᵀ, whose norm is at most "
        "σ_max(U)·max tanh′ = σ_max(U), so the measured factor must stay below that bound. The table gives the "
        "medians over inits, measured ≤ bound, and in how many inits the bound held:",
        "",
        *_bound_table(record),
        "",
        "In the 1997 cell s_c(t) = s_c(t−1) + y^in(t)·g(net_c(t)): the CEC passes ∂E/∂s_c back unchanged. With the "
        "truncated gradient (App. A.1) it is the only way back, so the measured ratio ∂E/∂s_c(t−1) ÷ ∂E/∂s_c(t), per "
        "cell, must be 1 exactly; the full gradient adds the paths through the gates and cell inputs of later steps "
        "(the recurrent vector r), so its ratio is not. Largest |ratio − 1| (median; number of ratios):",
        "",
        *_cec_table(record),
        "",
        "## How much reaches the marked input",
        "",
        "‖∂E/∂x(T−k)‖ ÷ ‖∂E/∂x(T−1)‖ at k = T/2, the adding problem's minimal lag between the second marked pair and "
        "the end (median over inits): the share of the error signal a weight update sees at the input that "
        "matters.",
        "",
        *_reach_table(record),
        "",
    ])


def write_docs(record: dict, record_path: str | Path, figure: str | Path, page: str | Path | None) -> list[Path]:
    """Draw the figure; write the page too when ``page`` is given. Returns the files written."""
    written = [draw_figure(record, figure)]
    if page is not None:
        page = Path(page)
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(page_text(record, record_path, figure, page), encoding="utf-8")
        written.append(page)
    return written
