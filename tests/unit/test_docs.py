"""The README's reliability table names tests that exist."""

import re

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
