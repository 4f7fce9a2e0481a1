"""``verify serve``: a small web app over one shared :class:`~verify.verifier.Verifier`.

    GET  /                      a form: paste or upload an article (optional date, outlet, URL, title)
    POST /submit                the form's target: starts a check, redirects to its progress page
    GET  /jobs/{id}             progress (HTML, refreshes itself; ``?format=json`` for tools)
    POST /check                 JSON in ({"text", "date", "outlet", "url", "title"}), report JSON out
    GET  /reports/{id}          the report: ``?format=json`` (default), ``html``, ``markdown``, ``claimreview``

Every check goes through the one Verifier, whose chat backend is wrapped by the batch runner's bound
on requests in flight (and its per-minute limits). A report is kept, and served, only once it is
finished; a failed check answers a JSON error (``{"error": {"type", "message"}}``) or an error page,
never part of a report.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import BaseModel, ConfigDict, Field

from ..batch.limits import LimitedChatBackend
from ..documents import check_text
from ..errors import FATAL, InputError, VerifyError
from ..models import Report
from ..report.claimreview import ReviewAuthor, claim_reviews
from ..report.html import asset, csp_hash, render_html
from ..report.markdown import render_markdown
from ..verifier import CheckTrace, Verifier

log = logging.getLogger("verify")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
TOKEN_COOKIE = "verify_token"
STAGES = (
    ("input", "Reading the article"),
    ("extract", "Extracting claims"),
    ("retrieve", "Retrieving evidence"),
    ("judge", "Judging claims"),
    ("report", "Writing the report"),
)


class CheckRequest(BaseModel):
    """The body of ``POST /check``."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(description="the article, plain text")
    date: str | None = Field(None, description="the article's date, YYYY-MM-DD")
    outlet: str | None = None
    url: str | None = None
    title: str | None = None

    def meta(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump(exclude={"text"}).items() if v}


class ErrorInfo(BaseModel):
    type: str
    message: str
    status: int


@dataclass
class Job:
    id: str
    meta: dict[str, str]
    trace: CheckTrace = field(default_factory=CheckTrace)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None
    status: Literal["queued", "running", "done", "failed"] = "queued"
    error: ErrorInfo | None = None

    def state(self) -> dict[str, Any]:
        elapsed = (self.finished or time.monotonic()) - self.started
        data: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "stage": self.trace.stage,
            "elapsed_seconds": round(elapsed, 1),
        }
        if self.status == "done":
            data["report"] = f"/reports/{self.id}"
        if self.error is not None:
            data["error"] = self.error.model_dump(exclude={"status"})
        return data


@dataclass
class ServeState:
    verifier: Verifier
    author: ReviewAuthor | None
    gate: asyncio.Semaphore
    max_kept: int
    jobs: OrderedDict[str, Job] = field(default_factory=OrderedDict)
    reports: OrderedDict[str, tuple[Report, dict[str, str]]] = field(default_factory=OrderedDict)
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)  # the running form checks (the loop keeps weak refs)

    def add_job(self, job: Job) -> None:
        self.jobs[job.id] = job
        while len(self.jobs) > self.max_kept:
            self.jobs.popitem(last=False)

    def keep(self, job_id: str, report: Report, meta: dict[str, str]) -> None:
        self.reports[job_id] = (report, meta)
        while len(self.reports) > self.max_kept:
            self.reports.popitem(last=False)


def error_info(exc: BaseException) -> ErrorInfo:
    """The HTTP status and message of a failed check."""
    if isinstance(exc, InputError):
        return ErrorInfo(type=type(exc).__name__, message=str(exc), status=400)
    if isinstance(exc, FATAL):
        return ErrorInfo(type=type(exc).__name__, message=f"model backend: {exc}", status=503)
    if isinstance(exc, VerifyError):
        return ErrorInfo(type=type(exc).__name__, message=str(exc), status=502 if exc.exit_code == 1 else 400)
    return ErrorInfo(type="InternalError", message=f"internal error: {type(exc).__name__}", status=500)


def _environment() -> Environment:
    return Environment(
        loader=ChoiceLoader([PackageLoader("verify.web", "templates"), PackageLoader("verify.report", "templates")]),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
    )


