"""The documents: the reliability table names tests that exist, links lead somewhere, tables parse."""

import re
from pathlib import Path

from tests.conftest import REPO


def test_reliability_table_names_existing_tests():
    section = (REPO / "docs/reliability.md").read_text()
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


def test_readme_starts_with_the_two_commands_and_leaves_measurements_to_docs():
    readme = (REPO / "README.md").read_text()
    first_block = readme.split("```")[1]
    assert "make study" in first_block and "make test" in first_block
    assert "| case | what you see | test |" not in readme, "the reliability table lives in docs/reliability.md"


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


LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(text: str) -> set[str]:
    """GitHub's anchors of a document's headings: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def broken_links(document: Path) -> list[str]:
    """Relative links (and #anchors) of a markdown document that lead nowhere."""
    broken = []
    for target in LINK.findall(document.read_text()):
        if re.match(r"[a-z]+:", target):
            continue  # a web address: not checked offline
        path, _, anchor = target.partition("#")
        file = (document.parent / path) if path else document
        if not file.exists() or (anchor and anchor not in anchors(file.read_text())):
            broken.append(f"{document.relative_to(REPO)}: ({target})")
    return broken


def test_every_relative_link_leads_to_a_file_and_heading():
    broken = [link for d in MARKDOWN for link in broken_links(d)]
    assert not broken, broken


def test_a_link_to_a_missing_file_or_heading_is_caught(tmp_path, monkeypatch):
    monkeypatch.setattr(f"{__name__}.REPO", tmp_path)
    (tmp_path / "other.md").write_text("# Using the models\n")
    doc = tmp_path / "doc.md"
    doc.write_text("[a](other.md#using-the-models) [b](https://x.org/y) [c](missing.md) [d](other.md#nothing)\n")
    assert broken_links(doc) == ["doc.md: (missing.md)", "doc.md: (other.md#nothing)"]
