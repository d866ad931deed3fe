"""Load an experiment config, check it against the code it configures, apply ``--smoke`` and ``--set``.

A config's ``task``, ``model`` and ``protocol`` blocks are keyword arguments of real Python callables (the task
generator, the model builder, the protocol dataclass). Instead of a second schema that could drift from the code,
each block is checked against the annotated signature of its target: a misspelt key or a value of the wrong type
fails here, before any training starts, with the file and the key in the message (a silent default would make
the run measure something other than the paper's row).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import inspect
import typing
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from lstm_hist.config_types import check_type, coerce_floats, type_name
from lstm_hist.errors import ConfigError
# Re-exported: the reported-block readers lived here before lstm_hist.reported.
from lstm_hist.reported import COMPARISONS, REFERENCE_ONLY, comparisons, paper_metrics, reference_note  # noqa: F401

TOP_LEVEL_KEYS = (
    "experiment",
    "title",
    "table",
    "row",
    "variant",
    "section",
    "notes",
    "task",
    "model",
    "protocol",
    "reported",
    "tolerance",
    "smoke",
    "command",
    "expected_wall_time",
)
# The blocks validated against a target, and the positional parameters the shared layer passes itself.
SECTIONS = ("task", "model", "protocol")
SKIPPED_PARAMS = {"task": ("rng", "n"), "model": ("trials",), "protocol": ()}


# --------------------------------------------------------------------------------------------------- loading


def load_config(path: str | Path) -> dict:
    """Read one YAML config and check its top level (not yet the blocks: that needs the experiment).

    Raises ConfigError for unreadable files, malformed YAML (with the line), a non-mapping document, unknown
    top-level keys, a missing ``experiment`` key or a block that is not a mapping.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at line {line}); "
                          "save the config as UTF-8") from None
    try:
        cfg = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: malformed YAML{where}: {problem}") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: a config must be a YAML mapping, got {type(cfg).__name__}")
    for key in cfg:
        if key not in TOP_LEVEL_KEYS:
            raise ConfigError(f"{path}: unknown top-level key {key!r}{_suggest(str(key), TOP_LEVEL_KEYS)}")
    if "experiment" not in cfg:
        raise ConfigError(f"{path}: missing key 'experiment' (the name in the paper module's EXPERIMENTS)")
    for key in (*SECTIONS, "reported"):
        cfg.setdefault(key, {})
        if cfg[key] is None:
            cfg[key] = {}
        if not isinstance(cfg[key], dict):
            raise ConfigError(f"{path}: {key!r} must be a mapping, got {type(cfg[key]).__name__}")
    _check_comparisons(cfg["reported"].get(COMPARISONS), path)
    if "variant" in cfg and (not isinstance(cfg["variant"], str) or not cfg["variant"].strip()):
        raise ConfigError(f"{path}: 'variant' must be a non-empty string saying what the row is instead of the "
                          "paper's method (e.g. 'Keras LSTM + Adam, not the paper's method')")
    if "tolerance" in cfg:  # how the scorecard judges this row (lstm_hist.tolerance): checked like the rest
        from lstm_hist.tolerance import check_tolerance

        cfg["tolerance"] = check_tolerance(cfg["tolerance"], str(path), allow_null=True)
    smoke = cfg.get("smoke")
    if smoke is not None:
        if not isinstance(smoke, dict):
            raise ConfigError(f"{path}: 'smoke' must be a mapping, got {type(smoke).__name__}")
        for key, block in smoke.items():
            if key not in SECTIONS:
                raise ConfigError(f"{path}: unknown key 'smoke.{key}'{_suggest(str(key), SECTIONS)}")
            if not isinstance(block, dict):
                raise ConfigError(f"{path}: 'smoke.{key}' must be a mapping, got {type(block).__name__}")
    return cfg


def _check_comparisons(value: Any, path: Path) -> None:
    if value is None:
        return
    where = f"{path}: 'reported.{COMPARISONS}'"
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a non-empty list of mappings, one per printed method row")
    for i, row in enumerate(value):
        if not isinstance(row, dict) or not isinstance(row.get("method"), str):
            raise ConfigError(f"{where}[{i}] must be a mapping with a 'method' name (e.g. method: RTRL)")
        for key, cell in row.items():
            if not isinstance(cell, (str, int, float)) or isinstance(cell, bool):
                raise ConfigError(f"{where}[{i}].{key} must be a number or a string as printed, "
                                  f"got {type(cell).__name__}")


# ------------------------------------------------------------------------------------------------ validation


def targets(experiment: Any) -> dict[str, Any]:
    """The callable each block configures: ``task``/``model``/``protocol`` of an Experiment (task may be None)."""
    return {"task": experiment.task, "model": experiment.model, "protocol": experiment.protocol}


def parameters(target: Any, skip: Iterable[str] = ()) -> tuple[dict[str, Any], set[str], bool]:
    """``(annotations by name, required names, accepts **kwargs)`` for a function or a dataclass.

    Annotations are resolved with typing.get_type_hints, so modules using ``from __future__ import annotations``
    work; a parameter without annotation maps to ``Any``.
    """
    skip = set(skip)
    if dataclasses.is_dataclass(target) and isinstance(target, type):
        hints = _hints(target)
        params, required = {}, set()
        for field in dataclasses.fields(target):
            if not field.init or field.name in skip:
                continue
            params[field.name] = hints.get(field.name, Any)
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
                required.add(field.name)
        return params, required, False
    signature = inspect.signature(target)
    hints = _hints(target)
    params, required, var_kw = {}, set(), False
    for name, param in signature.parameters.items():
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            var_kw = True
            continue
        if param.kind is inspect.Parameter.VAR_POSITIONAL or name in skip or name == "self":
            continue
        params[name] = hints.get(name, Any)
        if param.default is inspect.Parameter.empty:
            required.add(name)
    return params, required, var_kw


