"""Factors of an uncertainty analysis: what is varied, and how a spec's ``uncertainty:`` section reads.

* :class:`WeightNoise` multiplies the weights of the nodes at chosen tree levels by 1 + u·f,
  u ~ U(−1, 1), renormalised within each parent (COINr ``get_noisy_weights``; f = 0.25 by default);
* :class:`Choice` puts one of a list of values at a spec path (``steps.normalize.method``,
  ``steps.treat.params.winmax``, ``tree.LPI.weight`` ...), each with equal probability; without a
  path, each value maps several paths to values. Any spec value can be a factor this way.

A factor that cannot be applied is a :class:`~index_engine.errors.SpecError` naming its key, before
anything is built; nothing ever falls back to a default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np
import yaml

from .._json import jsonable
from ..errors import SpecError
from ..spec import Spec, UncertainFactor
from ..yamlsafe import write_yaml_text

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class WeightNoise:
    """Noise on the weights of every node at ``levels``: w·(1 + u·noise), u ~ U(−1, 1), renormalised.

    Parameters
    ----------
    levels : tuple of int
        Tree levels whose weights vary (1 = indicators, 2 = their parents, ...; COINr numbering).
    noise : float, default=0.25
        The largest relative change of a weight (0.25 = ±25%), in (0, 1].
    group : str, optional
        Sobol group label; factors with the same label share their indices.

    Notes
    -----
    The noise multiplies the weights the spec's weighting method resolves (fixed, equal, or a
    data-driven method), one independent u per node, as COINr ``get_noisy_weights``.
    """

    levels: tuple[int, ...]
    noise: float = 0.25
    group: str | None = None

    def __post_init__(self) -> None:
        levels = (self.levels,) if isinstance(self.levels, int) else tuple(self.levels)
        if not levels or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in levels):
            raise SpecError(f"WeightNoise levels must be tree levels (integers >= 1). Got {self.levels!r} instead")
        if isinstance(self.noise, bool) or not isinstance(self.noise, (int, float)) or not 0 < self.noise <= 1:
            raise SpecError(f"WeightNoise noise must be a number in (0, 1]. Got {self.noise!r} instead")
        object.__setattr__(self, "levels", tuple(int(v) for v in levels))
        object.__setattr__(self, "noise", float(self.noise))

    def as_dict(self) -> dict[str, Any]:
        return {"type": "weights", "levels": list(self.levels), "noise": self.noise, "group": self.group}


@dataclass(frozen=True)
class Choice:
    """One of ``values`` at spec ``path``, each with equal probability.

    Parameters
    ----------
    values : sequence
        The alternatives. With ``path``, each value replaces the value at ``path`` whole (a
        mapping for ``steps.normalize`` replaces the step). Without ``path``, each value is a
        mapping of spec paths to values, applied together.
    path : str, optional
        A spec path (see :mod:`index_engine.spec`), e.g. ``steps.treat.params.winmax``.
    group : str, optional
        Sobol group label.
    """

    values: tuple[Any, ...]
    path: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.values, (str, bytes, Mapping)) or not isinstance(self.values, Iterable):
            raise SpecError(f"Choice values must be a list of alternatives. Got {self.values!r} instead")
        values = tuple(self.values)
        if not values:
            raise SpecError("a Choice needs at least one value")
        if self.path is None and not all(isinstance(v, Mapping) and v for v in values):
            raise SpecError("a Choice without a path needs values that map spec paths to values")
        object.__setattr__(self, "values", values)

    def changes(self, i: int) -> dict[str, Any]:
        """The spec changes of alternative ``i``."""
        v = self.values[i]
        return {self.path: v} if self.path is not None else dict(v)

    def as_dict(self) -> dict[str, Any]:
        return {"type": "choice", "path": self.path, "values": jsonable(list(self.values), keep_infinite=True), "group": self.group}


Factor = WeightNoise | Choice


def factors_from_spec(spec: Spec) -> dict[str, Factor]:
    """The spec's ``uncertainty:`` section as factor objects (in the order written)."""
    return {key: _as_factor(key, f) for key, f in spec.uncertainty.items()}


def _as_factor(key: str, f: Any) -> Factor:
    if isinstance(f, (WeightNoise, Choice)):
        return f
    if isinstance(f, Mapping):
        try:
            f = UncertainFactor.model_validate(dict(f))
        except Exception as exc:  # pydantic's message, under the factor's key
            raise SpecError(f"uncertainty.{key}: {exc}") from None
    if isinstance(f, UncertainFactor):
        if f.type == "weights":
            return WeightNoise(levels=f.levels, noise=f.noise, group=f.group)
        return Choice(values=f.values, path=f.path, group=f.group)
    raise SpecError(f"uncertainty.{key}: a factor is a WeightNoise or a Choice. Got {type(f).__name__} instead")


