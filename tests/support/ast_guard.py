"""`ast.parse` with garbage collection held off while it runs, on CPython 3.11 before 3.11.8.

Those releases keep the AST constructor's recursion depth in state the whole interpreter shares
(CPython gh-106905, fixed in 3.11.8 by a counter per call). The constructor runs no Python code
of its own, so the thread inside it keeps the GIL, except when one of its allocations starts a
garbage collection: finalizers, weakref callbacks and gc callbacks run then, Python code that may
hand the GIL to another thread or itself call `ast.parse` (pytest's unraisable-exception hook
formats a traceback at once, and on 3.11 a traceback's caret lines come from `ast.parse`). A
second parse resets the shared depth and the first one raises `SystemError: AST constructor
recursion depth mismatch` for a tree it built correctly. In a test session the parses are
pytest's assertion rewriting, hypothesis's scan of the modules under test, the layout tests and
every traceback formatted, by any thread.

With collection held off, no Python code runs inside the constructor, so no other parse can
start in the middle of one. Nothing is caught or retried: whatever `ast.parse` raises (a syntax
error, a real recursion error) is raised unchanged; the collection that was held off simply runs
at the next allocation after the parse. tests/conftest.py installs it on the affected releases.
"""

from __future__ import annotations

import ast
import gc
import sys
import threading
from collections.abc import Callable
from typing import Any

FIXED_IN = (3, 11, 8)
ORIGINAL_PARSE = ast.parse


class _Hold:
    """How many parses run now, and whether collection is to be enabled after the last one."""

    def __init__(self) -> None:
        self.lock = threading.RLock()  # re-entrant: a parse in a finalizer of this very thread
        self.parsing = 0
        self.enable_after = False

    def enter(self) -> None:
        with self.lock:
            if self.parsing == 0:
                self.enable_after = gc.isenabled()
                gc.disable()
            self.parsing += 1

    def leave(self) -> None:
        with self.lock:
            self.parsing -= 1
            if self.parsing == 0 and self.enable_after:
                gc.enable()


_HOLD = _Hold()


def affected(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> bool:
    return version[:2] == (3, 11) and version < FIXED_IN


def held(parse: Callable[..., Any]) -> Callable[..., Any]:
    def parse_with_collection_held(*args: Any, **kwargs: Any) -> Any:
        _HOLD.enter()
        try:
            return parse(*args, **kwargs)
        finally:
            _HOLD.leave()

    parse_with_collection_held.collection_held = True  # type: ignore[attr-defined]
    return parse_with_collection_held


def install() -> bool:
    """Wraps `ast.parse` (once) where the race exists; says whether it is wrapped."""
    if not affected():
        return False
    if not getattr(ast.parse, "collection_held", False):
        ast.parse = held(ast.parse)
    return True
