"""What an editor reads: the HTML report page, the batch index page, and the exports (Markdown,
ClaimReview JSON-LD drafts)."""

from .claimreview import ReviewAuthor, claim_reviews
from .html import html_name, render_html, render_index_html
from .markdown import render_markdown
from .view import build_view, safe_url

__all__ = [
    "ReviewAuthor",
    "build_view",
    "claim_reviews",
    "html_name",
    "render_html",
    "render_index_html",
    "render_markdown",
    "safe_url",
]
