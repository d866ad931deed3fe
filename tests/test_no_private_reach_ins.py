"""Papers supply through the shared layer's hooks and never reach into its private names (issue 12): no module
under ``reproductions/`` imports a ``_name`` from ``lstm_hist`` or reads ``module._name`` of an ``lstm_hist``
module it imported."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def reach_ins(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lstm_hist"):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.append(f"{_name(path)}:{node.lineno} imports {node.module}.{alias.name}")
                modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules.update(alias.asname or alias.name.split(".")[0] for alias in node.names
                           if alias.name.startswith("lstm_hist"))
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in modules
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append(f"{_name(path)}:{node.lineno} reads {node.value.id}.{node.attr}")
    return found


def test_the_checker_finds_a_reach_in(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from lstm_hist.training import minibatch\nfrom lstm_hist.x import _y\n"
                     "minibatch._make_optimizer = 1\nminibatch.__name__\n")
    assert [hit.split(" ", 1)[1] for hit in reach_ins(probe)] == ["imports lstm_hist.x._y",
                                                                  "reads minibatch._make_optimizer"]


def test_no_paper_module_reaches_into_the_shared_layer():
    found = [hit for path in sorted((ROOT / "reproductions").rglob("*.py")) for hit in reach_ins(path)]
    assert not found, "\n".join(found)
