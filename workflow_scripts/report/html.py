"""One self-contained HTML report: figures embedded as data URIs, inline CSS, no scripts, no network.

Python prepares the data (formatted cells, data URIs); the Jinja2 templates in templates/ lay it out. Section
text is trusted HTML written by the workflow; everything that comes from data (captions, table cells, meta
values, paths) is escaped by the templates' autoescape.
"""

from __future__ import annotations

import base64
import html
import math
import mimetypes
import re
from numbers import Number
from pathlib import Path

import jinja2
import pandas as pd
from markupsafe import Markup

from workflow_scripts.files.atomic import write_text

_VERDICT_COLORS = {"supported": "#1b7f3b", "contradicted": "#b42318", "inconclusive": "#b26b00"}

TEMPLATES = Path(__file__).parent / "templates"
# autoescape: everything from data is escaped; trusted HTML (section text, badges) is marked as such in Python
_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                          lstrip_blocks=True, undefined=jinja2.StrictUndefined)
ZWSP = "\u200b"  # lets a long column name wrap after its underscores


def verdict_badge(verdict: str) -> str:
    """A coloured label for a hypothesis verdict: supported (green), contradicted (red), inconclusive (amber)."""
    key = re.sub(r"[\s_-]+", " ", str(verdict)).strip().lower()
    color = _VERDICT_COLORS.get(key, "#6e7781")  # grey for anything unexpected, shown as written
    # inline style, so the badge keeps its colour wherever the HTML is pasted
    return Markup(f'<span class="badge" style="background:{color};color:#fff;padding:.05rem .55rem;'
            f'border-radius:1rem;font-weight:600">{html.escape(str(verdict))}</span>')


_ENV.globals["badge"] = verdict_badge  # the macros' badges, as the sections' text writes them


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


def table_data(caption: str, frame: pd.DataFrame, source=None, minor=(), text_columns=()) -> dict:
    """A table for the template: formatted cells, column labels that can wrap, and the columns a narrow screen
    drops (``minor``; ``source`` names the file that holds them all)."""
    frame = frame.copy()
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    text_columns = set(text_columns)
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
            frame[column] = frame[column].map(_format_number)  # own formatting: ints keep no '.0'
        else:
            text_columns.add(column)  # words and lists wrap; numbers stay whole
    # identifiers (balanced_control-T2000_random) may wrap after their underscores, not inside a word
    rows = [["–" if _is_missing(v) else str(v).replace("_", "_" + ZWSP) for v in row]
            for row in frame.itertuples(index=False)]
    columns = [{"label": str(c).replace("_", "_" + ZWSP),
                "classes": " ".join(k for k, on in (("minor", c in minor), ("text", c in text_columns)) if on)}
               for c in frame.columns]
    return {"caption": caption, "columns": columns, "rows": rows, "source": str(source) if source else "",
            "has_minor": any(c in minor for c in frame.columns)}


def _is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def figure_data(path, caption: str) -> dict:
    """A figure for the template: its PNG as a data URI, or the path it was missing at."""
    path = Path(path)
    if not path.is_file():
        return {"data_uri": "", "path": str(path), "caption": caption}
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return {"data_uri": f"data:{mime};base64,{data}", "path": str(path), "caption": caption}


def _meta_rows(meta: dict) -> list[tuple[str, str]]:
    return [(str(key), "; ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else str(value))
            for key, value in meta.items()]


def _section_data(index: int, section: dict) -> dict:
    """A section for the template: its text as trusted HTML, its figures and tables prepared."""
    title = section.get("title", "")
    text = section.get("text", "")
    if text and not text.lstrip().startswith("<"):
        text = f"<p>{text}</p>"
    tables = [table if isinstance(table, dict) else table_data(*table) for table in section.get("tables", [])]
    return {"title": title, "anchor": section.get("anchor") or _anchor(index, title), "text": Markup(text),
            "figures": [figure_data(path, caption) for path, caption in section.get("figures", [])],
            "tables": tables}


def render_report(title: str, sections: list[dict], meta: dict, front: dict | None = None) -> str:
    """The report as an HTML string (see build_report)."""
    document = _ENV.get_template("report.html.j2").render(
        title=title, sections=[_section_data(i, s) for i, s in enumerate(sections, start=1)],
        meta=_meta_rows(meta), front=front)
    # character references for non-ASCII: the file reads correctly whatever encoding a viewer assumes
    return document.encode("ascii", "xmlcharrefreplace").decode("ascii")


def build_report(path, title: str, sections: list[dict], meta: dict, front: dict | None = None) -> None:
    """Write one self-contained HTML report from templates/report.html.j2.

    Each section: {"title": str, "text": trusted HTML or plain text, "figures": [(png_path, caption)],
    "tables": [(caption, DataFrame) or a table_data dict], optional "anchor"}; ``meta`` is shown as a key/value
    table at the top. ``front``: the first screen (summary sentence, verdict cards, settings; see
    report/sections.py), or None. A figure file that does not exist shows a visible "missing: <path>" note.
    """
    write_text(path, render_report(title, sections, meta, front))
