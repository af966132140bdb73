"""Sessions, CSRF, outcome messages carried across a redirect: what every page shares."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Request
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import Cookie, FormMultiDict
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template import TemplateConfig

from application.use_cases.settings import Reach
from application.use_cases.web_sessions import Sessions, csrf_token
from domain.roles import Actor, Permission
from domain.settings import AutotaskSettings
from domain.settings import Environment as AutotaskEnvironment
from entrypoints.web import words
from entrypoints.web.run_rows import CellKind
from entrypoints.web.setting_fields import FieldKind

HERE = Path(__file__).parent
SESSION_COOKIE = "bc_session"
PRE_SESSION_COOKIE = "bc_pre"
"""Before sign-in, the sign-in form's CSRF token is derived from this random cookie instead of a session."""
FLASH_COOKIE = "bc_flash"
FORM_MAX_BYTES = 1024 * 1024
"""The largest form any page posts (answered 413 beyond, before it is read); the sign-in form's cap is smaller."""
SIGN_IN_MAX_BYTES = 16 * 1024
FLASH_MAX = 1500


class SignInRequired(HTTPException):
    status_code = 303


class CsrfRejected(HTTPException):
    status_code = 403


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Autoescaped; a name the page did not pass is an error (StrictUndefined), never an empty string."""
    env = jinja2.Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
    )
    env.globals.update(CellKind=CellKind, FieldKind=FieldKind, Environment=AutotaskEnvironment)
    env.filters["details"] = words.details
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))


def session_cookie(value: str, *, secure: bool, max_age: int | None = None) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE, value=value, path="/", httponly=True, samesite="lax", secure=secure, max_age=max_age
    )


async def provide_web_actor(request: Request[Any, Any, Any], sessions: NamedDependency[Sessions]) -> Actor:
    """The signed-in user of this browser, or a redirect to the sign-in page; and the settings read with it (one
    unit of work): which Autotask they reach, for every page's banner, and `request_settings` for a page that
    needs them."""
    visit = await sessions.visit(request.cookies.get(SESSION_COOKIE, ""))
    if visit is None:
        raise SignInRequired()
    request.state.user = visit.actor.name
    request.state.reach = Reach(visit.settings.environment, visit.settings.tenant_name)
    request.state.settings = visit.settings
    return visit.actor


def request_settings(request: Request[Any, Any, Any]) -> AutotaskSettings:
    """The settings this request's session check read (`provide_web_actor` ran before the handler)."""
    settings: AutotaskSettings = request.state.settings
    return settings


async def provide_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The posted form, once its CSRF token matches this browser's session or pre-session cookie. Without either
    cookie the body is not even read; its size is capped by the router (FORM_MAX_BYTES). A session cookie that has
    timed out does not block the sign-in form, whose token comes from the pre-session cookie."""
    keys = [request.cookies.get(name) for name in (SESSION_COOKIE, PRE_SESSION_COOKIE)]
    if not any(keys):
        raise CsrfRejected()
    form = await request.form()
    sent = form.get("_csrf")
    if not isinstance(sent, str) or not any(
        hmac.compare_digest(sent.encode(), csrf_token(secret).encode()) for secret in keys if secret
    ):
        raise CsrfRejected()
    return form


ASCII_DIGITS = re.compile(r"[0-9]{1,19}")
KEY_MAX = 2**63 - 1
"""A storage key (an audit sequence number) is a signed 64-bit integer at most."""


def whole_number(text: str | None, maximum: int = KEY_MAX) -> int | None:
    """`text` as a whole number 0 to `maximum` written in ASCII digits only; None for anything else (a sign, a space,
    a Unicode digit such as `١٢` or `²`, a number the storage cannot hold): the page then ignores it, as it ignores
    any other filter value it cannot read."""
    if text is None or not ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= maximum else None


def day_bound(text: str | None, *, end: bool) -> datetime | None:
    """The start (or the end) of a UTC day given as YYYY-MM-DD; None when empty or not a date."""
    try:
        day = date.fromisoformat(text) if text else None
    except ValueError:
        return None
    if day is None:
        return None
    start = datetime.combine(day, time(), UTC)
    return start + timedelta(days=1) if end else start


def field(form: FormMultiDict, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def flash_cookie(kind: str, text: str) -> Cookie:
    raw = json.dumps({"kind": kind, "text": text[:FLASH_MAX]}).encode()
    return Cookie(
        key=FLASH_COOKIE,
        value=base64.urlsafe_b64encode(raw).decode(),
        path="/",
        httponly=True,
        samesite="lax",
        max_age=60,
    )


@dataclass(frozen=True, slots=True)
class Flash:
    """The outcome of the last action, shown once."""

    kind: str
    """ok, info or error (its CSS class)."""
    text: str

    @property
    def role(self) -> str:
        """An error is announced at once (`alert`), anything else politely (`status`)."""
        return "alert" if self.kind == "error" else "status"


def read_flash(request: Request[Any, Any, Any]) -> Flash | None:
    value = request.cookies.get(FLASH_COOKIE)
    if not value:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(value.encode()))
        return Flash(str(data["kind"]), str(data["text"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def done(path: str, kind: str, text: str) -> Redirect:
    """POST-redirect-GET: back to `path`, saying what happened (`kind` ok, info or error)."""
    return Redirect(path, status_code=303, cookies=[flash_cookie(kind, text)])


def page(
    request: Request[Any, Any, Any],
    name: str,
    actor: Actor | None,
    *,
    status_code: int = 200,
    background: BackgroundTask | None = None,
    **context: Any,
) -> Template:
    """A page, with the signed-in user, the CSRF token for its forms and the outcome of the last action."""
    flash = read_flash(request)
    secret = request.cookies.get(SESSION_COOKIE, "")
    cookies: list[Cookie] = []
    if flash is not None:
        cookies.append(Cookie(key=FLASH_COOKIE, value="", path="/", max_age=0))
    if actor is None:  # not signed in: the sign-in form's token comes from a pre-session cookie
        secret = request.cookies.get(PRE_SESSION_COOKIE) or secrets.token_urlsafe(32)
        cookies.append(
            Cookie(
                key=PRE_SESSION_COOKIE,
                value=secret,
                path="/",
                httponly=True,
                samesite="lax",
                secure=request.app.state.cookie_secure,
            )
        )
    return Template(
        template_name=name,
        context={
            "actor": actor,
            "csrf": csrf_token(secret) if secret else "",
            "flash": flash,
            "path": request.url.path,
            "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "is_admin": actor is not None and actor.may(Permission.ADMINISTER),
            "reach": getattr(request.state, "reach", None) if actor is not None else None,
            **context,
        },
        status_code=status_code,
        cookies=cookies,
        background=background,
    )
