"""``verify serve``: a local web page to check an article, and a JSON API over the same Verifier."""

from .app import CheckRequest, create_app

__all__ = ["CheckRequest", "create_app"]
