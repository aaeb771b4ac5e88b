"""Exception and warning classes of index_engine.

Every error a user can cause derives from :class:`IndexEngineError` and also from the
built-in type users already catch (``ValueError`` for bad input, ``RuntimeError`` for a
build that cannot proceed). The CLI turns an ``IndexEngineError`` into a one-line message
and exit code 2.
"""

from __future__ import annotations


class IndexEngineError(Exception):
    """Base class of every error index_engine raises on purpose."""


class SpecError(IndexEngineError, ValueError):
    """A spec file or spec value is invalid; the message names the file and the YAML path."""


class UnknownMethodError(SpecError):
    """A step names a method that no registry holds."""


class DataError(IndexEngineError, ValueError):
    """An input data file or table is invalid; the message names the file, rows and columns."""


class BuildError(IndexEngineError, RuntimeError):
    """A build cannot proceed with valid inputs (for example a geometric mean of a value <= 0)."""


class OutputExistsError(IndexEngineError, FileExistsError):
    """The output folder exists already and overwriting it was not asked for."""


class IndexEngineWarning(UserWarning):
    """Base class of index_engine's named warnings."""


class DegenerateIndicatorWarning(IndexEngineWarning):
    """An indicator has zero variance (or too few values) where a method needs spread."""


class WeightsNotNormalizedWarning(IndexEngineWarning):
    """Weights were rescaled because they did not sum to one."""


class InconsistentJudgementsWarning(IndexEngineWarning):
    """An AHP comparison matrix has a consistency ratio CR >= 0.10 and the spec accepts it."""


class SmallSampleWarning(IndexEngineWarning):
    """A statistic was computed on fewer points than it needs to be reliable."""


class SingularCorrelationWarning(IndexEngineWarning):
    """A correlation matrix is singular, so a statistic that needs its inverse (KMO) is undefined."""


class OptimisationWarning(IndexEngineWarning):
    """An optimisation stopped at its iteration limit; its result is the best point it found."""


class CoverageWarning(IndexEngineWarning):
    """An aggregate was left missing because too few of its children had data."""


class EncodingGuessWarning(IndexEngineWarning):
    """A text file was neither UTF-8 nor GBK/GB18030 and was read as Windows-1252 (Western European)."""


class EmptyNodeWarning(IndexEngineWarning):
    """An indicator, or every indicator under an aggregate, has no value for any unit or year."""


class EmptyNodeYearWarning(EmptyNodeWarning):
    """An indicator, or every indicator under an aggregate, has no value for any unit in some years (not all)."""


class DegenerateOutputWarning(IndexEngineWarning):
    """An analysis' output barely varies (most builds give the same value), so its indices are unreliable."""


class MissingIndicatorWarning(IndexEngineWarning):
    """Indicators of the spec the data lacks were dropped (``data.on_missing_indicator: warn``); the weights of
    their siblings were renormalised."""


class MissingDenominatorWarning(IndexEngineWarning):
    """Values whose denominator the data lacks (no column, or an empty cell for the unit-year) were left missing."""


class UnknownIndicatorWarning(IndexEngineWarning):
    """The data has indicators the spec does not name; they are read but not used."""


class GapTokenWarning(IndexEngineWarning):
    """Cells written as a gap token (``NA``, ``n/a``, ``—``, ``#N/A``, ...) were read as missing values."""


class PartialYearWarning(IndexEngineWarning):
    """Sub-annual rows of a flow do not cover a whole year, so that year's value is missing (recorded as partial)."""


class DuplicateRowsWarning(IndexEngineWarning):
    """Rows for the same unit, period and indicator were settled by the spec's ``data.duplicates`` policy."""


class BaselineAfterDataWarning(IndexEngineWarning):
    """A target's baseline is dated after every observation of the tracked unit: nothing can be
    measured from it (the status is not_started)."""


class SeriesBreakWarning(IndexEngineWarning):
    """A target's observations straddle a series break (a change of definition, 口径): values before
    the break are not counted, and attainment against a baseline from before it mixes definitions."""