def create_app(
    verifier: Verifier,
    *,
    token: str | None = None,
    allowed_hosts: tuple[str, ...] | None = LOOPBACK_HOSTS,
    author: ReviewAuthor | None = None,
    max_kept: int = 200,
) -> FastAPI:
    """``token``: every request must carry it (``Authorization: Bearer``, ``X-Verify-Token``, or the
    cookie set by opening any page once with ``?token=``). ``allowed_hosts``: the Host names
    accepted (DNS-rebinding guard; None accepts any). The Verifier's chat backend is wrapped by the
    bound on requests in flight; its components are built before the first request."""
    config = verifier.config
    limited = LimitedChatBackend.from_config(verifier.chat, config)
    inner = verifier.chat
    verifier.wrap_chat(lambda _: limited)
    state = ServeState(
        verifier=verifier, author=author, gate=asyncio.Semaphore(2 * limited.max_in_flight), max_kept=max_kept
    )
    env = _environment()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        verifier.wrap_chat(lambda _: inner)
        aclose = getattr(inner, "aclose", None)
        if aclose is not None:
            await aclose()  # the HTTP pool belongs to the server's event loop

    app = FastAPI(title="verify", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.serve = state

    def page(template: str, status: int = 200, **context: Any) -> HTMLResponse:
        css = asset("page.css")
        html = env.get_template(template).render(
            css=css, js="", style_hash=csp_hash(css), script_hash=csp_hash(""), **context
        )
        return HTMLResponse(html, status_code=status)

    def error_page(info: ErrorInfo) -> HTMLResponse:
        return page("error.html", info.status, error=info)

    def wants_html(request: Request) -> bool:
        return "text/html" in request.headers.get("accept", "")

    def fail(request: Request, info: ErrorInfo) -> Response:
        if wants_html(request):
            return error_page(info)
        return JSONResponse({"error": info.model_dump(exclude={"status"})}, status_code=info.status)

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        host = (request.url.hostname or "").strip("[]")
        if allowed_hosts is not None and host not in allowed_hosts:
            return fail(request, ErrorInfo(type="Forbidden", message=f"host {host!r} is not served", status=403))
        origin = request.headers.get("origin")
        if request.method == "POST" and origin and urlsplit(origin).netloc != request.headers.get("host"):
            return fail(request, ErrorInfo(type="Forbidden", message="cross-origin request refused", status=403))
        if token is not None:
            given = request.query_params.get("token")
            if request.method == "GET" and given is not None and secrets.compare_digest(given, token):
                response = RedirectResponse(request.url.remove_query_params("token"), status_code=303)
                response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
                return response
            header = request.headers.get("authorization", "")
            candidates = [
                header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else "",
                request.headers.get("x-verify-token", ""),
                request.cookies.get(TOKEN_COOKIE, ""),
            ]
            if not any(c and secrets.compare_digest(c, token) for c in candidates):
                return fail(
                    request,
                    ErrorInfo(
                        type="Unauthorized", message="an access token is required (open /?token=...)", status=401
                    ),
                )
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")  # sends Origin on its own forms only
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "request"
        return fail(request, ErrorInfo(type="InvalidRequest", message=f"{where}: {first.get('msg')}", status=422))

    async def run(job: Job, text: str) -> Report | None:
        """One check; the report is kept only when it finished. Never raises."""
        async with state.gate:
            job.status = "running"
            try:
                report = await verifier.acheck(
                    text, source=job.meta.get("title") or "pasted article", date=job.meta.get("date"), trace=job.trace
                )
            except Exception as exc:
                if not isinstance(exc, VerifyError):
                    log.warning("check %s failed", job.id, exc_info=True)
                job.error, job.status = error_info(exc), "failed"
                log.info("check %s failed in %s: %s", job.id, job.trace.stage, job.error.message)
                return None
            finally:
                job.finished = time.monotonic()
        state.keep(job.id, report, job.meta)
        job.status = "done"
        return report

    def new_job(meta: dict[str, str]) -> Job:
        job = Job(id=secrets.token_hex(8), meta=meta)
        state.add_job(job)
        return job

    def validate(text: str, meta: dict[str, str]) -> None:
        check_text(text, max_chars=config.max_article_chars)
        if meta.get("date"):
            try:
                date.fromisoformat(meta["date"])
            except ValueError as exc:
                raise InputError(f"article date {meta['date']!r} is not an ISO date (YYYY-MM-DD)") from exc

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "model": verifier.model_name}

    @app.get("/", response_class=HTMLResponse)
    async def form() -> HTMLResponse:
        return page("form.html", max_chars=config.max_article_chars, model=verifier.model_name)

    @app.post("/submit")
    async def submit(
        request: Request,
        text: Annotated[str, Form()] = "",
        file: Annotated[UploadFile | None, File()] = None,
        date: Annotated[str, Form()] = "",
        outlet: Annotated[str, Form()] = "",
        url: Annotated[str, Form()] = "",
        title: Annotated[str, Form()] = "",
    ) -> Response:
        meta = {k: v.strip() for k, v in {"date": date, "outlet": outlet, "url": url, "title": title}.items() if v}
        try:
            if file is not None and file.filename:
                raw = await file.read(4 * config.max_article_chars + 4)
                if b"\x00" in raw[:8192]:
                    raise InputError("the uploaded file looks binary, not text")
                try:
                    text = raw.decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    raise InputError(f"the uploaded file is not valid UTF-8 (byte {exc.start})") from exc
                meta.setdefault("title", file.filename)
            text = text.replace("\r\n", "\n")  # a browser sends a textarea's lines with CRLF
            validate(text, meta)
        except InputError as exc:
            return error_page(error_info(exc))
        job = new_job(meta)
        task = asyncio.create_task(run(job, text))
        state.tasks.add(task)
        task.add_done_callback(state.tasks.discard)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @app.get("/jobs/{job_id}")
    async def job_page(request: Request, job_id: str, format: str = "html") -> Response:
        job = state.jobs.get(job_id)
        if job is None:
            return fail(request, ErrorInfo(type="NotFound", message=f"no check {job_id}", status=404))
        if format == "json":
            return JSONResponse(job.state())
        if job.status == "done":
            return RedirectResponse(f"/reports/{job.id}?format=html", status_code=303)
        if job.status == "failed" and job.error is not None:
            return error_page(job.error)
        current = job.trace.stage or "input"
        names = [s for s, _ in STAGES]
        at = names.index(current) if current in names else 0
        return page("progress.html", job=job, state=job.state(), stages=STAGES, at=at)

    @app.post("/check")
    async def check(request: Request, body: CheckRequest) -> Response:
        meta = body.meta()
        try:
            validate(body.text, meta)
        except InputError as exc:
            return fail(request, error_info(exc))
        job = new_job(meta)
        report = await run(job, body.text)
        if report is None:
            assert job.error is not None
            return fail(request, job.error)
        return Response(
            report.model_dump_json(indent=2),
            media_type="application/json",
            headers={"Location": f"/reports/{job.id}", "X-Report-Id": job.id},
        )

    @app.get("/reports/{report_id}")
    async def get_report(request: Request, report_id: str, format: str = "json") -> Response:
        kept = state.reports.get(report_id)
        if kept is None:
            return fail(request, ErrorInfo(type="NotFound", message=f"no report {report_id}", status=404))
        report, meta = kept
        if format == "json":
            return Response(report.model_dump_json(indent=2), media_type="application/json")
        if format == "html":
            return HTMLResponse(render_html(report, meta))
        if format == "markdown":
            return PlainTextResponse(render_markdown(report, meta), media_type="text/markdown; charset=utf-8")
        if format == "claimreview":
            if state.author is None:
                message = "ClaimReview needs an author: set claimreview_author in verify.toml"
                return fail(request, ErrorInfo(type="ConfigError", message=message, status=409))
            return JSONResponse(claim_reviews(report, state.author, meta))
        message = "format must be json, html, markdown or claimreview"
        return fail(request, ErrorInfo(type="InvalidRequest", message=message, status=400))

    return app
