"""The README's reliability table names tests that exist."""

import re
from pathlib import Path

from tests.conftest import REPO


def test_reliability_table_names_existing_tests():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Reliability"):readme.index("## Layout")]
    named = re.findall(r"`(test_[a-z0-9_]+\.py)::(test_\w+)`|`::(test_\w+)`", section)
    assert len(named) >= 30
    missing, current = [], None
    for module, test, same_module_test in named:
        current = module or current
        name = test or same_module_test
        [path] = (REPO / "tests").glob(f"*/{current}")  # tests/unit or tests/workflow
        if not re.search(rf"^def {name}\(", path.read_text(), re.MULTILINE):
            missing.append(f"{current}::{name}")
    assert not missing, f"README names tests that do not exist: {missing}"


def test_architecture_table_names_every_package_and_test_file():
    """docs/architecture.md stays the map: each package and each test file it names exists, and none is left out."""
    text = (REPO / "docs/architecture.md").read_text()
    named = set(re.findall(r"`((?:unit|workflow)/test_[\w*]+\.py)`", text))
    files = {p.relative_to(REPO / "tests").as_posix() for p in (REPO / "tests").glob("*/test_*.py")}
    covered = {f for pattern in named for f in files if Path(f).match(pattern)}
    assert not [n for n in named if not any(Path(f).match(n) for f in files)], "names a test file that does not exist"
    assert files == covered, f"test files missing from docs/architecture.md: {sorted(files - covered)}"
    packages = {p.parent.name for p in (REPO / "workflow_scripts").glob("*/__init__.py")} - {"scripts"}
    assert packages and all(f"`{package}/" in text for package in packages), packages


MARKDOWN = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SEPARATOR = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")


def table_blocks(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of each run of table lines outside code fences."""
    blocks, current, fenced = [], None, False
    for number, line in enumerate(text.splitlines(), 1):
        fenced ^= line.lstrip().startswith("```")
        if not fenced and line.startswith("|"):
            current = current or (number, [])
            current[1].append(line.rstrip())
        elif current:
            blocks.append(current)
            current = None
    return blocks + ([current] if current else [])


def cells(row: str) -> int:
    """Cells of a table row as GitHub counts them: every pipe not escaped with a backslash divides."""
    return len(re.split(r"(?<!\\)\|", row.strip().strip("|")))


def table_problems(text: str) -> list[str]:
    """Tables that do not parse: rows without a header and separator before them (a blank line inside a table
    leaves its rest as text), and rows whose number of cells differs from the header's."""
    problems = []
    for start, rows in table_blocks(text):
        if len(rows) < 2 or not SEPARATOR.match(rows[1]):
            problems.append(f"line {start}: table rows without a header and separator (a blank line inside a table?)")
            continue
        width = cells(rows[0])
        problems += [f"line {start + i}: {cells(row)} cells, the header has {width}"
                     for i, row in enumerate(rows) if cells(row) != width]
    return problems


def test_every_markdown_table_parses():
    broken = [f"{d.relative_to(REPO)} {problem}" for d in MARKDOWN for problem in table_problems(d.read_text())]
    assert not broken, "\n".join(broken)


def test_a_blank_line_or_a_missing_cell_breaks_a_table():
    table = "| key | meaning |\n|---|---|\n| `a` | one |\n"
    assert table_problems(table) == []
    assert table_problems(table + "\n| `predict.*` | two |\n") == [
        "line 5: table rows without a header and separator (a blank line inside a table?)"]
    assert table_problems(table + "| `b` | two | three |\n") == ["line 4: 3 cells, the header has 2"]
    assert table_problems("```\n| not | a table |\n```\n") == []
