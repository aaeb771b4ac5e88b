"""Shared validators, statistics and message formatting."""

from __future__ import annotations

import codecs
import math
import re
import unicodedata
import warnings
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .errors import DataError, EncodingGuessWarning, IndexEngineError


def list_rows(labels: Iterable[Any], limit: int = 5, total: int | None = None) -> str:
    """At most ``limit`` offending rows, then '...' and how many there are (``total`` if given)."""
    labels = list(labels)
    n = len(labels) if total is None else total
    shown = ", ".join(_fmt_label(x) for x in labels[:limit])
    return shown + (f", ... ({n} in all)" if n > limit else "")


def _fmt_label(x: Any) -> str:
    if isinstance(x, tuple):
        unit, year = x[0], x[1] if len(x) > 1 else None
        return f"{unit} {year}" if year is not None and year != NO_YEAR else str(unit)
    return str(x)


NO_YEAR = 0
"""The year label of a one-period index (written as an empty cell)."""


def bad_rows_error(x: pd.Series, mask: np.ndarray, what: str) -> DataError:
    """A DataError naming the (unit, year) rows where ``mask`` holds."""
    rows = list(x.index[np.asarray(mask)])
    vals = list(np.asarray(x)[np.asarray(mask)])
    shown = ", ".join(f"{_fmt_label(r)} ({v:g})" for r, v in zip(rows[:5], vals[:5]))
    more = f", ... ({len(rows)} in all)" if len(rows) > 5 else ""
    return DataError(f"{what}: {shown}{more}")


def skew_excel(x: np.ndarray) -> float:
    """Sample skewness as Excel SKEW and e1071 type 2: G1 = g1·sqrt(n(n-1))/(n-2); NaN if n < 3."""
    x = x[~np.isnan(x)]
    n = x.size
    if n < 3:
        return math.nan
    d = x - x.mean()
    m2 = np.sum(d**2)
    if m2 == 0:
        return math.nan
    g1 = math.sqrt(n) * np.sum(d**3) / m2**1.5
    return g1 * math.sqrt(n * (n - 1)) / (n - 2)


def kurt_excel(x: np.ndarray) -> float:
    """Excess kurtosis as Excel KURT and e1071 type 2; NaN if n < 4.

    r = n·Σd⁴/(Σd²)², G2 = ((n+1)(r−3)+6)(n−1)/((n−2)(n−3)).
    """
    x = x[~np.isnan(x)]
    n = x.size
    if n < 4:
        return math.nan
    d = x - x.mean()
    m2 = np.sum(d**2)
    if m2 == 0:
        return math.nan
    r = n * np.sum(d**4) / m2**2
    return ((n + 1) * (r - 3) + 6) * (n - 1) / ((n - 2) * (n - 3))


# ---- text encodings ------------------------------------------------------------------------
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_SAMPLE = 2000
"""How many runs of non-ASCII characters the encoding rules look at (the first ones)."""
CHINESE_RARE_SHARE = 0.2
"""GB18030 text is taken as Chinese when at most this share of its non-ASCII characters lie
outside GB2312 (the 6,763 common hanzi, with punctuation, pinyin and full-width forms)."""


def decode_text(raw: bytes, name: str, what: str, error: type[IndexEngineError]) -> str:
    """The text of a file, trying UTF-8, then GBK/GB18030, then Windows-1252.

    The rule, in order:

    1. a NUL byte: not a text file (UTF-16 is named when its byte-order mark is there);
    2. UTF-8, with or without a byte-order mark;
    3. GB18030 (a superset of GBK and GB2312; after a UTF-8 byte-order mark too) when the text
       reads as Chinese: at most :data:`CHINESE_RARE_SHARE` of its non-ASCII characters lie
       outside GB2312. Latin-1 text read as GB18030 turns an accented letter and the ASCII
       letter after it into one rare hanzi (Zürich → Z黵ich), so it fails this test;
    4. Windows-1252 (which includes Latin-1's letters) when the text reads as Western: every
       run of non-ASCII characters is at most 3 long and at least half of them are letters.
       This is a guess, so it comes with an :class:`EncodingGuessWarning`;
    5. otherwise an error naming the first line that is not UTF-8 and how it reads in each guess.
    """
    nul = raw.find(b"\x00")
    if nul >= 0:
        hint = "; it is UTF-16 text: save it as UTF-8" if raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else ""
        raise error(f"{name}: not a text {what} file (a NUL byte at offset {nul}{hint})")
    body = raw[len(codecs.BOM_UTF8):] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    line_no = body.count(b"\n", 0, first_bad) + 1
    start = body.rfind(b"\n", 0, first_bad) + 1
    end = body.find(b"\n", first_bad)
    line = body[start: end if end >= 0 else len(body)].rstrip(b"\r")[:200]
    chinese = _decoded(body, "gb18030")
    if chinese is not None and _reads_as_chinese(chinese):
        return chinese
    western = _decoded(body, "cp1252")
    if western is not None and _reads_as_western(western):
        warnings.warn(
            f"{name}: not UTF-8 or GBK/GB18030 text; read as Windows-1252 (Western European), "
            f"line {line_no} reads {line.decode('cp1252')!r}; save the file as UTF-8 to be sure",
            EncodingGuessWarning,
            stacklevel=2,
        )
        return western
    guesses = [
        f"as {label} it reads {line.decode(enc, errors='replace')!r}"
        for enc, label in (("gb18030", "GBK/GB18030"), ("cp1252", "Windows-1252 (Latin-1)"))
    ]
    raise error(
        f"{name}: line {line_no}: cannot tell the text encoding: not UTF-8; {'; '.join(guesses)}; save the file as UTF-8"
    )


def _decoded(raw: bytes, encoding: str) -> str | None:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        return None


def _runs(text: str) -> list[str]:
    """The first :data:`_SAMPLE` runs of non-ASCII characters."""
    out = []
    for m in _NON_ASCII.finditer(text):
        out.append(m.group())
        if len(out) >= _SAMPLE:
            break
    return out


def _in_gb2312(ch: str) -> bool:
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _reads_as_chinese(text: str) -> bool:
    chars = "".join(_runs(text))
    rare = sum(chars.count(c) for c in set(chars) if not _in_gb2312(c))
    return rare <= CHINESE_RARE_SHARE * len(chars)


def _reads_as_western(text: str) -> bool:
    runs = _runs(text)
    chars = "".join(runs)
    letters = sum(unicodedata.category(c).startswith("L") for c in chars)
    return all(len(r) <= 3 for r in runs) and letters >= 0.5 * len(chars)
