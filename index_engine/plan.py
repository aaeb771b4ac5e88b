"""The compiled plan: what every step runs for every indicator and node, read from the spec once.

``compile_plan(spec)`` looks up each step's method for each indicator (transform … normalize),
aggregate node (weights, aggregate) and the whole panel (screen), checks its parameters, fills
in the ones the spec leaves to the tree (a goalpost, a target, a direction), applies the
direction rule and records the YAML path the choice came from. The pipeline runs the plan's
entries, the log records them and the stage cache keys on them. A plan is compiled once per
Spec object and kept while the spec lives.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from .errors import SpecError
from .families import FAMILIES
from .registry import Method
from .spec import INDICATOR_STEPS, NODE_STEPS, STEP_NAMES, Node, Spec, step_choice

DEFAULT_POOL = {"impute": "year", "screen": "year", "treat": "year", "normalize": "all"}
"""The rows a step's statistics are taken over when the spec gives no ``pool``."""


def frozen(v: Any) -> Any:
    """``v`` with dicts and lists turned into sorted tuples, so parameters can key a dict."""
    if isinstance(v, dict):
        return tuple(sorted((k, frozen(x)) for k, x in v.items()))
    if isinstance(v, list):
        return tuple(frozen(x) for x in v)
    return v


def data_direction(step: str, method: Method, node: Node | None) -> int:
    """The factor an indicator is multiplied by before ``method`` runs: the direction rule.

    As COINr does (docs/methodology.md §H.1), a negative-direction indicator is multiplied by −1 before
    normalisation, so min, max, ranks and z-scores see the negated values, and every level the
    method takes from the indicator (a target, goalposts) is multiplied by the same factor (see
    :func:`compile_plan`). A method with the ``own_units`` trait reads the indicator in its own
    units (points' thresholds, base_index's ratios) and takes the direction as a parameter.
    Steps other than normalize see the data as it is.
    """
    if step != "normalize" or node is None or method.has("own_units"):
        return 1
    return node.direction


@dataclass(frozen=True)
class Entry:
    """What ``step`` runs for indicator or node ``code``.

    ``params`` are checked, with defaults and the tree's values filled in; ``direction`` is the
    factor the data is multiplied by before the method (:func:`data_direction`); ``pool`` the
    rows the method's statistics are taken over (``all`` or ``year``; None for steps without a
    pool and methods that take none); ``path`` the YAML path of the choice (``steps.normalize.by_indicator.CR3``).
    """

    step: str
    code: str
    method: Method
    params: Mapping[str, Any]
    path: str
    direction: int = 1
    pool: str | None = None

    @property
    def traits(self) -> frozenset[str]:
        return self.method.traits

    @property
    def group(self) -> tuple:
        """The log's key: entries with the same method, parameters and path share one log line."""
        return (self.method.name, frozen(dict(self.params)), self.path)

    def signature(self) -> list:
        """Everything about the entry that decides its result (JSON-able), for cache keys."""
        return [self.code, self.method.name, dict(self.params), self.path, self.direction, self.pool]


@dataclass(frozen=True)
class Plan:
    """Every step's entries, in the order the step runs them (indicators in tree order,
    aggregates lowest level first, one entry for screen)."""

    steps: Mapping[str, Mapping[str, Entry]]

    def entry(self, step: str, code: str) -> Entry:
        return self.steps[step][code]

    def entries(self, step: str) -> tuple[Entry, ...]:
        return tuple(self.steps[step].values())

    @property
    def screen(self) -> Entry:
        (entry,) = self.steps["screen"].values()
        return entry

    def signature(self, step: str) -> list:
        """The step's entries as JSON-able data: equal exactly when the step would run the same."""
        return [e.signature() for e in self.entries(step)]


_PLANS: dict[int, Plan] = {}
_LOCK = threading.Lock()


def compile_plan(spec: Spec) -> Plan:
    """The spec's plan, compiled on the first call for this Spec object and reused after."""
    key = id(spec)
    plan = _PLANS.get(key)
    if plan is None:
        plan = _compile(spec)
        with _LOCK:
            if key not in _PLANS:
                _PLANS[key] = plan
                weakref.finalize(spec, _PLANS.pop, key, None)
            plan = _PLANS[key]
    return plan


def _codes(spec: Spec, step: str) -> tuple[str, ...]:
    if step in INDICATOR_STEPS:
        return spec.indicators
    if step in NODE_STEPS:
        return spec.aggregates
    return (spec.tree.code,)  # screen: one choice for the whole panel


def _compile(spec: Spec) -> Plan:
    steps: dict[str, Mapping[str, Entry]] = {}
    checked = dict(spec.validated_choices)  # path -> method and params, as the spec's validation checked them
    for step in STEP_NAMES:
        pool = getattr(spec.steps, step).pool or DEFAULT_POOL.get(step)
        steps[step] = MappingProxyType({code: resolve_entry(spec, step, code, pool, checked) for code in _codes(spec, step)})
    return Plan(MappingProxyType(steps))


def resolve_entry(
    spec: Spec, step: str, code: str, pool: str | None = None, checked: dict | None = None
) -> Entry:
    """One entry: the method choice for ``code`` in ``step``, its checked params, the tree's
    values for the params the spec leaves out, and the direction rule applied."""
    choice, path = step_choice(spec, step, code)
    if checked is not None and path in checked:
        method, base = checked[path]
    else:
        method = FAMILIES[step].get(choice.method, where=f"{spec.source}: {path}.method")
        base = method.validate(choice.params, f"{spec.source}: {path}.params")
        if checked is not None:
            checked[path] = (method, base)
    node = spec.nodes.get(code)
    direction = data_direction(step, method, node)
    params = dict(base)
    for pname, attr in method.node_defaults.items():
        if pname in choice.params:
            continue
        value: Any = node
        for part in attr.split("."):
            value = getattr(value, part, None) if value is not None else None
        if value is None:
            if pname in params:
                continue
            raise SpecError(
                f"{spec.source}: {path}.params.{pname}: {step}.{choice.method} needs {pname!r} for {code}; "
                f"give it there or set tree.{code}.{attr}"
            )
        params[pname] = value if attr == "direction" else value * direction  # a level moves with the data
    if pool is not None and method.has("identity"):
        pool = None  # takes no statistics
    elif pool is not None and method.has("across_years"):
        pool = "all"  # reads a unit's other years, whatever the step's pool
    return Entry(step, code, method, MappingProxyType(params), path, direction, pool)


def resolve(spec: Spec, step: str, code: str) -> tuple[Method, dict[str, Any], str]:
    """The method, checked params (the tree's values filled in, the direction rule applied) and
    spec path for ``code`` in ``step``: the spec's compiled plan entry (:mod:`index_engine.plan`)."""
    entry = compile_plan(spec).steps[step].get(code) or resolve_entry(spec, step, code)
    return entry.method, dict(entry.params), entry.path
