"""Observation flags: the documented vocabulary of a data row's ``flag`` column.

A flag says what stands behind one value. The words are this project's; SDMX's OBS_STATUS code list
(SDMX 2.1 cross-domain code list CL_OBS_STATUS: A normal, E estimated, P provisional, F forecast, ...)
is accepted for the same meanings, as are the Chinese labels. Matching is case-insensitive after
trimming; an empty flag means ``observed``.

Coverage (``docs/methodology.md``, coverage and publication) counts ``observed``, ``estimate``,
``provisional`` and ``illustrative`` as observed; ``proxy`` counts and is marked; ``forecast`` does
not count. Imputed cells are never observed: imputation is recorded by the build, not by a flag.

>>> canonical_flag(" E ")
'estimate'
>>> canonical_flag("代理")
'proxy'
>>> FLAGS["forecast"].counts_as_observed
False
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .errors import DataError


@dataclass(frozen=True)
class Flag:
    """One word of the vocabulary: its labels, its SDMX OBS_STATUS letters, whether coverage counts it
    as observed, and whether pages mark the value."""

    name: str
    zh: str
    en: str
    sdmx: tuple[str, ...]
    counts_as_observed: bool
    marked: bool

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


FLAGS: dict[str, Flag] = {
    f.name: f
    for f in (
        Flag("observed", "观测", "observed", ("A",), True, False),
        Flag("estimate", "估计", "estimate", ("E",), True, True),
        Flag("provisional", "初步", "provisional", ("P",), True, True),
        Flag("proxy", "代理", "proxy", ("X",), True, True),
        Flag("forecast", "预测", "forecast", ("F",), False, True),
        Flag("illustrative", "示例", "illustrative", ("S",), True, True),
    )
}
"""The vocabulary in display order. SDMX letters: A normal, E estimated, P provisional, F forecast;
X and S are this project's letters for proxy and illustrative (SDMX has no code for either)."""

_SYNONYMS: dict[str, str] = {}
for _f in FLAGS.values():
    for _word in (_f.name, _f.zh, _f.en, *_f.sdmx):
        _SYNONYMS[_word.casefold()] = _f.name
_SYNONYMS.update({"": "observed", "normal": "observed", "estimated": "estimate", "est": "estimate",
                  "prov": "provisional", "illustration": "illustrative", "simulated": "illustrative",
                  "模拟": "illustrative", "实际": "observed", "观测值": "observed", "估算": "estimate"})


def canonical_flag(text: object, where: str = "") -> str:
    """The vocabulary word for a flag as written in a data file; an unknown flag is a :class:`DataError`
    naming ``where`` (file and row) and the accepted words."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):  # None, NaN, pandas' NA: no flag
        return "observed"
    key = str(text).strip().casefold()
    try:
        return _SYNONYMS[key]
    except KeyError:
        words = ", ".join(f"{f.name} ({'/'.join(f.sdmx)}, {f.zh})" for f in FLAGS.values())
        raise DataError(f"{where + ': ' if where else ''}unknown flag {str(text)!r}; use one of {words}") from None


def counts_as_observed(flag: str) -> bool:
    """Whether coverage counts a value with this (canonical) flag as observed."""
    return FLAGS[flag].counts_as_observed
