"""The Account page (every role): change one's own password, giving the current one. The other sessions of the user end;
the one the change came from goes on."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from application.errors import UseCaseError
from application.use_cases.users import ChangeOwnPassword
from domain.passwords import MIN_LENGTH
from domain.roles import Actor
from entrypoints.web import words
from entrypoints.web.plumbing import SESSION_COOKIE, done, page


class AccountPages(Controller):
    path = "/account"

    @get("/", name="account")
    async def account(self, request: Request[Any, Any, Any], web_actor: NamedDependency[Actor]) -> Template:
        return page(request, "account.html", web_actor, min_length=MIN_LENGTH)

    @post("/password", name="account_password")
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        change_own_password: NamedDependency[ChangeOwnPassword],
    ) -> Redirect:
        values = [form.get(name) for name in ("current_password", "new_password", "repeat_password")]
        current, new, repeat = (value if isinstance(value, str) else "" for value in values)
        if new != repeat:
            return done(self.path, "error", "The new password and its repetition differ: nothing was changed.")
        try:
            await change_own_password.execute(
                web_actor, current, new, keep_session=request.cookies.get(SESSION_COOKIE) or None
            )
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "changing your password"))
        return done(self.path, "ok", "Your password was changed; your other sessions ended.")
