"""The house rules CI enforces: the layer contracts (import-linter), ruff and mypy, each on the whole package.

They run as tests because CI runs the test suite and nothing else; each is the tool's own verdict, so a
failure here reads exactly as it does at the terminal.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)


def test_the_layers_hold() -> None:
    result = run(str(BIN / "lint-imports"))
    assert result.returncode == 0, result.stdout[-4000:]
    assert "BROKEN" not in result.stdout and result.stdout.count("KEPT") == 3


def test_ruff_finds_nothing() -> None:
    result = run(str(BIN / "ruff"), "check", "gateway", "tests", "bench", "tools")
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.mark.timeout(600)
def test_mypy_finds_nothing() -> None:
    result = run(str(BIN / "mypy"), "gateway")
    assert result.returncode == 0, result.stdout[-4000:]


def test_no_module_imports_itself_through_others() -> None:
    import grimp  # import-linter's graph builder

    graph = grimp.build_graph("gateway")
    cycles = {
        tuple(sorted((module, imported)))
        for module in graph.modules
        for imported in graph.find_modules_directly_imported_by(module)
        if graph.chain_exists(importer=imported, imported=module)
    }
    assert not cycles, sorted(cycles)
