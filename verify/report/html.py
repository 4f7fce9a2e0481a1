"""Self-contained HTML pages: one report per article, and the index of a batch run.

Templates are Jinja2 with autoescaping on: every string from the article, the sources and the model
is escaped. Style and script are inline and pinned by their hashes in a Content-Security-Policy, so
even text that slipped through as markup could run no script and load nothing.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, Field

from ..models import Report
from .view import STATUS_HELP, STATUS_TEXT, STATUSES, build_view, safe_url


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("verify.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


@cache
def asset(name: str) -> str:
    """An inline asset (CSS or JS) shipped beside the templates."""
    return resources.files("verify.report").joinpath("templates", name).read_text(encoding="utf-8")


def csp_hash(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render_page(template: str, script: str | None, **context: Any) -> str:
    """A page of the report's look: the shared stylesheet, one inline script, the CSP naming both."""
    css, js = asset("page.css"), asset(script) if script else ""
    return (
        _environment()
        .get_template(template)
        .render(css=css, js=js, style_hash=csp_hash(css), script_hash=csp_hash(js), **context)
    )


def render_html(report: Report, meta: dict[str, Any] | None = None, *, run_date: bool = True) -> str:
    """The report page of one article. ``meta``: the input's title, outlet, date and url, if known;
    ``run_date`` False leaves the run's timestamp out (a batch's pages are the same bytes on a rerun)."""
    return render_page(
        "report.html",
        "report.js",
        v=build_view(report, meta, run_date=run_date),
        statuses=STATUSES,
        status_text=STATUS_TEXT,
        status_help=STATUS_HELP,
    )


class IndexRow(BaseModel):
    """One input of a batch run, as the index page lists it."""

    order: int
    name: str
    status: str
    complete: bool = False
    claims: int = 0
    checkable: int = 0
    verdicts: dict[str, int] = Field(default_factory=dict)
    failures: int = 0
    report_html: str | None = None
    error: str | None = None
    title: str | None = None
    outlet: str | None = None
    date: str | None = None
    url: str | None = None

    @property
    def not_checkable(self) -> int:
        return self.claims - self.checkable


def index_row(order: int, row: dict[str, Any]) -> IndexRow:
    """An index page row from a line of ``index.jsonl``."""
    meta = row.get("input") or {}
    report = row.get("report")
    error = row.get("error")
    return IndexRow(
        order=order,
        name=row["name"],
        status=row["status"],
        complete=bool(row.get("complete")),
        claims=row.get("claims", 0),
        checkable=row.get("checkable", 0),
        verdicts=row.get("verdicts") or {},
        failures=row.get("failures", 0),
        report_html=html_name(report) if report else None,
        error=f"{error['stage']}: {error['error_type']}: {error['message']}" if error else None,
        title=meta.get("title"),
        outlet=meta.get("outlet"),
        date=meta.get("date"),
        url=safe_url(meta.get("url")),
    )


def render_index_html(rows: list[IndexRow], *, model: str, totals: dict[str, int]) -> str:
    """The index page of a batch run: every article with its counts and failures, sortable."""
    return render_page("index.html", "index.js", rows=rows, model=model, totals=totals)


def html_name(json_name: str) -> str:
    """``reports/x.report.json`` -> ``reports/x.report.html`` (the page beside the JSON)."""
    stem = json_name[: -len(".json")] if json_name.endswith(".json") else json_name
    return stem + ".html"
