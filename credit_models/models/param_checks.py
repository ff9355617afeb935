"""The checks an estimator's ``model.params`` share, whatever the family: a name the estimator
does not take (with the close names) and a value of the wrong type, each as one clause of a
one-line :class:`ConfigError` message."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any

SCALARS = (bool, int, float, str, type(None))


def type_problem(key: str, value: Any, expected: Any) -> str | None:
    """Why ``value`` is not of the ``expected`` annotation (``int``, ``float``, ``str``,
    ``bool``, ``None`` or a union of them); None when it is. An int is a float; a bool is
    neither. Other annotations are left to the estimator."""
    union = typing.get_origin(expected) in (typing.Union, types.UnionType)
    allowed = tuple(type(None) if kind is None else kind
                    for kind in (typing.get_args(expected) if union else (expected,)))
    if any(kind not in SCALARS for kind in allowed) or _is_instance(value, allowed):
        return None
    names = " or ".join("null" if kind is type(None) else kind.__name__ for kind in allowed)
    return f"{key} must be {names}; got {value!r} ({type(value).__name__})"


def _is_instance(value: Any, allowed: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return bool in allowed
    if isinstance(value, int):
        return int in allowed or float in allowed
    return isinstance(value, tuple(kind for kind in allowed if kind not in (bool, int)))


def unknown_key_problem(key: str, name: str, known: list[str], owner: str) -> str:
    """``key`` names no parameter of ``owner``: the close names, or all of them."""
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
    hint = (f"did you mean {' or '.join(close)}?" if close
            else f"its parameters are {', '.join(sorted(known))}")
    return f"{key} is not a parameter of {owner}; {hint}"


def param_problems(params: dict[str, Any], known: list[str], types_: dict[str, Any],
                   set_elsewhere: dict[str, str], owner: str) -> list[str]:
    """Every ``model.params`` entry that is set elsewhere, unknown to ``owner`` or mistyped."""
    problems = []
    for name, value in params.items():
        key = f"model.params.{name}"
        if name in set_elsewhere:
            problems.append(f"{key} is set by {set_elsewhere[name]}; remove it from model.params")
        elif name not in known:
            problems.append(unknown_key_problem(key, name, known, owner))
        elif name in types_ and (problem := type_problem(key, value, types_[name])):
            problems.append(problem)
    return problems
