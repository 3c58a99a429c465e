"""The page in a real browser (headless Chromium): tables fit their box at 1300 and 800 px, and the verdict cards
are on the first screen (1300 x 900). Needs Debian's chromium (.ci/run installs it) and Playwright."""

from __future__ import annotations

import shutil

import pytest

from tests.unit.test_report_sections import EXPERIMENTS, RULE, THESIS_SETTINGS, _inputs, _png
from workflow_scripts.figures import catalogue
from workflow_scripts.report.sections import build

CHROMIUM = shutil.which("chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (requirements.txt)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH: apt-get install -y chromium "
                                                         "(.ci/run does it as root)")

MEASURE = """() => ({
  tables: [...document.querySelectorAll('table')].map(t => ({
      caption: (t.closest('figure')?.querySelector('figcaption')?.textContent || t.className).slice(0, 60),
      width: t.getBoundingClientRect().width, box: t.parentElement.getBoundingClientRect().width})),
  cards: [...document.querySelectorAll('.card')].map(c => c.getBoundingClientRect().bottom + window.scrollY),
  narrow_notes: [...document.querySelectorAll('.narrow-note')].filter(n => getComputedStyle(n).display !== 'none')
      .length,
  page: document.documentElement.scrollWidth})"""


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    """The page of the synthetic study (the sections test's inputs), with its figures."""
    folder = tmp_path_factory.mktemp("browser")
    tables = _inputs(folder / "tables")
    figures = [(_png(folder / f"{i}.png"), f"Figure {i}.", section)
               for i, section in enumerate((catalogue.DATA, catalogue.BASELINE, catalogue.BALANCING))]
    out = folder / "report.html"
    build(out, figures, tables, "tiny", {"pool_size": 400, "test_size": 160}, EXPERIMENTS,
          [("baseline", "Default")], "equal_steps", 2, RULE, THESIS_SETTINGS)
    return out


def _measure(page_file, width: int) -> dict:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(page_file.as_uri())
            return page.evaluate(MEASURE)
        finally:
            browser.close()


@pytest.mark.parametrize("width", [1300, 800])
def test_no_table_is_wider_than_its_box(page_file, width):
    measured = _measure(page_file, width)
    assert len(measured["tables"]) >= 10
    wide = [t for t in measured["tables"] if t["width"] > t["box"] + 0.5]
    assert not wide, f"tables wider than their box at {width} px: {wide}"
    assert measured["page"] <= width  # nothing scrolls sideways
    # a table that drops columns says so, on a narrow screen only (Table 2 and the training runs table drop some)
    assert (measured["narrow_notes"] >= 2) if width < 900 else (measured["narrow_notes"] == 0)


def test_verdict_cards_are_on_the_first_screen(page_file):
    measured = _measure(page_file, 1300)
    assert len(measured["cards"]) == 4
    assert max(measured["cards"]) <= 900, f"card bottoms at {measured['cards']} px"
