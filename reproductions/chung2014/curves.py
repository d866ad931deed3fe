"""Validation curves of Chung et al.'s Table 2 rows for the report (the paper plots learning curves of the three
units in its Figure 2): per data set, the validation NLL per time step of every learning-rate candidate over the
epochs, the chosen candidate bold and its kept epoch marked (§4: the candidate and the parameters with the best
validation objective are kept).

Only records of a row's config as it stands today, without ``--set``, count: the curves answer the protocol the
table shows. This module reads no file; the report hands it the records and config entries.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lstm_hist import config_drift, figures

UNIT_ORDER = ("tanh", "GRU", "LSTM")
SKIP_EPOCHS = 5  # left out of the y range only


def per_step_curve(trial: dict) -> np.ndarray | None:
    """A candidate's validation NLL per time step over its epochs; None without the fields it needs.

    The history holds the training objective, which for the music rows sums the NLL over a sequence and averages
    over sequences, so it differs from the per-step NLL by a constant factor (validation sequences ÷ steps). The
    per-step NLL the record holds at the kept epoch (``valid_nll``) fixes that factor."""
    curve = (trial.get("history") or {}).get("val_loss")
    best, nll = trial.get("best_epoch"), trial.get("valid_nll")
    if not curve or not isinstance(best, int) or not isinstance(nll, (int, float)) or not 1 <= best <= len(curve):
        return None
    kept = float(curve[best - 1])
    if kept == 0 or not np.isfinite(kept):
        return None
    return np.asarray(curve, float) * (float(nll) / kept)


def _plotted(records: list[dict], configs: list[dict]) -> dict[str, dict[str, dict]]:
    """data set → unit → record: completed Table 2 records of today's config, no overrides."""
    current = config_drift.current_configs(configs)
    out: dict[str, dict[str, dict]] = {}
    for record in records:
        row = str(record.get("row") or "")
        if (" / " not in row or record.get("status") != "completed" or record.get("overrides")
                or record["id"] not in current or config_drift.drift(record, current[record["id"]])):
            continue
        data_set, unit = (part.strip() for part in row.split(" / ", 1))
        if any(per_step_curve(t) is not None for t in record.get("trials") or ()):
            out.setdefault(data_set, {})[unit] = record
    return out


def report_plots(records: list[dict], configs: list[dict], img_dir: Path) -> list[tuple[str, Path]]:
    """For ``lstm-hist report``: one panel per data set, one colour per unit."""
    plotted = _plotted(records, configs)
    if not plotted:
        return []
    import matplotlib.pyplot as plt

    data_sets = sorted(plotted)
    fig, axes = plt.subplots(1, len(data_sets), figsize=(4.2 * len(data_sets), 4.0), squeeze=False)
    colours = dict(zip(UNIT_ORDER, ("tab:gray", "tab:blue", "tab:red")))
    for ax, data_set in zip(axes[0], data_sets):
        units = plotted[data_set]
        chosen_values = []
        for unit in sorted(units, key=lambda u: (UNIT_ORDER.index(u) if u in UNIT_ORDER else 9, u)):
            colour = colours.get(unit, "tab:green")
            for trial in units[unit]["trials"]:
                curve = per_step_curve(trial)
                if curve is None:
                    continue
                epochs = np.arange(1, len(curve) + 1)
                if trial.get("chosen"):
                    lr = trial.get("learning_rate")
                    ax.plot(epochs, curve, color=colour, linewidth=1.6,
                            label=f"{unit}, lr {lr:.2g}" if isinstance(lr, float) else unit)
                    ax.plot([trial["best_epoch"]], [curve[trial["best_epoch"] - 1]], "o", color=colour)
                    chosen_values.append(curve)
                else:
                    ax.plot(epochs, curve, color=colour, linewidth=0.6, alpha=0.25)
        if chosen_values:
            low = min(float(np.nanmin(c)) for c in chosen_values)
            # the first epochs (from the initial weights) would squeeze the rest of the curves flat
            high = max(float(np.nanmax(c[min(SKIP_EPOCHS, len(c) - 1):])) for c in chosen_values)
            ax.set_ylim(low - 0.05 * (high - low + 1e-9), high + 0.05 * (high - low + 1e-9))
        ax.set_title(data_set, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation NLL per time step")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Chung et al. 2014, Table 2 (ours): validation NLL per epoch; bold the chosen learning rate "
                 "(dot: the kept epoch), faint the other candidates", fontsize=10)
    path = figures.save(fig, img_dir / "chung2014_validation.png", dpi=100)
    return [("validation NLL per epoch of every learning-rate candidate, chung2014", path)]
