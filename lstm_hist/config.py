"""Load an experiment config, check it against the code it configures, apply ``--smoke`` and ``--set``.

A config's ``task``, ``model`` and ``protocol`` blocks are keyword arguments of real Python callables (the task
generator, the model builder, the protocol dataclass). Instead of a second schema that could drift from the code,
each block is checked against the annotated signature of its target: a misspelt key or a value of the wrong type
fails here, before any training starts, with the file and the key in the message (a silent default would make
the run measure something other than the paper's row).
"""

from __future__ import annotations

import collections.abc
import copy
import dataclasses
import difflib
import inspect
import types
import typing
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Union

import yaml

from lstm_hist.errors import ConfigError

TOP_LEVEL_KEYS = (
    "experiment",
    "title",
    "table",
    "row",
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


# The other methods a paper table prints beside its own (RTRL, BPTT, ...): quoted, never run, so they are
# strings in the paper's notation ("≈170", ">200,000") and kept out of the paper-vs-ours metric columns.
COMPARISONS = "comparisons"


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


# A note that the paper's numbers of a row come from another data set (Chung's non-public Ubisoft speech beside
# our FSDD runs); the report marks those numbers with a dagger and prints the note.
REFERENCE_ONLY = "reference_only"


def paper_metrics(reported: dict | None) -> dict:
    """The paper's numbers for this row under the evaluator's metric keys (no comparisons, no reference note)."""
    return {k: v for k, v in (reported or {}).items() if k not in (COMPARISONS, REFERENCE_ONLY)}


def reference_note(reported: dict | None) -> str | None:
    note = (reported or {}).get(REFERENCE_ONLY)
    return str(note) if note else None


def comparisons(reported: dict | None) -> list[dict]:
    """The comparison-method rows the paper prints for this row's table (empty when none)."""
    return list((reported or {}).get(COMPARISONS) or [])


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


# ------------------------------------------------------------------------------------------------ type checks


def coerce_floats(value: Any, annotation: Any) -> Any:
    """``value`` with strings that Python's float() reads turned into floats where ``annotation`` wants a float.

    YAML 1.1 (PyYAML) reads ``1e-3`` and ``1e8`` as strings (it wants ``1.0e-3``), so a learning rate written the
    way users write it would be refused as a string; a field that also accepts strings keeps the string.
    """
    if check_type(value, annotation):
        return value
    if isinstance(value, str):
        if _accepts_float(annotation):
            try:
                return float(value.strip())
            except ValueError:
                return value
        return value
    if isinstance(value, list):
        origin, args = typing.get_origin(annotation), typing.get_args(annotation)
        if origin is Union or origin is types.UnionType:
            for arm in args:
                if arm is not type(None) and check_type(coerced := coerce_floats(value, arm), arm):
                    return coerced
            return value
        if origin in (list, collections.abc.Sequence) and args:
            return [coerce_floats(v, args[0]) for v in value]
        if origin is tuple and args:
            if len(args) == 2 and args[1] is Ellipsis:
                return [coerce_floats(v, args[0]) for v in value]
            if len(args) == len(value):
                return [coerce_floats(v, a) for v, a in zip(value, args)]
    return value


def _accepts_float(annotation: Any) -> bool:
    """Whether ``annotation`` takes a float but not a str (a str field keeps what the user typed)."""
    origin = typing.get_origin(annotation)
    if origin is Union or origin is types.UnionType:
        arms = typing.get_args(annotation)
        return any(_accepts_float(a) for a in arms) and not any(a is str for a in arms)
    return annotation is float


def check_type(value: Any, annotation: Any) -> bool:
    """Whether a YAML-loaded ``value`` fits ``annotation`` (the subset configs use).

    int accepts no bool; float accepts int but no bool; tuple accepts a YAML list; unknown annotations accept
    anything rather than block a config on a type this checker does not model.
    """
    if annotation is Any or annotation is inspect.Parameter.empty:
        return True
    if annotation is None or annotation is type(None):
        return value is None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Union or origin is types.UnionType:
        return any(check_type(value, arm) for arm in args)
    if origin is Literal:
        return any(value == arg and type(value) is type(arg) for arg in args)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if origin in (list, collections.abc.Sequence) or annotation is list:
        if not isinstance(value, (list, tuple)):
            return False
        return all(check_type(v, args[0]) for v in value) if args else True
    if origin is tuple or annotation is tuple:
        if not isinstance(value, (list, tuple)):
            return False
        if not args:
            return True
        if len(args) == 2 and args[1] is Ellipsis:
            return all(check_type(v, args[0]) for v in value)
        return len(value) == len(args) and all(check_type(v, a) for v, a in zip(value, args))
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            return False
        if len(args) == 2:
            return all(check_type(k, args[0]) and check_type(v, args[1]) for k, v in value.items())
        return True
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def type_name(annotation: Any) -> str:
    """A readable name: ``int``, ``float | None``, ``list[int]``, ``one of 'a', 'b'``."""
    if annotation is None or annotation is type(None):
        return "None"
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Union or origin is types.UnionType:
        return " | ".join(type_name(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is not None and args:
        inner = ", ".join("..." if a is Ellipsis else type_name(a) for a in args)
        return f"{getattr(origin, '__name__', str(origin))}[{inner}]"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "")


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
