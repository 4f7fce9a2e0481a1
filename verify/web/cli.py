"""``verify serve``."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from collections.abc import Callable
from typing import Any

from ..config import VerifyConfig
from ..errors import ConfigError

TOKEN_ENV = "VERIFY_SERVE_TOKEN"


def add_serve_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    serve = sub.add_parser(
        "serve",
        help="a local web page to check an article, and a JSON API (POST /check, GET /reports/ID)",
        description="Serve a web app on 127.0.0.1: paste or upload an article, watch the check, read the report. "
        "Tools call POST /check (JSON in, report JSON out) and GET /reports/ID. Binding to another address "
        f"needs --host and an access token (--token or ${TOKEN_ENV}).",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1 only)")
    serve.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    serve.add_argument(
        "--token", help=f"access token every request must carry (default: ${TOKEN_ENV}); required off loopback"
    )
    common(serve)
    serve.set_defaults(handler=cmd_serve)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cmd_serve(args: argparse.Namespace, make_config: Callable[[argparse.Namespace], VerifyConfig]) -> int:
    token = args.token or os.environ.get(TOKEN_ENV) or None
    loopback = is_loopback(args.host)
    if not loopback and not token:
        raise ConfigError(
            f"serving on {args.host} makes the app reachable from other machines: give an access token "
            f"(--token or ${TOKEN_ENV}), or leave --host at 127.0.0.1"
        )
    if token is not None and len(token) < 16:
        raise ConfigError("the access token must be at least 16 characters")
    config = make_config(args)

    import uvicorn

    from ..report.claimreview import ReviewAuthor
    from ..verifier import Verifier
    from .app import LOOPBACK_HOSTS, create_app

    author = (
        ReviewAuthor(name=config.claimreview_author, url=config.claimreview_author_url)
        if (config.claimreview_author)
        else None
    )
    with Verifier(config) as verifier:
        verifier.retriever()  # a missing or empty collection stops here, before serving
        app = create_app(verifier, token=token, allowed_hosts=LOOPBACK_HOSTS if loopback else None, author=author)
        shown = f"[{args.host}]" if ":" in args.host else args.host
        print(f"verify serve: http://{shown}:{args.port}/ (Ctrl-C to stop)", file=sys.stderr, flush=True)
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
