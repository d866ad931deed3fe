"""docs/results.md generation from records: which records show, paper vs ours, not-yet-run, estimates."""

from __future__ import annotations

import copy

import pytest

from lstm_hist import records
from lstm_hist.report import write_report

BASE = {
    "id": "fakepaper/adding_t10",
    "title": "Fake adding, T=10",
    "paper": "fakepaper",
    "table": "Table 1",
    "row": "T=10",
    "section": "§1",
    "status": "completed",
    "smoke": False,
    "metrics": {"success_rate": 0.9, "sequences_mean": 1500.0},
    "reported": {"success_rate": 1.0, "sequences_mean": 2000},
    # the fake row's config as conftest writes it (a record of another config is labelled "earlier config")
    "config": {"experiment": "adding", "task": {"T": 10, "noise": 0.1}, "model": {"units": 4, "activation": "tanh"},
               "protocol": {"trials": 10, "max_sequences": 5000, "learning_rate": 0.5}},
    "seeds": {"base": 0},
    "trials": [{"sequences": 1000}, {"sequences": 1500}, {"sequences": 2000}],
    "provenance": {"backend": "jax", "device": "cpu: Test CPU, 2 cores", "wall_seconds": 3725.0,
                   "end": "2024-05-06T07:08:09Z", "commit": "0123456789abcdef", "dirty": False},
}


def record(**changes):
    out = copy.deepcopy(BASE)
    for key, value in changes.items():
        if key == "provenance":
            out["provenance"].update(value)
        else:
            out[key] = value
    return out


@pytest.fixture
def results(tmp_path, configs):
    runs = tmp_path / "results"
    records.write_record(runs / "fakepaper" / "adding_t10-1.json", record(metrics={"sequences_mean": 1.0},
                                                                          provenance={"end": "2024-01-01T00:00:00Z"}))
    records.write_record(runs / "fakepaper" / "adding_t10-2.json", record())
    records.write_record(runs / "fakepaper" / "adding_t10.smoke-3.json",
                         record(smoke=True, provenance={"end": "2025-01-01T00:00:00Z"}))
    records.write_record(runs / "fakepaper" / "adding_t10-4.json",
                         record(status="failed", provenance={"end": "2025-01-01T00:00:00Z"}))
    return runs


def test_report_shows_latest_completed_non_smoke_record(results, tmp_path):
    out = write_report(results, tmp_path / "docs" / "results.md")
    text = out.read_text()
    assert "do not edit by hand" in text and "lstm-hist report" in text
    assert "## fakepaper" in text and "### Table 1" in text
    (row,) = [line for line in text.splitlines() if line.startswith("| T=10")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:5] == ["T=10", "1", "0.9", "2,000", "1,500"]
    assert "jax" in cells and "cpu: Test CPU, 2 cores" in cells and "1h02m" in cells and "2024-05-06" in cells
    assert "0123456789" in cells
    assert "[adding_t10-2.json](../results/fakepaper/adding_t10-2.json)" in row


def test_report_marks_interrupted_and_lists_not_yet_run_with_estimate(tmp_path, configs):
    runs = tmp_path / "results"
    records.write_record(runs / "fakepaper" / "adding_t10-1.json", record(status="interrupted"))
    records.write_record(runs / "estimates" / "fakepaper.adding_t20.json",
                         {"kind": "estimate", "id": "fakepaper/adding_t20",
                          "bench": {"updates_per_second": 120.0, "estimated_wall_seconds": 7200.0},
                          "provenance": {"backend": "jax"}})
    text = write_report(runs, tmp_path / "docs" / "results.md").read_text()
    assert "T=10 *(interrupted)*" in text
    assert "## Not yet run" in text
    (line,) = [l for l in text.splitlines() if "`fakepaper/adding_t20`" in l]
    assert "estimated_wall_seconds 2h00m" in line and "(jax)" in line
    assert "fakepaper/adding_t10`" not in text.split("## Not yet run")[1]


def test_report_plot_is_written_and_linked(results, tmp_path):
    pytest.importorskip("matplotlib")
    text = write_report(results, tmp_path / "docs" / "results.md").read_text()
    assert "![sequences to criterion, fakepaper](img/fakepaper_sequences.png)" in text
    assert (tmp_path / "docs" / "img" / "fakepaper_sequences.png").stat().st_size > 0


