"""The HTML page (report/html.py) is self-contained, escapes data, lists its sections and flags missing figures."""

from __future__ import annotations

import base64
import re

import pandas as pd

from workflow_scripts.figures.style import close, figure
from workflow_scripts.report.html import _format_number, build_report, verdict_badge

PLOTS = {"dpi": 40, "font_size": 10, "width_in": 3.0, "height_in": 2.0}


def _png(path):
    fig, ax = figure(PLOTS)
    ax.plot([0, 1], [0, 1])
    fig.savefig(path)
    close(fig)
    return path


def _build(tmp_path):
    png = _png(tmp_path / "fig3.png")
    table = pd.DataFrame({"model": ["Default", "<script>alert(1)</script>"], "seeds": [2, 1],
                          "mse_eV2": [0.0643, 0.09251234], "molecules": [130831, 42]})
    sections = [
        {"title": "Baseline: error per size", "text": "<p>Rare sizes are worse. " + verdict_badge("supported") + "</p>",
         "figures": [(png, "Figure 3: MAE per size & count"), (tmp_path / "absent.png", "Figure 4: per element")],
         "tables": [("Table 2: final comparison", table)]},
        {"title": "Learning curves", "text": "Plain text paragraph.", "figures": [], "tables": []},
    ]
    meta = {"scale": "tiny", "date": "2024-01-01", "config": {"epochs": 22, "batch": 512}, "run time": "0:12:00"}
    out = tmp_path / "report" / "report.html"
    build_report(out, "QM9 size study <draft>", sections, meta)
    return out.read_text(encoding="ascii"), png


def test_report_embeds_figures_and_captions(tmp_path):
    text, png = _build(tmp_path)
    assert "data:image/png;base64," + base64.b64encode(png.read_bytes()).decode() in text
    assert "Figure 3: MAE per size &amp; count" in text
    assert "missing: " + str(tmp_path / "absent.png") in text
    assert "Figure 4: per element" in text


def test_report_escapes_table_cells_and_title(tmp_path):
    text, _ = _build(tmp_path)
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "QM9 size study &lt;draft&gt;" in text
    assert "Table 2: final comparison" in text
    assert "130,831" in text and "0.0925" in text and "0.09251234" not in text


def test_report_toc_meta_and_self_contained(tmp_path):
    text, _ = _build(tmp_path)
    anchors = re.findall(r'<a href="#([^"]+)">', text)
    assert len(anchors) == 2
    for anchor in anchors:
        assert f'<section id="{anchor}">' in text
    assert "tiny" in text and "epochs: 22; batch: 512" in text
    assert "<p>Plain text paragraph.</p>" in text
    # nothing fetched from elsewhere: no external scripts, stylesheets or images
    assert "<script" not in text and "<link" not in text and 'src="http' not in text


def test_verdict_badge():
    assert "#1b7f3b" in verdict_badge("supported")
    assert "#b42318" in verdict_badge("Contradicted") and "#b42318" in verdict_badge("contradicted")
    assert "#b26b00" in verdict_badge("inconclusive")
    assert "&lt;b&gt;" in verdict_badge("<b>")  # unknown verdicts are grey and escaped


def test_format_number():
    assert _format_number(130831) == "130,831"
    assert _format_number(0.0643) == "0.0643"
    assert _format_number(1234.5678) == "1,235"
    assert _format_number(1.2e-5) == "1.200e-05"
    assert _format_number(float("nan")) == "–"
