"""The import rules of docs/architecture.md, read from the source (every import statement, also inside functions).

Papers supply, the shared layer asks: no module under ``reproductions/`` imports the orchestration layer (registry,
config, runner, CLI, report, ...); what a paper's hook needs is handed to it. The shared layer imports no paper
(it reaches papers only through ``lstm_hist.registry``), and the formatting helpers sit below report and runner.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The orchestration layer: what papers must not fetch from (it calls them, not the other way round).
ORCHESTRATION = ("registry", "config", "runner", "cli", "report", "campaign", "bench", "describe", "paper_summary",
                 "scorecard", "cite", "evaluate")


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, as dotted names (``from a import b`` gives ``a`` and ``a.b``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against the file's package
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(filter(None, [*parts, base]))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def forbidden_for_papers(module: str) -> bool:
    return any(module == f"lstm_hist.{name}" or module.startswith(f"lstm_hist.{name}.") for name in ORCHESTRATION)


def test_the_walker_sees_every_kind_of_import(tmp_path, monkeypatch):
    pkg = ROOT / "reproductions"
    names = imports(pkg / "bengio2003" / "summary.py")
    assert "reproductions.bengio2003.data_rule" in names  # a relative import, resolved
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from lstm_hist import registry\n    import lstm_hist.config as c\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    found = imports(sample)
    assert {"lstm_hist.registry", "lstm_hist.config"} <= found
    assert forbidden_for_papers("lstm_hist.registry") and forbidden_for_papers("lstm_hist.campaign.driver")
    assert not forbidden_for_papers("lstm_hist.reported") and not forbidden_for_papers("lstm_hist.contract")


@pytest.mark.parametrize("path", sorted((ROOT / "reproductions").rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_paper_module_imports_the_orchestration_layer(path):
    bad = sorted(m for m in imports(path) if forbidden_for_papers(m))
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: have the shared layer hand it what it needs"


def test_the_shared_layer_imports_no_paper():
    offenders = {str(p.relative_to(ROOT)): sorted(m for m in imports(p) if m.split(".")[0] == "reproductions")
                 for p in sorted((ROOT / "lstm_hist").rglob("*.py"))}
    assert not {k: v for k, v in offenders.items() if v}


def test_formatting_sits_below_runner_and_report():
    names = imports(ROOT / "lstm_hist" / "formatting.py")
    assert {m for m in names if m.startswith("lstm_hist.")} <= {"lstm_hist.progress", "lstm_hist.progress.format_duration"}
    for user in ("report.py", "runner.py", "run_summary.py", "cli.py"):
        assert not {"lstm_hist.runner.fmt", "lstm_hist.runner.table_lines", "lstm_hist.runner.trial_values"} & \
            imports(ROOT / "lstm_hist" / user), user


def test_the_contract_imports_nothing_that_runs_protocols():
    names = {m for m in imports(ROOT / "lstm_hist" / "contract.py") if m.startswith("lstm_hist")}
    assert names <= {"lstm_hist.errors", "lstm_hist.errors.UserError"}
