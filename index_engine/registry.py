"""Method registries: one per step family, methods found by name.

A method is a plain function. Its data arguments come first (positional); its parameters are
keyword-only, annotated, with defaults. The registry reads the signature once, so a spec's
``params`` are checked (names, types, constraints) when the spec loads, not halfway through a
build. Plugins may register more methods through the entry-point group
``index_engine.methods`` (each entry point is a module imported once, at first lookup).
"""

from __future__ import annotations

import difflib
import inspect
from dataclasses import dataclass, field
from typing import Any, Callable

from pydantic import TypeAdapter, ValidationError

from .errors import SpecError, UnknownMethodError

_PLUGINS_LOADED = False

TRAITS: dict[str, str] = {
    "identity": "leaves its input as it is (a step that is switched off); its table is passed through untouched",
    "across_years": "reads a unit's other years (interpolation, carrying, base-year indices), so it runs over all years at once",
    "across_rows": "a row's result depends on the other rows of the same year (pooled statistics, comparisons between units)",
    "reads_data": "reads the children's scores (data-driven weights), not only the spec's nominal weights",
    "mean": "a weighted mean of the children, so each child's contribution to its parent is reported",
    "per_year": "compares the units of one year, so it runs on one year's rows at a time",
    "rowwise": "each row is computed from that row alone, so batches of weight samples evaluate row by row",
    "distributable": "runs exactly on partitions of the units (row- or unit-wise, or made so by pooled statistics)",
    "freezable": "its fitted statistics can be taken from a reference build (see Method.fitted)",
    "own_units": "reads the indicator in its own units, not multiplied by its direction; the direction, where it matters, comes as a parameter",
}
"""The traits a method may declare when it registers; every consumer asks the method, none keeps its own list."""


@dataclass(frozen=True)
class Method:
    """A registered method: the function, its family and its declared parameters."""

    family: str
    name: str
    func: Callable[..., Any]
    params: dict[str, inspect.Parameter]
    check: Callable[[dict[str, Any]], str | None] | None = None
    node_defaults: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    """The docstring's first paragraph, on one line."""
    traits: frozenset[str] = frozenset()
    fitted: dict[str, str] = field(default_factory=dict)
    """For a freezable method: fitted.csv column -> the parameter that takes it (e.g. ``{"min": "xmin"}``)."""

    def has(self, trait: str) -> bool:
        """Whether the method declared ``trait`` (one of :data:`TRAITS`)."""
        if trait not in TRAITS:
            raise KeyError(f"unknown method trait {trait!r}; traits are {', '.join(TRAITS)}")
        return trait in self.traits

    def validate(self, params: dict[str, Any], where: str) -> dict[str, Any]:
        """Return ``params`` checked against the signature, with defaults filled in.

        ``where`` is the YAML path of the params mapping, used in every message.
        """
        params = dict(params or {})
        unknown = [k for k in params if k not in self.params]
        if unknown:
            k = unknown[0]
            hint = difflib.get_close_matches(k, list(self.params), n=1)
            allowed = ", ".join(repr(p) for p in self.params) or "none"
            msg = f"{self.family}.{self.name} has no parameter {k!r}"
            msg += f" (did you mean {hint[0]!r}?)" if hint else f"; its parameters are {allowed}"
            raise SpecError(f"{where}.{k}: {msg}")
        resolved: dict[str, Any] = {}
        for name, p in self.params.items():
            if name in params:
                value = params[name]
                if p.annotation is not inspect.Parameter.empty:
                    try:
                        value = _adapter(p.annotation).validate_python(value)
                    except ValidationError as exc:
                        why = exc.errors()[0]["msg"]
                        raise SpecError(
                            f"{where}.{name}: the {name!r} parameter of {self.family}.{self.name} "
                            f"is invalid: {why}. Got {value!r} instead"
                        ) from None
                resolved[name] = value
            elif p.default is not inspect.Parameter.empty:
                resolved[name] = p.default
            elif name not in self.node_defaults:
                raise SpecError(f"{where}: {self.family}.{self.name} needs the parameter {name!r}")
        if self.check is not None:
            problem = self.check(resolved)
            if problem:
                raise SpecError(f"{where}: {self.family}.{self.name}: {problem}")
        return resolved


_ADAPTERS: dict[int, tuple[Any, TypeAdapter]] = {}


def _adapter(annotation: Any) -> TypeAdapter:
    """The pydantic validator of a parameter's annotation, built once per annotation object (building one
    costs far more than using it, and a spec's params are checked every time a spec is made)."""
    hit = _ADAPTERS.get(id(annotation))
    if hit is None or hit[0] is not annotation:  # (the annotation is kept, so its id is not reused)
        hit = _ADAPTERS[id(annotation)] = (annotation, TypeAdapter(annotation))
    return hit[1]


class Registry:
    """Named methods of one step family (``transform``, ``normalize``, ``aggregate``, ...)."""

    def __init__(self, family: str, doc: str = ""):
        self.family = family
        self.doc = doc
        self._methods: dict[str, Method] = {}

    def register(
        self,
        name: str,
        *,
        check: Callable[[dict[str, Any]], str | None] | None = None,
        node_defaults: dict[str, str] | None = None,
        traits: tuple[str, ...] | frozenset[str] = (),
        fitted: dict[str, str] | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator that registers ``func`` under ``name``.

        ``check`` validates the resolved params together and returns a message or None;
        ``node_defaults`` maps a parameter to the indicator attribute that supplies it when
        the spec leaves it out (e.g. ``{"target": "target.value"}``); ``traits`` are names from
        :data:`TRAITS`; ``fitted`` maps a fitted statistic to the parameter that takes it.
        """
        unknown = sorted(set(traits) - set(TRAITS))
        if unknown:
            raise ValueError(f"{self.family}.{name}: unknown trait(s) {unknown}; traits are {', '.join(TRAITS)}")
        if fitted and "freezable" not in traits:
            raise ValueError(f"{self.family}.{name}: 'fitted' needs the 'freezable' trait")

        def deco(func: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._methods:
                raise ValueError(f"{self.family} method {name!r} is registered twice")
            sig = inspect.signature(func, eval_str=True)
            params = {
                p.name: p for p in sig.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY
            }
            doc = (inspect.getdoc(func) or "").strip().split("\n\n")[0]  # the first paragraph, whole
            self._methods[name] = Method(
                self.family,
                name,
                func,
                params,
                check,
                dict(node_defaults or {}),
                " ".join(doc.split()),
                frozenset(traits),
                dict(fitted or {}),
            )
            return func

        return deco

    def get(self, name: str, where: str | None = None) -> Method:
        """The method called ``name``; an :class:`UnknownMethodError` lists the available ones."""
        _load_plugins()
        try:
            return self._methods[name]
        except KeyError:
            avail = ", ".join(repr(k) for k in self.available())
            hint = difflib.get_close_matches(str(name), self.available(), n=1)
            msg = f"Unknown {self.family} method {name!r}."
            if hint:
                msg += f" Did you mean {hint[0]!r}?"
            msg += f" Available: {avail}."
            raise UnknownMethodError(f"{where}: {msg}" if where else msg) from None

    def available(self) -> list[str]:
        _load_plugins()
        return sorted(self._methods)

    def __contains__(self, name: object) -> bool:
        return name in self._methods

    def __iter__(self):
        return iter(self._methods.values())


def _load_plugins() -> None:
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    from importlib.metadata import entry_points

    for ep in entry_points(group="index_engine.methods"):
        ep.load()
