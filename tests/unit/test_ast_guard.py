"""tests/support/ast_guard.py: on CPython 3.11 before 3.11.8 a parse that starts while another
is building its tree (from a garbage collection inside it) breaks the first one; the guard keeps
collections out of parses and changes nothing else."""

from __future__ import annotations

import ast
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import ast_guard

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def parse_in_every_collection() -> Iterator[None]:
    """What a finalizer that formats a traceback costs, run at every collection's start."""

    def parse(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            ast_guard.ORIGINAL_PARSE("x = [a for a in b if f(a)]")

    gc.callbacks.append(parse)
    yield
    gc.callbacks.remove(parse)


@pytest.mark.skipif(not ast_guard.affected(), reason="CPython fixed the race in 3.11.8")
@pytest.mark.usefixtures("parse_in_every_collection")
def test_a_parse_inside_a_collection_breaks_an_unguarded_parse_and_not_a_guarded_one() -> None:
    source = (ROOT / "launcher" / "mesh.py").read_text()
    with pytest.raises(SystemError, match="AST constructor recursion depth mismatch"):
        for _ in range(20):
            ast_guard.ORIGINAL_PARSE(source)
    guarded = ast_guard.held(ast_guard.ORIGINAL_PARSE)
    trees = [guarded(source) for _ in range(20)]
    assert all(ast.dump(tree) == ast.dump(trees[0]) for tree in trees)


def test_collection_is_held_during_the_parse_and_restored_after() -> None:
    seen: list[bool] = []

    def parse(source: str) -> str:
        seen.append(gc.isenabled())
        return source

    assert gc.isenabled()
    assert ast_guard.held(parse)("x") == "x"
    assert seen == [False]
    assert gc.isenabled()
    gc.disable()
    try:
        ast_guard.held(parse)("x")
        assert not gc.isenabled()  # held off by someone else before: left so
    finally:
        gc.enable()


def test_what_the_parse_raises_is_raised_unchanged() -> None:
    with pytest.raises(SyntaxError):
        ast_guard.held(ast_guard.ORIGINAL_PARSE)("def (:")
    assert gc.isenabled()


def test_only_the_releases_with_the_race_are_guarded() -> None:
    assert ast_guard.affected((3, 11, 7))
    assert ast_guard.affected((3, 11, 0))
    assert not ast_guard.affected((3, 11, 8))
    assert not ast_guard.affected((3, 12, 1))
    assert not ast_guard.affected((3, 10, 13))
