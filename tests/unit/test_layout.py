"""Test modules share things only through tests.fakes (plain helpers and doubles) and fixtures
of conftest.py files, never by importing another test module or a conftest module."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.fakes.paths import ROOT


def _forbidden(name: str) -> bool:
    """A dotted module name with a test module (test_*) or a conftest in it."""
    return any(part.startswith("test_") or part == "conftest" for part in name.split("."))


def forbidden_imports(source: str) -> Iterator[tuple[int, str]]:
    """(line, imported name) of every import of a test module or a conftest in `source`."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            # `from tests.unit import test_hub` and `from . import conftest` name the module.
            names = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if _forbidden(name):
                yield node.lineno, name
                break


def layout_violations(tests_dir: Path) -> list[str]:
    """`path:line imports name` for every module under `tests_dir` that breaks the rule."""
    return [
        f"{path.relative_to(tests_dir.parent)}:{line} imports {name}"
        for path in sorted(tests_dir.rglob("*.py"))
        for line, name in forbidden_imports(path.read_text(encoding="utf-8"))
    ]


def test_the_check_finds_every_form_of_such_import() -> None:
    caught = """
from tests.unit.test_hub import fake_rasa
from tests.integration.conftest import Stack
from tests.conftest import ROOT
from tests.unit import test_hub
from .test_hub import login
from . import conftest
from conftest import ROOT
import tests.unit.test_hub
import test_hub as hub
"""
    allowed = """
from tests.fakes import HashingEncoder
from tests.fakes.stack import Stack
from fastapi.testclient import TestClient
from typer.testing import CliRunner
import pytest
"""
    assert [line for line, _ in forbidden_imports(caught)] == list(range(2, 11))
    assert list(forbidden_imports(allowed)) == []


def test_no_test_module_imports_a_test_module_or_a_conftest() -> None:
    tests_dir = ROOT / "tests"
    assert len(list(tests_dir.rglob("test_*.py"))) > 20  # the walk does see the tests
    assert layout_violations(tests_dir) == []
