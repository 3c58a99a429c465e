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