def validate_section(values: dict, target: Any, *, section: str, source: str | Path, partial: bool = False) -> None:
    """Check ``values`` against ``target``'s signature; ConfigError naming ``source`` and ``section.key``.

    ``partial=True`` skips the missing-key check (for a ``smoke:`` block, which only overrides).
    """
    if target is None:
        if values:
            raise ConfigError(f"{source}: this experiment has no {section}, remove the {section!r} block")
        return
    params, required, var_kw = parameters(target, SKIPPED_PARAMS.get(section.split(".")[-1], ()))
    for key, value in values.items():
        if key not in params:
            if var_kw:
                continue
            raise ConfigError(
                f"{source}: unknown key '{section}.{key}'{_suggest(str(key), params)}; "
                f"valid keys: {', '.join(params) or '(none)'}"
            )
        expected = params[key]
        value = values[key] = coerce_floats(value, expected)
        if not check_type(value, expected):
            raise ConfigError(
                f"{source}: '{section}.{key}' must be {type_name(expected)}, "
                f"got {type(value).__name__} {value!r}"
            )
    if not partial:
        missing = sorted(required - set(values))
        if missing:
            raise ConfigError(f"{source}: missing key(s) {', '.join(f'{section}.{m}' for m in missing)}")


def validate_config(cfg: dict, experiment: Any, source: str | Path) -> None:
    """Validate the ``task``/``model``/``protocol`` blocks (and the ``smoke`` overrides) of ``cfg``."""
    for section, target in targets(experiment).items():
        validate_section(cfg.get(section) or {}, target, section=section, source=source)
    for section, block in (cfg.get("smoke") or {}).items():
        validate_section(block, targets(experiment)[section], section=f"smoke.{section}", source=source,
                         partial=True)


# ------------------------------------------------------------------------------------------- smoke, overrides


def apply_smoke(cfg: dict, source: str | Path = "<config>") -> dict:
    """A copy of ``cfg`` with its ``smoke:`` block merged in (same nesting) and removed.

    ``--smoke`` shrinks the same config (fewer trials, a low sequence cap) so a run proves the path end to end in
    seconds; a config without a ``smoke:`` block cannot be smoke-run.
    """
    smoke = cfg.get("smoke")
    if not smoke:
        raise ConfigError(f"{source}: no 'smoke:' block, so --smoke has nothing to shrink; add one")
    out = copy.deepcopy(cfg)
    del out["smoke"]
    for section, block in smoke.items():
        out.setdefault(section, {})
        out[section].update(copy.deepcopy(block))
    return out


def apply_overrides(
    cfg: dict,
    overrides: Iterable[str],
    *,
    experiment: Any = None,
    source: str | Path = "<config>",
) -> dict:
    """A copy of ``cfg`` with each ``key.path=value`` applied; the value is parsed as YAML.

    The key path must exist in the config, or (with ``experiment``) be a parameter of that block's target, so a
    typo fails instead of adding a key nobody reads. With ``experiment`` the result is re-validated.
    """
    out = copy.deepcopy(cfg)
    accepted: dict[str, set[str]] = {}
    if experiment is not None:
        for section, target in targets(experiment).items():
            if target is not None:
                accepted[section] = set(parameters(target, SKIPPED_PARAMS[section])[0])
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected key.path=value, e.g. --set protocol.trials=3")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(f"--set {item!r}: value is not valid YAML ({getattr(exc, 'problem', exc)})") from None
        parts = key.split(".")
        node = out
        for depth, part in enumerate(parts[:-1]):
            if not isinstance(node, dict) or part not in node or not isinstance(node[part], dict):
                raise ConfigError(f"unknown key {key!r} for --set in {source}: no block {'.'.join(parts[:depth + 1])!r}")
            node = node[part]
        leaf = parts[-1]
        known = leaf in node or (len(parts) == 2 and leaf in accepted.get(parts[0], ()))
        if not isinstance(node, dict) or not known:
            candidates = list(node) + sorted(accepted.get(parts[0], ())) if isinstance(node, dict) else []
            prefix = ".".join(parts[:-1])
            hint = _suggest(leaf, candidates, prefix=f"{prefix}." if prefix else "")
            raise ConfigError(f"unknown key {key!r} for --set in {source}{hint}")
        node[leaf] = value
    if experiment is not None:
        validate_config(out, experiment, source)
    return out


# ---------------------------------------------------------------------------------------------------- helpers


def _hints(target: Callable | type) -> dict[str, Any]:
    """get_type_hints, falling back to raw annotations when a forward reference cannot be resolved."""
    try:
        return typing.get_type_hints(target)
    except Exception:  # an unresolvable forward ref must not hide the config error we are looking for
        return dict(getattr(target, "__annotations__", {}))


def _suggest(word: str, candidates: Iterable[str], prefix: str = "") -> str:
    """`` (did you mean 'x'?)`` for near matches, else empty."""
    close = difflib.get_close_matches(word, list(dict.fromkeys(str(c) for c in candidates)), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(prefix + c) for c in close) + "?)"
