"""The web entrypoint's router: sign-in and sign-out, the pages, static files, and the answers to a missing session
or CSRF token."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie, FormMultiDict
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router

from application.errors import SignInRefused, StorageError, UseCaseError
from application.use_cases.web_sessions import Sessions
from entrypoints.shared.errors import storage_status, use_case_status
from entrypoints.shared.headers import page_headers
from entrypoints.web.account import AccountPages
from entrypoints.web.audit import AuditPages
from entrypoints.web.customers import CustomerPages
from entrypoints.web.plumbing import (
    FORM_MAX_BYTES,
    HERE,
    PRE_SESSION_COOKIE,
    SESSION_COOKIE,
    SIGN_IN_MAX_BYTES,
    CsrfRejected,
    SignInRequired,
    field,
    page,
    provide_form,
    provide_web_actor,
    session_cookie,
)
from entrypoints.web.runs import RunPages
from entrypoints.web.settings import SettingsPages
from entrypoints.web.users import UserPages


@get("/", name="home")
async def home(request: Request[Any, Any, Any], sessions: NamedDependency[Sessions]) -> Redirect:
    signed_in = await sessions.resume(request.cookies.get(SESSION_COOKIE, ""))
    return Redirect("/runs" if signed_in else "/sign-in", status_code=303)


@get("/sign-in", name="sign_in")
async def sign_in_page(request: Request[Any, Any, Any]) -> Template:
    return page(request, "sign_in.html", None, error=None, username="")


@post("/sign-in", request_max_body_size=SIGN_IN_MAX_BYTES, name="sign_in_post")
async def sign_in(
    request: Request[Any, Any, Any], sessions: NamedDependency[Sessions], form: NamedDependency[FormMultiDict]
) -> Response[Any]:
    username, password = field(form, "username"), form.get("password")
    try:
        signed_in = await sessions.sign_in(
            username,
            password if isinstance(password, str) else "",
            replacing=request.cookies.get(SESSION_COOKIE),
            address=request.client.host if request.client else None,
        )
    except SignInRefused as error:
        return page(request, "sign_in.html", None, status_code=401, error=error.message, username=username[:64])
    secure = bool(request.app.state.cookie_secure)
    return Redirect(
        "/runs",
        status_code=303,
        cookies=[
            session_cookie(signed_in.session_id, secure=secure),
            Cookie(key=PRE_SESSION_COOKIE, value="", path="/", max_age=0),
        ],
    )


@post("/sign-out", name="sign_out")
async def sign_out(
    request: Request[Any, Any, Any], sessions: NamedDependency[Sessions], form: NamedDependency[FormMultiDict]
) -> Redirect:
    await sessions.sign_out(request.cookies.get(SESSION_COOKIE, ""))
    secure = bool(request.app.state.cookie_secure)
    return Redirect("/sign-in", status_code=303, cookies=[session_cookie("", secure=secure, max_age=0)])


def _to_sign_in(request: Request[Any, Any, Any], _: SignInRequired) -> Response[Any]:
    secure = bool(request.app.state.cookie_secure)
    return page_headers(Redirect("/sign-in", status_code=303, cookies=[session_cookie("", secure=secure, max_age=0)]))


def _error_page(request: Request[Any, Any, Any], status_code: int, heading: str, message: str) -> Response[Any]:
    return page_headers(
        Template(
            template_name="error.html",
            status_code=status_code,
            context={
                "actor": None,
                "csrf": "",
                "flash": None,
                "path": request.url.path,
                "back": request.url.path,
                "reach": None,
                "is_admin": False,
                "heading": heading,
                "message": message,
            },
        )
    )


def _csrf_rejected(request: Request[Any, Any, Any], _: CsrfRejected) -> Response[Any]:
    return _error_page(
        request,
        403,
        "This form has expired",
        "The form was sent without its security token (or with an old one), so nothing was done. "
        "Go back, reload the page and try again.",
    )


def _use_case_error(request: Request[Any, Any, Any], error: UseCaseError) -> Response[Any]:
    """A page the user may not see (or that names nothing): the use case's words, as a page."""
    return _error_page(request, use_case_status(error), "Not available", error.message)


def _storage_error(request: Request[Any, Any, Any], error: StorageError) -> Response[Any]:
    """The database failed: the status and log line the API gives too (503 when it did not answer, 422 when it
    refused a value; nothing was stored), said as a page."""
    status = storage_status(request, error)
    if status == 500:
        return _error_page(
            request, 500, "Something went wrong", "Something went wrong on our side; it has been logged."
        )
    heading = "The database is not answering" if status == 503 else "Not saved"
    return _error_page(request, status, heading, f"{error.message_default} Nothing was changed.")


@get("/favicon.ico", name="favicon", include_in_schema=False)
async def favicon() -> Redirect:
    """Browsers ask for /favicon.ico on their own: it is the SVG icon the pages link to, never a 404."""
    return Redirect("/static/favicon.svg", status_code=308)


def web_router() -> Router:
    """Every page and form; each page's actor comes from the session cookie (`web_actor`), each form is CSRF-checked
    (`form`). Not part of the API's OpenAPI document."""
    return Router(
        "/",
        route_handlers=[
            home,
            sign_in_page,
            sign_in,
            sign_out,
            favicon,
            RunPages,
            CustomerPages,
            SettingsPages,
            AuditPages,
            UserPages,
            AccountPages,
            create_static_files_router("/static", directories=[HERE / "static"], include_in_schema=False),
        ],
        dependencies={"web_actor": Provide(provide_web_actor), "form": Provide(provide_form)},
        exception_handlers={
            SignInRequired: _to_sign_in,
            CsrfRejected: _csrf_rejected,
            UseCaseError: _use_case_error,
            StorageError: _storage_error,
        },
        after_request=page_headers,
        include_in_schema=False,
        request_max_body_size=FORM_MAX_BYTES,
    )
