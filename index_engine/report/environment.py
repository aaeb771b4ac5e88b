"""The report's jinja2 environment: its class, its options and where its compiled templates are kept.

Compiling the templates from source costs more than rendering a small report, so the code jinja2
compiles a template to is kept by :class:`TemplateCodeCache`: in memory for the rest of the process
(a second report rendered by the same process, as in the test suite, compiles nothing) and in a
folder for later processes (see :func:`template_cache_folder`).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path
from types import CodeType
from typing import Any, Callable

import jinja2
from jinja2.bccache import Bucket, BytecodeCache

HERE = Path(__file__).resolve().parent

OPTIONS: dict[str, Any] = {
    "autoescape": True,
    "undefined": jinja2.StrictUndefined,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "auto_reload": False,  # the templates are package files: no stat of each one per page
}
"""The options of every report environment (:func:`index_engine.report.render.make_env`). They are
part of the compiled templates' file names, with the versions of jinja2 and Python, since jinja2 checks
only each template's source when it reads compiled code back."""


class ReportEnvironment(jinja2.Environment):
    """A jinja2 environment whose ``obj.name`` reads a plain dict's key without first trying (and
    failing) an attribute: the pages' rows are dicts, read tens of thousands of times per report.

    The result is the one :meth:`jinja2.Environment.getattr` gives: a name that is also an attribute
    of ``dict`` (``items``, ``keys``, ...) still gives the attribute, a missing key the undefined value.
    """

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


_DICT_ATTRIBUTES = frozenset(dir(dict))


def template_cache_folder() -> Path | None:
    """Where compiled templates are written for later processes: the first of these that can be
    created and written, else None (kept in memory only).

    1. ``__pycache__`` beside the report's modules, where Python keeps their compiled code: the same
       lifetime and the same writers as the package itself, so nothing there is more trusted than the
       code beside it. Skipped when Python is told not to write bytecode
       (``PYTHONDONTWRITEBYTECODE``), and where the package is installed read-only.
    2. ``$XDG_CACHE_HOME/index_engine/templates`` (``~/.cache/...``), created for this user only.

    Not the system's temporary folder: there another user may create the folder first, which
    jinja2's own default cache then refuses with an error.
    """
    places = [] if sys.dont_write_bytecode else [HERE / "__pycache__"]
    try:
        places.append(Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "index_engine" / "templates")
    except RuntimeError:  # no home folder
        pass
    for place in places:
        try:
            place.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError:
            continue
        if place.is_dir() and os.access(place, os.W_OK | os.X_OK):
            return place
    return None


class TemplateCodeCache(BytecodeCache):
    """Compiled templates kept in memory for the process and, where ``folder`` is given, in files.

    An entry is used only for the same template file with the same source (jinja2 keys it by the
    template's name and path and checks a checksum of its source), the same jinja2 and Python
    versions and the same :data:`OPTIONS` (both in the file name). A file that cannot be read or is
    damaged is compiled again; one that cannot be written is skipped: the cache never fails a report.

    Parameters
    ----------
    folder : path, None, or a function giving one (called when first needed)
        None keeps compiled templates in memory only.
    """

    def __init__(self, folder: Path | None | Callable[[], Path | None]) -> None:
        self._folder = folder
        self._codes: dict[tuple[str, str], CodeType] = {}
        tag = repr((jinja2.__version__, sys.implementation.cache_tag, sorted((k, repr(v)) for k, v in OPTIONS.items())))
        self._suffix = "." + hashlib.sha1(tag.encode()).hexdigest()[:16] + ".j2c"

    @property
    def folder(self) -> Path | None:
        """The folder of the compiled templates' files (None: none written)."""
        if callable(self._folder):
            self._folder = self._folder()
        return self._folder

    def _file(self, bucket: Bucket) -> Path | None:
        folder = self.folder
        return None if folder is None else folder / (bucket.key + self._suffix)

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._codes.get((bucket.key, bucket.checksum))
        if code is not None:
            bucket.code = code
            return
        path = self._file(bucket)
        if path is None:
            return
        try:
            with open(path, "rb") as f:
                bucket.load_bytecode(f)  # jinja2 leaves it empty if the source's checksum differs
        except Exception:  # missing, unreadable or damaged: compiled again
            bucket.reset()
        if bucket.code is not None:
            self._codes[bucket.key, bucket.checksum] = bucket.code

    def dump_bytecode(self, bucket: Bucket) -> None:
        assert bucket.code is not None
        self._codes[bucket.key, bucket.checksum] = bucket.code
        path = self._file(bucket)
        if path is None:
            return
        try:  # written whole beside its place, then renamed: another process never reads half a file
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as f:
                bucket.write_bytecode(f)
            os.replace(tmp, path)
        except OSError:
            try:
                os.remove(tmp)
            except OSError:
                pass

    def clear(self) -> None:
        """Forget the compiled templates held in memory (the files stay, as Python's do)."""
        self._codes.clear()
