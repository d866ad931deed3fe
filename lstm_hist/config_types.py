"""Whether a YAML-loaded config value fits the annotation of the parameter it configures (the subset of typing
that configs use), and the float coercion PyYAML 1.1 makes necessary. Used by :mod:`lstm_hist.config`.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from typing import Any, Literal, Union


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
