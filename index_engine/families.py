"""Every method family by step name, in pipeline order."""

from __future__ import annotations

from .aggregate import AGGREGATE
from .impute import IMPUTE, SCREEN
from .normalize import NORMALIZE
from .registry import TRAITS, Registry
from .transform import DENOMINATE, TRANSFORM
from .treat import TREAT
from .weights import WEIGHTS

FAMILIES: dict[str, Registry] = {
    "transform": TRANSFORM,
    "denominate": DENOMINATE,
    "impute": IMPUTE,
    "screen": SCREEN,
    "treat": TREAT,
    "normalize": NORMALIZE,
    "weights": WEIGHTS,
    "aggregate": AGGREGATE,
}


def methods_markdown() -> str:
    """The table of every registered method (docs/methods.md is this text)."""
    import inspect

    lines = [
        "# Methods",
        "",
        "Every step method a spec can name, by family, with its parameters and defaults.",
        "Generated from the registries by `python -m index_engine.families > docs/methods.md`;",
        "a test checks that this file is current.",
        "",
        "| step | method | parameters (default) | traits | what it does |",
        "| --- | --- | --- | --- | --- |",
    ]
    for step, reg in FAMILIES.items():
        for name in reg.available():
            m = reg.get(name)
            params = []
            for p in m.params.values():
                if p.default is inspect.Parameter.empty:
                    src = m.node_defaults.get(p.name)
                    params.append(f"`{p.name}`" + (f" (from `{src}`)" if src else " (required)"))
                else:
                    params.append(f"`{p.name}` ({p.default!r})")
            summary = m.summary.replace("|", "\\|")
            traits = ", ".join(t for t in TRAITS if m.has(t)) or "—"
            lines.append(f"| {step} | `{name}` | {', '.join(params) or '—'} | {traits} | {summary} |")
    lines += [
        "",
        "## Traits",
        "",
        "Each method declares its traits when it registers; the pipeline, the stage cache, the Dask",
        "backend and the analyses ask the method rather than keep lists of names.",
        "",
        "| trait | meaning |",
        "| --- | --- |",
    ]
    lines += [f"| `{t}` | {meaning.replace('|', chr(92) + '|')} |" for t, meaning in TRAITS.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(methods_markdown(), end="")
