"""``verify export``: a report JSON as an HTML page, a Markdown summary or ClaimReview drafts."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..config import VerifyConfig
from ..errors import InputError

FORMATS = ("html", "markdown", "claimreview")
SUFFIX = {"html": ".html", "markdown": ".md", "claimreview": ".claimreview-draft.json"}


def add_export_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    export = sub.add_parser(
        "export",
        help="turn report JSON files into HTML pages, Markdown summaries or ClaimReview drafts",
        description="Read <name>.report.json files (from verify check --out or a batch run) and write "
        "<name>.report.html, <name>.report.md or <name>.report.claimreview-draft.json beside each (or into "
        "--out). ClaimReview needs claimreview_author in verify.toml; it is a draft for human review.",
    )
    export.add_argument("reports", nargs="+", type=Path, help="report JSON files")
    export.add_argument("--format", choices=FORMATS, default="html", help="what to write (default: html)")
    export.add_argument("--out", type=Path, help="directory to write into (default: beside each report)")
    export.add_argument("--stdout", action="store_true", help="print instead of writing files")
    common(export)
    export.set_defaults(handler=cmd_export)


def load_report(path: Path) -> tuple[Any, dict[str, Any]]:
    """A report file and the input metadata a batch stored in it (none for ``verify check``)."""
    from ..models import Report

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        meta = data.pop("input", None) or {}
        return Report.model_validate(data), meta
    except FileNotFoundError as exc:
        raise InputError(f"report not found: {path}") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
        raise InputError(f"not a verify report: {path}: {str(exc).splitlines()[0]}") from exc


def export_text(report: Any, meta: dict[str, Any], fmt: str, config: VerifyConfig) -> str:
    from .claimreview import ReviewAuthor, claim_reviews
    from .html import render_html
    from .markdown import render_markdown

    if fmt == "html":
        return render_html(report, meta)
    if fmt == "markdown":
        return render_markdown(report, meta)
    author = ReviewAuthor.from_config(config.claimreview_author, config.claimreview_author_url)
    return json.dumps(claim_reviews(report, author, meta), indent=2, ensure_ascii=False) + "\n"


def cmd_export(args: argparse.Namespace, make_config: Callable[[argparse.Namespace], VerifyConfig]) -> int:
    from ..render import write_json_atomic

    config = make_config(args)
    loaded = [(path, *load_report(path)) for path in args.reports]  # every file read before any is written
    for path, report, meta in loaded:
        text = export_text(report, meta, args.format, config)
        if args.stdout:
            sys.stdout.write(text)
            continue
        stem = path.name.removesuffix(".json")
        target = (args.out or path.parent) / (stem + SUFFIX[args.format])
        write_json_atomic(target, text)
        print(f"wrote {target}", file=sys.stderr)
    return 0
