"""One self-contained HTML report: figures embedded as data URIs, inline CSS, no scripts, no network.

Section text is trusted HTML written by the workflow; everything that comes from data (captions, table
cells, meta values, paths) is escaped.
"""

from __future__ import annotations

import base64
import html
import math
import mimetypes
import re
from numbers import Number
from pathlib import Path

import pandas as pd

from workflow_scripts.files.atomic import write_text

_VERDICT_COLORS = {"supported": "#1b7f3b", "contradicted": "#b42318", "inconclusive": "#b26b00"}

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1f2328; line-height: 1.5; }
h1 { border-bottom: 2px solid #d0d7de; padding-bottom: .3rem; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: .2rem; margin-top: 2.5rem; }
table.meta td, table.meta th { text-align: left; padding: .15rem .8rem .15rem 0; vertical-align: top; }
table.meta th { color: #57606a; font-weight: 600; white-space: nowrap; }
nav.toc { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .5rem 1.2rem; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { font-size: .92rem; color: #424a53; margin-top: .3rem; }
.table-wrap { overflow-x: auto; }
table.data { border-collapse: collapse; font-size: .88rem; margin: .3rem 0 1rem; }
table.data th, table.data td { border: 1px solid #d0d7de; padding: .25rem .55rem; text-align: right; }
table.data th { background: #f6f8fa; }
table.data td:first-child, table.data th:first-child { text-align: left; }
table.data tbody tr:nth-child(even) { background: #fbfcfd; }
.missing { color: #b42318; background: #fff1f0; border: 1px dashed #b42318; padding: .5rem .8rem; margin: 1rem 0;
           font-family: monospace; }
.badge { display: inline-block; padding: .05rem .55rem; border-radius: 1rem; color: #fff; font-size: .85rem;
         font-weight: 600; }
"""


def verdict_badge(verdict: str) -> str:
    """A coloured label for a hypothesis verdict: supported (green), contradicted (red), inconclusive (amber)."""
    key = re.sub(r"[\s_-]+", " ", str(verdict)).strip().lower()
    color = _VERDICT_COLORS.get(key, "#6e7781")  # grey for anything unexpected, shown as written
    # inline style, so the badge keeps its colour wherever the HTML is pasted
    return (f'<span class="badge" style="background:{color};color:#fff;padding:.05rem .55rem;'
            f'border-radius:1rem;font-weight:600">{html.escape(str(verdict))}</span>')


def _anchor(index: int, title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]
    return f"s{index}-{slug}" if slug else f"s{index}"


def _format_number(value) -> str:
    """Up to 4 significant digits, thousands separators, no float noise ('0.0643', '1,234', '1.2e-05')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool) or not isinstance(value, Number):
        return str(value)
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-3 or magnitude >= 1e6):
        return f"{value:.3e}"
    return f"{value:,.4g}" if magnitude >= 1 else f"{value:.4g}"


def _table_html(caption: str, frame: pd.DataFrame) -> str:
    frame = frame.copy()
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
            frame[column] = frame[column].map(_format_number)  # own formatting: ints keep no '.0'
    show_index = not isinstance(frame.index, pd.RangeIndex)
    table = frame.to_html(index=show_index, escape=True, na_rep="–", classes="data", border=0)
    return (f'<figure class="table"><figcaption>{html.escape(caption)}</figcaption>'
            f'<div class="table-wrap">{table}</div></figure>')


def _figure_html(path, caption: str) -> str:
    path = Path(path)
    if not path.is_file():
        return f'<div class="missing">missing: {html.escape(str(path))}</div><p>{html.escape(caption)}</p>'
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:{mime};base64,{data}" alt="{html.escape(caption, quote=True)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _meta_html(meta: dict) -> str:
    rows = []
    for key, value in meta.items():
        if isinstance(value, dict):
            value = "; ".join(f"{k}: {v}" for k, v in value.items())
        rows.append(f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(str(value))}</td></tr>")
    return f'<table class="meta">{"".join(rows)}</table>' if rows else ""


def render_report(title: str, sections: list[dict], meta: dict) -> str:
    """The report as an HTML string (see build_report)."""
    anchors = [_anchor(i, section.get("title", "")) for i, section in enumerate(sections, start=1)]
    toc = "".join(f'<li><a href="#{a}">{html.escape(s.get("title", ""))}</a></li>' for a, s in zip(anchors, sections))
    body = []
    for anchor, section in zip(anchors, sections):
        parts = [f'<section id="{anchor}"><h2>{html.escape(section.get("title", ""))}</h2>']
        text = section.get("text", "")
        if text:
            parts.append(text if text.lstrip().startswith("<") else f"<p>{text}</p>")
        parts += [_figure_html(path, caption) for path, caption in section.get("figures", [])]
        parts += [_table_html(caption, frame) for caption, frame in section.get("tables", [])]
        parts.append("</section>")
        body.append("\n".join(parts))
    document = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header><h1>{html.escape(title)}</h1>
{_meta_html(meta)}
</header>
<nav class="toc"><strong>Contents</strong><ol>{toc}</ol></nav>
<main>
{chr(10).join(body)}
</main>
</body>
</html>
"""
    # character references for non-ASCII: the file reads correctly whatever encoding a viewer assumes
    return document.encode("ascii", "xmlcharrefreplace").decode("ascii")


def build_report(path, title: str, sections: list[dict], meta: dict) -> None:
    """Write one self-contained HTML report.

    Each section: {"title": str, "text": trusted HTML or plain text, "figures": [(png_path, caption)],
    "tables": [(caption, DataFrame)]}; ``meta`` is shown as a key/value table at the top.
    A figure file that does not exist shows a visible "missing: <path>" note.
    """
    write_text(path, render_report(title, sections, meta))
