"""Experiment ids → config files and paper modules.

An id is ``<paper>/<config stem>`` (``hochreiter1997/adding_t100``): the paper is a package
``reproductions.<paper>`` and its rows are the YAML files of ``configs/<paper>/``. Papers are found from the
packages (a paper may have no rows: cho2014); listing reads YAML and package folders only, so ``lstm-hist list``
never pays for importing Keras; the paper module (which imports Keras) is loaded only when an experiment or a paper
is described, run or cited.
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import lstm_hist
from lstm_hist.config import load_config, validate_config
from lstm_hist.errors import ConfigError, UserError
from lstm_hist.experiment import Experiment  # re-exported: paper modules build these

__all__ = [
    "DEFAULT_ID",
    "Experiment",
    "configs_root",
    "all_ids",
    "papers",
    "resolve_id",
    "config_path",
    "list_experiments",
    "import_paper_module",
    "get_experiment",
    "load",
    "citation",
    "paper_info",
    "paper_hook",
    "paper_hooks",
]

DEFAULT_ID = "hochreiter1997/adding_t100"


def configs_root() -> Path:
    """``$LSTM_HIST_CONFIGS`` if set, else ``configs/`` beside the package (the repo root of an editable install)."""
    env = os.environ.get("LSTM_HIST_CONFIGS")
    if env:
        return Path(env)
    return Path(lstm_hist.__file__).resolve().parent.parent / "configs"


def _config_files() -> dict[str, Path]:
    root = configs_root()
    if not root.is_dir():
        return {}
    files = {}
    for path in sorted(root.glob("*/*.yaml")):
        if path.name.startswith(("_", ".")) or path.parent.name.startswith(("_", ".")):
            continue
        files[f"{path.parent.name}/{path.stem}"] = path
    return files


def all_ids() -> list[str]:
    """Every experiment id, sorted."""
    return list(_config_files())


def papers() -> list[str]:
    """Every paper key: a package under reproductions/ (with or without table rows: cho2014 has none), or a
    folder under configs/ with rows (whose missing package ``load`` then names)."""
    return sorted(set(_paper_packages()) | {exp_id.split("/", 1)[0] for exp_id in all_ids()})


def _paper_packages() -> list[str]:
    """Sub-packages of ``reproductions`` (found on disk, not imported: listing must not pull in Keras)."""
    import importlib.util

    spec = importlib.util.find_spec("reproductions")
    roots = list(spec.submodule_search_locations or []) if spec is not None else []
    return [p.name for root in roots for p in Path(root).iterdir()
            if (p / "__init__.py").is_file() and not p.name.startswith(("_", "."))]


def resolve_id(name: str) -> str:
    """The full id for ``name``: a full id, or a suffix after the slash that matches exactly one config.

    Raises UserError listing near matches when nothing (or more than one config) matches.
    """
    ids = all_ids()
    if name in ids:
        return name
    matches = [i for i in ids if i.split("/", 1)[1] == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UserError(f"experiment id {name!r} is ambiguous: {', '.join(matches)}; give the full id")
    if not ids:
        raise UserError(f"unknown experiment {name!r}: no configs found under {configs_root()}")
    candidates = ids + [i.split("/", 1)[1] for i in ids]
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise UserError(f"unknown experiment {name!r}{hint} (see `lstm-hist list`)")


def config_path(exp_id: str) -> Path:
    """The YAML file of a (full or suffix) id."""
    return _config_files()[resolve_id(exp_id)]


def row_reported(exp_id: str) -> dict | None:
    """The paper's numbers as the row's config states them now (its ``reported`` block), or None for an id with no
    config (a row since removed). A record keeps the block its config had when it ran; what a record is compared
    with is the config's, as the scorecard judges it."""
    path = _config_files().get(exp_id)
    if path is None:
        return None
    try:
        return load_config(path).get("reported") or {}
    except ConfigError:
        return None


def list_experiments(paper: str | None = None) -> list[dict[str, Any]]:
    """One summary per config, read from YAML only (no paper module, no Keras).

    Keys: id, paper, title, table, row, section, experiment, reported, command, expected_wall_time, path.
    A config that cannot be read is left out with a ``warning:`` line on stderr naming the file and the problem,
    so one bad file does not hide every other row.
    """
    out = []
    for exp_id, path in _config_files().items():
        key = exp_id.split("/", 1)[0]
        if paper is not None and key != paper:
            continue
        try:
            cfg = load_config(path)
        except ConfigError as exc:
            print(f"warning: skipped {exp_id}: {exc}", file=sys.stderr)
            continue
        out.append(
            {
                "id": exp_id,
                "paper": key,
                "title": cfg.get("title"),
                "table": cfg.get("table"),
                "row": cfg.get("row"),
                "variant": cfg.get("variant"),
                "section": cfg.get("section"),
                "experiment": cfg.get("experiment"),
                "reported": cfg.get("reported") or {},
                "tolerance": cfg.get("tolerance") or {},
                "command": cfg.get("command"),
                "expected_wall_time": cfg.get("expected_wall_time"),
                "path": str(path),
            }
        )
    if paper is not None and not out and paper not in papers():
        raise UserError(f"no experiments for paper {paper!r}; papers: {', '.join(papers()) or '(none)'}")
    return out