def test_report_links_the_images_a_paper_module_draws(results, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from lstm_hist import registry

    seen = []

    def report_plots(recs, configs, img_dir):
        seen.append(([r["id"] for r in recs], [c["id"] for c in configs]))
        img_dir.mkdir(parents=True, exist_ok=True)
        (img_dir / "curves.png").write_bytes(b"png")
        return [("curves, fakepaper", img_dir / "curves.png")]

    monkeypatch.setattr(registry.import_paper_module("fakepaper"), "report_plots", report_plots, raising=False)
    text = write_report(results, tmp_path / "docs" / "results.md").read_text()
    # the chosen records only, and the paper's config entries (rows without a record too)
    assert seen == [(["fakepaper/adding_t10"], ["fakepaper/adding_t10", "fakepaper/adding_t20"])]
    assert "![curves, fakepaper](img/curves.png)" in text
    assert "curves" not in write_report(results, tmp_path / "r.md", plots=False).read_text()


def test_report_without_records(tmp_path, configs):
    text = write_report(tmp_path / "none", tmp_path / "r.md", plots=False).read_text()
    assert "## Not yet run" in text and "fakepaper/adding_t10" in text


def test_trial_spread_counts_solved_trials_only():
    from lstm_hist.formatting import spread, trial_values

    trials = [{"solved": True, "sequences": 100}, {"solved": False, "sequences": 10**6},
              {"solved": True, "sequences": 300}]
    assert trial_values("sequences_mean", trials) == [100, 300]
    assert spread("sequences_mean", trials).startswith("100–300")
    assert trial_values("sequences_mean", [{"solved": False, "sequences": 5}] * 3) == []


def test_comparison_methods_are_quoted_under_their_table_not_as_metric_columns(results, configs, tmp_path):
    from conftest import write

    text = (configs / "fakepaper" / "adding_t10.yaml").read_text().replace(
        "reported: {success_rate: 1.0, sequences_mean: 2000, weights: 28}",
        "reported:\n  success_rate: 1.0\n  comparisons:\n"
        "    - {method: RTRL, weights: \"≈170\", success_after: \">5,000,000\"}\n"
        "    - {method: BPTT, success_after: \"1,000\"}\n")
    write(configs / "fakepaper" / "adding_t10.yaml", text)
    with_comparisons = record(reported={"success_rate": 1.0, "comparisons": [{"method": "RTRL"}]})
    records.write_record(results / "fakepaper" / "adding_t10-5.json", with_comparisons)
    out = write_report(results, tmp_path / "docs" / "results.md", plots=False).read_text()
    assert "comparisons (paper)" not in out
    table = out[out.index("Other methods in this table"):]
    assert "| method | weights | success after |" in table
    assert "| RTRL | ≈170 | >5,000,000 |" in table and "| BPTT |  | 1,000 |" in table


def test_report_shows_mean_sd_and_n_over_seeds(results, tmp_path):
    """Completed records of several seeds: the ours cell is their mean ± sd (n); one seed stays a plain value."""
    records.write_record(results / "fakepaper" / "adding_t10-seed1-x.json",
                         record(seeds={"base": 1}, metrics={"success_rate": 0.7, "sequences_mean": 2500.0}))
    records.write_record(results / "fakepaper" / "adding_t10-seed2-x.json",  # another config variant: its own row
                         record(seeds={"base": 2}, overrides=["protocol.trials=2"]))
    text = write_report(results, tmp_path / "r.md").read_text()
    (row,) = [line for line in text.splitlines() if line.startswith("| T=10 |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "0.8 ± 0.141 (n=2)" and cells[4] == "2,000 ± 707 (n=2)"  # seeds 0 and 1, latest of each
    (variant,) = [line for line in text.splitlines() if line.startswith("| T=10 [protocol.trials=2]")]
    assert "1,500" in variant and "±" not in variant


def test_success_rate_column_is_the_seed_mean_too(results, configs, tmp_path):
    """A row whose paper reports no success rate gets a "success rate" column: over seeds it is their mean, like
    the paper's numbers beside it (not the latest seed's alone)."""
    row_config = configs / "fakepaper" / "adding_t10.yaml"
    row_config.write_text(row_config.read_text().replace("success_rate: 1.0, ", ""))
    for seed, rate in ((0, 0.6), (1, 0.8)):
        records.write_record(results / "fakepaper" / f"adding_t10-seed{seed}-y.json",
                             record(seeds={"base": seed}, reported={"sequences_mean": 2000},
                                    metrics={"success_rate": rate, "sequences_mean": 1500.0},
                                    provenance={"end": f"2024-05-0{7 + seed}T07:08:09Z"}))
    text = write_report(results, tmp_path / "r.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| row |") and "success rate" in line)
    (row,) = [line for line in text.splitlines() if line.startswith("| T=10 |")]
    cells = dict(zip([c.strip() for c in header.strip("|").split("|")], [c.strip() for c in row.strip("|").split("|")]))
    assert cells["success rate"] == "0.7 ± 0.141 (n=2)"


def test_the_papers_numbers_come_from_the_rows_config_for_old_and_new_records(results, configs, tmp_path):
    """A record keeps the paper's numbers as its config gave them when it ran. A key the config gained since (here
    the success rate) must show for every record of the row, as the scorecard judges them, not only for the records
    run after it: one column, the config's value in every row. A record whose config is gone keeps its own."""
    records.write_record(results / "fakepaper" / "adding_t20-seed0-old.json",  # run before the key was added
                         record(id="fakepaper/adding_t20", row="T=20", reported={"sequences_mean": 2000}))
    records.write_record(results / "fakepaper" / "adding_t99-seed0-gone.json",  # its config has been removed
                         record(id="fakepaper/adding_t99", row="T=99", reported={"sequences_mean": 3000}))
    text = write_report(results, tmp_path / "r.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| row |"))
    names = [c.strip() for c in header.strip("|").split("|")]
    assert "success_rate (paper)" in names and "success rate" not in names
    rows = {}
    for label in ("T=10", "T=20", "T=99"):
        (line,) = [line for line in text.splitlines() if line.startswith(f"| {label} ")]
        rows[label] = dict(zip(names, [c.strip() for c in line.strip("|").split("|")]))
    assert rows["T=10"]["success_rate (paper)"] == rows["T=20"]["success_rate (paper)"] == "1"
    assert rows["T=99"]["success_rate (paper)"] == "" and rows["T=99"]["sequences_mean (paper)"] == "3,000"


def test_report_hands_notes_and_labels_the_records_and_configs(results, tmp_path, monkeypatch):
    """Papers supply, the shared layer asks: a hook gets what it needs as arguments, never fetches it."""
    from lstm_hist import registry

    module = registry.import_paper_module("fakepaper")
    monkeypatch.setattr(module, "report_notes", lambda recs, configs: [
        f"notes over {len(recs)} record(s) and {len(configs)} config(s): {configs[0]['reported']['sequences_mean']}"],
        raising=False)
    monkeypatch.setattr(module, "record_label", lambda record, config: f"*(row config {config['id']})*",
                        raising=False)
    text = write_report(results, tmp_path / "r.md", plots=False).read_text()
    assert "notes over 1 record(s) and 2 config(s): 2000" in text
    assert "*(row config fakepaper/adding_t10)*" in text


def test_table_notes_stand_under_their_own_table(results, tmp_path, monkeypatch):
    """A paper's ``table_notes(table, records, configs)`` hook: its lines go under that table (before the next
    heading), and it is handed that table's records only, with the paper's configs."""
    from lstm_hist import registry

    records.write_record(results / "fakepaper" / "adding_t20-seed0-t2.json",
                         record(id="fakepaper/adding_t20", table="Table 2", row="T=20"))
    module = registry.import_paper_module("fakepaper")
    monkeypatch.setattr(module, "table_notes", lambda table, recs, configs: [
        f"note for {table}: {sorted({r['table'] for r in recs})}, {len(configs)} config(s)", ""], raising=False)
    lines = write_report(results, tmp_path / "r.md", plots=False).read_text().splitlines()

    def section(heading):
        start = lines.index(heading)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
        return lines[start:end]

    assert "note for Table 1: ['Table 1'], 2 config(s)" in section("### Table 1")
    assert "note for Table 2: ['Table 2'], 2 config(s)" in section("### Table 2")


def test_paper_notes_receive_every_seed_of_a_chosen_row():
    """A paper's notes (e.g. Chung's ranking) judge the seed mean: the chosen (newest) record brings its row's other
    seeds with it; a row with one seed is passed as it is."""
    from lstm_hist import report, seed_stats

    seeds = [{"id": "p/a", "seed": s, "status": "completed", "metrics": {"x": s}} for s in range(3)]
    lone = {"id": "p/b", "seed": 0, "status": "completed", "metrics": {"x": 9}}
    over = {seed_stats.row_key(seeds[0]): {r["seed"]: r for r in seeds}}
    got = report._every_seed([seeds[2], lone], over)
    assert [r["metrics"]["x"] for r in got] == [0, 1, 2, 9]