@dataclass
class _Plan:
    """Factors resolved against a spec: uniform columns, perturbed nodes, Sobol groups."""

    factors: dict[str, Factor]
    choice_keys: list[str]
    cols: dict[str, list[int]]
    noise: list[tuple[str, str, str, int, int, float]]  # key, parent, child, position, column, f
    noise_parents: dict[str, str]  # parent -> key of the first factor that perturbs it
    groups: dict[str, list[str]]  # Sobol label -> factor keys
    D: int

    def decode(self, U: np.ndarray) -> np.ndarray:
        """Choice indices (samples × choice factors) from uniforms in [0, 1)."""
        out = np.zeros((U.shape[0], len(self.choice_keys)), dtype=np.int64)
        for j, key in enumerate(self.choice_keys):
            k = len(self.factors[key].values)
            out[:, j] = np.minimum((U[:, self.cols[key][0]] * k).astype(np.int64), k - 1)
        return out

    def manifest(self) -> dict[str, Any]:
        out = {}
        for key, f in self.factors.items():
            d = f.as_dict()
            if isinstance(f, WeightNoise):
                d["nodes"] = [child for k, _, child, *_ in self.noise if k == key]
            out[key] = d
        return out


def _plan(spec: Spec, factors: Mapping[str, Any] | None) -> _Plan:
    where = spec.source
    if factors is None:
        if not spec.uncertainty:
            raise SpecError(f"{where}: the spec has no uncertainty: section; add one or pass factors")
        facs = factors_from_spec(spec)
    elif isinstance(factors, Mapping):
        facs = {str(k): _as_factor(str(k), f) for k, f in factors.items()}
    else:
        raise SpecError(f"factors must map factor keys to WeightNoise or Choice objects. Got {type(factors).__name__} instead")
    if not facs:
        raise SpecError(f"{where}: no uncertain factors given")
    cols: dict[str, list[int]] = {}
    noise: list[tuple[str, str, str, int, int, float]] = []
    noise_parents: dict[str, str] = {}
    perturbed: dict[str, str] = {}
    touched: dict[str, str] = {}
    col = 0
    below_root = sorted({spec.levels[c] for c in spec.nodes if c != spec.tree.code})
    for key, f in facs.items():
        label = f"{where}: uncertainty.{key}"
        if isinstance(f, Choice):
            for i, v in enumerate(f.values):
                changes = f.changes(i)
                for p in changes:
                    for other_p, other_key in touched.items():
                        if other_key != key and (p == other_p or p.startswith(other_p + ".") or other_p.startswith(p + ".")):
                            raise SpecError(f"{label}: the path {p} overlaps {other_p} of factor {other_key!r}; one path, one factor")
                    touched.setdefault(p, key)
                try:
                    spec.replace_many(changes, origin=f"uncertainty.{key}")
                except SpecError as exc:
                    raise SpecError(
                        f"{label}: value {i + 1} of {len(f.values)} ({_cell_text(v)}) cannot be applied: {exc}"
                    ) from None
            cols[key] = [col]
            col += 1
        else:
            cols[key] = []
            for lvl in f.levels:
                nodes = [c for c in spec.nodes if spec.levels[c] == lvl and spec.parents[c] is not None]
                if not nodes:
                    raise SpecError(
                        f"{label}: no node at level {lvl} has a weight; the levels below the index are {below_root}"
                    )
                for child in nodes:
                    if child in perturbed:
                        raise SpecError(f"{label}: the weight of {child} is already varied by factor {perturbed[child]!r}")
                    perturbed[child] = key
                    parent = spec.parents[child]
                    kids = [c.code for c in spec.nodes[parent].children]
                    noise.append((key, parent, child, kids.index(child), col, f.noise))
                    noise_parents.setdefault(parent, key)
                    cols[key].append(col)
                    col += 1
    groups: dict[str, list[str]] = {}
    for key, f in facs.items():
        groups.setdefault(f.group or key, []).append(key)
    return _Plan(facs, [k for k, f in facs.items() if isinstance(f, Choice)], cols, noise, noise_parents, groups, col)


def _columns(plan: _Plan) -> list[str]:
    names = [""] * plan.D
    for key in plan.choice_keys:
        names[plan.cols[key][0]] = key
    for key, _, child, _, col, _ in plan.noise:
        names[col] = f"{key}.{child}"
    return names


def _cell_text(v: Any) -> str:
    """A value as one line of YAML (what ``--set PATH=VALUE`` takes)."""
    text = write_yaml_text(jsonable(v, keep_infinite=True), default_flow_style=True, allow_unicode=True, width=10**9, sort_keys=False)
    text = text.strip()
    if text.endswith("\n..."):
        text = text[: -len("\n...")]
    return text.removesuffix("...").strip()


def _cell(v: Any) -> Any:
    """Numbers stay numbers in samples.csv; anything else is its YAML text."""
    if isinstance(v, bool) or v is None:
        return _cell_text(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return v
    return _cell_text(v)


def _read_cell(v: Any) -> Any:
    if isinstance(v, str):
        if v.startswith("'") and v[1:2] and v[1] in _FORMULA_START:
            v = v[1:]  # the CSV-injection guard's apostrophe
        return yaml.safe_load(v) if v.strip() else v
    if isinstance(v, np.generic):
        return v.item()
    return v
