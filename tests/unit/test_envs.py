"""envs/qm9.yaml (for --sdm conda) pins the same versions as the pip install (requirements.txt, Makefile)."""

import re

import yaml

from tests.conftest import REPO


def pins(lines) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==")
            found[name.strip().lower().replace("_", "-")] = version.strip()
    return found


def test_conda_environment_pins_the_pip_install():
    env = yaml.safe_load((REPO / "envs/qm9.yaml").read_text())
    [pip] = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    conda_pins = pins(pip)
    pip_pins = pins((REPO / "requirements.txt").read_text().splitlines())
    # schnetpack is installed by the Makefile (--no-deps), at the version the env pins
    [makefile_schnetpack] = re.findall(r"schnetpack==([\d.]+)", (REPO / "Makefile").read_text())
    pip_pins["schnetpack"] = makefile_schnetpack
    differing = {n: (v, conda_pins.get(n)) for n, v in pip_pins.items() if conda_pins.get(n) != v}
    assert not differing, f"requirements.txt / Makefile vs envs/qm9.yaml: {differing}"
    assert not set(conda_pins) - set(pip_pins), "envs/qm9.yaml pins packages the pip install lacks"


def test_every_rule_with_a_script_declares_the_environment():
    for smk in sorted((REPO / "rules").glob("*.smk")):
        for rule in re.split(r"\n(?=rule )", smk.read_text())[1:]:
            if "script:" in rule:
                assert 'conda:\n        "../envs/qm9.yaml"' in rule, f"{smk.name}: {rule.splitlines()[0]}"
