"""docs/conformance.md is a promise to clients: its resources table must list exactly the routes the gateway serves.

The routes table (`gateway.core.transactions.TRANSACTIONS`) is the source of truth. A route added, moved or dropped
without its row (or a row left behind) fails here, and so does a transaction or a shipped role the statement never
names. Pure file reading: no server starts.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from gateway.core.transactions import TRANSACTIONS

REPO = Path(__file__).resolve().parents[1]
STATEMENT = REPO / "docs" / "conformance.md"
ROLES_DIR = REPO / "conf" / "roles"
SECTION = "## Resources"

Route = tuple[str, str]


def template(path: str) -> str:
    """A route as the statement writes it: `{tagpath:[0-9A-Fa-f./]+}` becomes `{tagpath}` (braces may nest)."""
    out: list[str] = []
    depth = 0
    skipping = False
    for char in path:
        if char == "{":
            depth += 1
            if depth == 1:
                out.append(char)
                continue
        elif char == "}":
            depth -= 1
            if depth == 0:
                skipping = False
                out.append(char)
                continue
        elif char == ":" and depth == 1:
            skipping = True
        if not skipping:
            out.append(char)
    return "".join(out)


def _cells(line: str) -> list[str]:
    return [cell.strip().strip("`").strip() for cell in line.strip().strip("|").split("|")]


def documented_rows(text: str) -> list[Route]:
    """(method, path) of every row of the one table under `## Resources`, in order."""
    lines = text.splitlines()
    assert SECTION in lines, f"{STATEMENT.name} has no {SECTION!r} section"
    section: list[str] = []
    for line in lines[lines.index(SECTION) + 1 :]:
        if line.startswith("## "):
            break
        section.append(line)
    tables: list[list[str]] = []
    previous_was_row = False
    for line in section:
        is_row = line.lstrip().startswith("|")
        if is_row and not previous_was_row:
            tables.append([])
        if is_row:
            tables[-1].append(line)
        previous_was_row = is_row
    assert len(tables) == 1, f"{SECTION} must hold exactly one table, found {len(tables)}"
    header, separator, *body = tables[0]
    assert _cells(header)[:2] == ["Method", "Path"], f"the table's first columns must be Method and Path: {header}"
    assert set("".join(_cells(separator))) <= set("-: "), f"the second line must be the separator: {separator}"
    width = len(_cells(header))
    rows = []
    for line in body:
        cells = _cells(line)
        assert len(cells) == width, f"a row has {len(cells)} cells, the header {width}: {line}"
        rows.append((cells[0].upper(), cells[1]))
    return rows


def served_routes() -> set[Route]:
    return {(t.method, template(t.path)) for t in TRANSACTIONS}


def test_template_strips_route_regexes_only() -> None:
    assert template("/studies/{study}/series") == "/studies/{study}/series"
    assert template("/i/{instance}/bulk/{tagpath:[0-9A-Fa-f./]+}") == "/i/{instance}/bulk/{tagpath}"
    assert template("/f/{frames:[0-9]{1,4}(?:,[0-9]{1,4})*}/x") == "/f/{frames}/x"


def test_the_resources_table_lists_exactly_the_routes_served() -> None:
    rows = documented_rows(STATEMENT.read_text(encoding="utf-8"))
    repeated = sorted(route for route, count in Counter(rows).items() if count > 1)
    assert not repeated, f"rows listed more than once in {STATEMENT.name}: {repeated}"
    documented, served = set(rows), served_routes()
    missing = sorted(served - documented)
    extra = sorted(documented - served)
    assert not missing and not extra, (
        f"{STATEMENT.name} {SECTION} and TRANSACTIONS disagree.\n"
        f"  served but not documented (add a row): {missing}\n"
        f"  documented but not served (drop the row or add the route): {extra}"
    )


def test_every_transaction_is_named() -> None:
    text = STATEMENT.read_text(encoding="utf-8")
    unnamed = sorted({t.name for t in TRANSACTIONS if not re.search(rf"\b{re.escape(t.name)}\b", text)})
    assert not unnamed, f"{STATEMENT.name} never names these transactions: {unnamed}"


def test_every_shipped_role_is_named() -> None:
    text = STATEMENT.read_text(encoding="utf-8")
    roles = sorted(path.stem for path in ROLES_DIR.glob("*.yaml"))
    assert roles, f"no role profiles found in {ROLES_DIR}"
    unnamed = [role for role in roles if f"`{role}`" not in text]
    assert not unnamed, f"{STATEMENT.name} never names these roles (written as `role`): {unnamed}"