def import_paper_module(paper: str) -> ModuleType:
    """``reproductions.<paper>`` (tests replace this function to plug in a fake paper)."""
    name = f"reproductions.{paper}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name in (name, "reproductions"):
            raise UserError(f"paper module {name!r} not found; configs for {paper!r} need reproductions/{paper}/") \
                from None
        raise


def get_experiment(exp_id: str) -> Experiment:
    """The Experiment that ``exp_id``'s config names (imports the paper module, and so Keras)."""
    return load(exp_id)[2]


def load(exp_id: str) -> tuple[str, Path, Experiment, dict]:
    """``(full id, config path, experiment, validated config)`` for a full or suffix id."""
    full = resolve_id(exp_id)
    path = _config_files()[full]
    cfg = load_config(path)
    paper = full.split("/", 1)[0]
    experiments = _experiments(import_paper_module(paper), paper)
    name = cfg["experiment"]
    if name not in experiments:
        close = difflib.get_close_matches(str(name), list(experiments), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UserError(
            f"{path}: experiment {name!r} is not in reproductions.{paper}.EXPERIMENTS{hint}; "
            f"known: {', '.join(sorted(experiments))}"
        )
    experiment = experiments[name]
    validate_config(cfg, experiment, path)
    return full, path, experiment, cfg


def _experiments(module: ModuleType, paper: str) -> dict[str, Experiment]:
    experiments = getattr(module, "EXPERIMENTS", None)  # required of every paper package (may be empty)
    if not isinstance(experiments, dict):
        raise UserError(f"paper module reproductions.{paper} has no EXPERIMENTS dict")
    return experiments


def paper_info(paper: str) -> dict[str, Any]:
    """What ``lstm-hist describe PAPER`` shows: the one-line citation, the package docstring's first paragraph after
    the title, the experiments (name → description) and the row ids (possibly none). Imports the paper module."""
    if paper not in papers():
        raise UserError(f"unknown paper {paper!r}; papers: {', '.join(papers()) or '(none)'}")
    module = import_paper_module(paper)
    _, bibtex = citation(paper)
    paragraphs = [p.strip() for p in (module.__doc__ or "").split("\n\n") if p.strip()]
    experiments = _experiments(module, paper)
    return {"paper": paper, "citation": format_citation(bibtex),
            "summary": paragraphs[1] if len(paragraphs) > 1 else "",
            "experiments": {name: exp.description for name, exp in experiments.items()},
            "rows": [e for e in all_ids() if e.split("/", 1)[0] == paper]}


def citation(paper_or_id: str) -> tuple[str, str]:
    """``(paper key, BibTeX)`` for a paper key or an experiment id (full or suffix)."""
    paper = paper_or_id if paper_or_id in papers() else resolve_id(paper_or_id).split("/", 1)[0]
    module = import_paper_module(paper)
    bibtex = getattr(module, "CITATION", None)
    if not bibtex:
        raise UserError(f"reproductions.{paper} has no CITATION")
    return paper, bibtex.strip()


def format_citation(bibtex: str) -> str:
    """A one-line plain citation from a BibTeX entry (authors (year). title. journal volume(number), pages.)."""
    fields = {
        k.lower(): re.sub(r"[{}]", "", v).strip()
        for k, v in re.findall(r"(\w+)\s*=\s*[{\"](.+?)[}\"]\s*,?\s*$", bibtex, flags=re.M)
    }
    if "title" not in fields:
        return bibtex
    parts = [f"{fields.get('author', '?')} ({fields.get('year', 'n.d.')}). {fields['title']}."]
    venue = fields.get("journal") or fields.get("booktitle")
    if venue:
        vol = fields.get("volume", "")
        num = f"({fields['number']})" if fields.get("number") else ""
        pages = f", {fields['pages'].replace('--', '–')}" if fields.get("pages") else ""
        parts.append(f"{venue} {vol}{num}{pages}.".replace(" .", "."))
    return " ".join(parts)


def paper_hook(paper: str, name: str) -> Callable | None:
    """``reproductions.<paper>.<name>`` when the paper supplies that optional hook (e.g. the report's
    ``record_label``), else None. The hooks a paper may supply are listed in docs/architecture.md."""
    hook = getattr(import_paper_module(paper), name, None)
    return hook if callable(hook) else None


def paper_hooks(attribute: str) -> dict[str, object]:
    """``{paper: reproductions.<paper>.<attribute>}`` for every paper package that defines ``attribute``.

    Papers are the packages under ``reproductions/`` (a paper without configs, like cho2014, still counts);
    optional hooks such as ``GRADIENT_UNITS`` are read this way so the shared layer never imports a paper itself.
    """
    import pkgutil

    try:
        package = importlib.import_module("reproductions")
    except ModuleNotFoundError:
        return {}
    found = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        if not info.ispkg or info.name.startswith("_"):
            continue
        value = getattr(import_paper_module(info.name), attribute, None)
        if value is not None:
            found[info.name] = value
    return found
