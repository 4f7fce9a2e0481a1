"""Command line: ``verify ingest``, ``verify check``, ``verify store``, ``verify eval``, ``verify batch``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from . import __version__
from .config import VerifyConfig
from .errors import VerifyError

log = logging.getLogger("verify")

EXIT_INCOMPLETE = 3


def _common(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("configuration (overrides verify.toml and VERIFY_* variables)")
    g.add_argument("--config", type=Path, help="TOML config file (default: $VERIFY_CONFIG or ./verify.toml)")
    g.add_argument("--store", type=Path, dest="store_path", help="Chroma directory (default: .verify/chroma)")
    g.add_argument("--collection", help="Chroma collection name (default: evidence)")
    g.add_argument("--backend", choices=["embedded", "openai"], help="chat model backend (default: embedded)")
    g.add_argument(
        "--base-url",
        help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 (implies --backend openai)",
    )
    g.add_argument("--model", help="model name at the endpoint (backend openai)")
    g.add_argument("--threads", type=int, dest="n_threads", help="CPU threads for the embedded model")
    g.add_argument("-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)")


def _config(args: argparse.Namespace) -> VerifyConfig:
    keys = ("store_path", "collection", "backend", "base_url", "model", "n_threads")
    return VerifyConfig.load(args.config, **{k: getattr(args, k, None) for k in keys})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verify",
        description="Extract the claims of an article, retrieve evidence, and judge each claim "
        "supported / disputed / unverifiable with verified citations.",
    )
    parser.add_argument("--version", action="version", version=f"verify {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser(
        "ingest",
        help="load reference documents into the evidence store",
        description="Load .txt, .md (YAML front matter: title, url, publisher, date), "
        ".html and .pdf files into the Chroma collection. A document's id is its path relative to the "
        "folder given (or 'id' in its front matter); re-ingesting replaces the passages of changed "
        "documents and leaves the others alone.",
    )
    ingest.add_argument("paths", nargs="+", type=Path, help="files or folders (searched recursively)")
    ingest.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="inside a folder, also read links that point outside it and descend into linked folders "
        "(by default they are skipped with a warning)",
    )
    ingest.add_argument(
        "--prune", action="store_true", help="also remove documents ingested from these folders whose files are gone"
    )
    _common(ingest)

    check = sub.add_parser(
        "check",
        help="verify the claims of one or more articles",
        description="Check articles (UTF-8 text files). Prints a summary with citations; "
        "with --out, writes <name>.report.json and the page <name>.report.html per article. Exit 0: every checkable "
        "claim judged; 3: some claims could not be judged (see the report); 2: bad input "
        "or configuration; 1: other errors.",
    )
    check.add_argument("articles", nargs="+", type=Path, help="article files")
    check.add_argument("--out", type=Path, help="directory for JSON reports")
    check.add_argument("--json", action="store_true", help="print the JSON report instead of the summary")
    check.add_argument(
        "--date",
        help="the articles' own date (YYYY-MM-DD) to resolve 'today', 'last week' against "
        "(default: read from each article's dateline; unresolved when there is none)",
    )
    _common(check)

    from .batch.cli import add_batch_parsers
    from .evals.cli import add_eval_parser
    from .report.cli import add_export_parser
    from .store_cli import add_store_parser
    from .web.cli import add_serve_parser

    add_store_parser(sub, _common)
    add_eval_parser(sub, _common)
    add_batch_parsers(sub, _common)
    add_export_parser(sub, _common)
    add_serve_parser(sub, _common)
    return parser


def _setup_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("verify")
    logger.setLevel(level)
    for old in [h for h in logger.handlers if getattr(h, "_verify_cli", False)]:
        logger.removeHandler(old)
    handler._verify_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = False


def cmd_ingest(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .documents import iter_document_paths
    from .verifier import Verifier

    files = iter_document_paths(args.paths, follow_symlinks=args.follow_symlinks)
    if not files:
        raise VerifyError("no supported documents (.txt, .md, .html, .pdf) found")
    verifier = Verifier(_config(args))
    with tqdm(total=len(files), desc="ingest", unit="doc", disable=None, file=sys.stderr) as bar:
        stats = verifier.ingest(
            args.paths, progress=lambda _: bar.update(1), prune=args.prune, follow_symlinks=args.follow_symlinks
        )
    print(
        f"ingested {stats.documents} documents: {stats.passages} passages, {stats.added} new, "
        f"{stats.skipped_existing} already stored; {stats.replaced} documents changed, "
        f"{stats.pruned} pruned, {stats.removed} old passages removed; collection "
        f"'{verifier.config.collection}' now holds {verifier.store().count()} passages"
    )
    if stats.flagged:
        counts = ", ".join(f"{flag} {n}" for flag, n in sorted(stats.flagged.items()))
        print(f"flagged by the ingest scan (kept as evidence, marked in reports): {counts}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .batch.summary import report_stems
    from .documents import read_text_file
    from .render import render_report, write_json_atomic
    from .report.html import render_html
    from .verifier import Verifier

    config = _config(args)
    texts = [(p, read_text_file(p, max_chars=config.max_article_chars, what="article")) for p in args.articles]
    stems = report_stems(p.stem for p, _ in texts)  # short, safe and unique, whatever the input names
    incomplete = False
    with Verifier(config) as verifier:
        bar = tqdm(texts, desc="articles", unit="article", disable=len(texts) < 2 or None, file=sys.stderr)
        for (path, text), stem in zip(bar, stems, strict=True):
            report = verifier.check(text, source=str(path), date=args.date)
            incomplete |= not report.complete
            if args.out:
                write_json_atomic(args.out / f"{stem}.report.json", report.model_dump_json(indent=2))
                write_json_atomic(args.out / f"{stem}.report.html", render_html(report))  # the page beside it
            if args.json:
                print(report.model_dump_json(indent=2))
            else:
                print(render_report(report))
                print()
    return EXIT_INCOMPLETE if incomplete else 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(getattr(args, "verbose", 0))
    handlers = {"ingest": cmd_ingest, "check": cmd_check}
    try:
        if args.command in ("eval", "batch", "runs", "export", "serve", "store"):
            return int(args.handler(args, _config))
        return handlers[args.command](args)
    except VerifyError as exc:
        print(f"verify: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("verify: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not a user error: one line, traceback with -vv
        log.debug("internal error", exc_info=True)
        print(
            f"verify: internal error: {type(exc).__name__}: {exc} (run with -vv for a traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
