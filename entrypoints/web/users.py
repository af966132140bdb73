"""The admin's Users page: add, change, disable, remove and unlock users; new secrets shown once."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from litestar.params import PathParameter
from litestar.response import Redirect, Template

from application.errors import UseCaseError
from application.use_cases.users import (
    AddUser,
    ListUserRows,
    NewSecret,
    NewUser,
    RemoveUser,
    ResetPassword,
    RotateToken,
    UpdateUser,
    UserRow,
)
from application.use_cases.web_sessions import Sessions
from domain.roles import Actor, Role
from entrypoints.web import words
from entrypoints.web.plumbing import done, field, page


def users_page(
    request: Request[Any, Any, Any],
    actor: Actor,
    users: list[UserRow],
    new: NewUser | None = None,
    secret: tuple[str, NewSecret] | None = None,
) -> Template:
    """The Users page; a new user (its token) or a new secret is shown once, in this answer only."""
    return page(request, "users.html", actor, users=users, roles=list(Role), new=new, secret=secret)


class UserPages(Controller):
    path = "/users"

    @get("/", name="users")
    async def users(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        list_user_rows: NamedDependency[ListUserRows],
    ) -> Template:
        return users_page(request, web_actor, await list_user_rows.execute(web_actor))

    @post("/", name="user_add")
    async def add(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        add_user: NamedDependency[AddUser],
        list_user_rows: NamedDependency[ListUserRows],
    ) -> Template | Redirect:
        role = field(form, "role")
        if role not in Role.__members__.values():
            return done(self.path, "error", "Choose a role.")
        try:
            new = await add_user.execute(
                web_actor, field(form, "username"), Role(role), field(form, "password") or None
            )
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "adding the user"))
        # Not a redirect: the token (and a generated password) are shown once, in this answer only (never cached).
        return users_page(request, web_actor, await list_user_rows.execute(web_actor), new=new)

    @post("/{user_id:str}/role", name="user_role")
    async def role(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        update_user: NamedDependency[UpdateUser],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> Redirect:
        role = field(form, "role")
        if role not in Role.__members__.values():
            return done(self.path, "error", "Choose a role.")
        try:
            user = await update_user.execute(web_actor, user_id, role=Role(role))
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "changing the role"))
        return done(self.path, "ok", f"{user.username} is {user.role.value} now; their sessions ended.")

    @post("/{user_id:str}/disable", name="user_disable")
    async def disable(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        update_user: NamedDependency[UpdateUser],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> Redirect:
        return await _switch(self.path, update_user, web_actor, user_id, disabled=True)

    @post("/{user_id:str}/enable", name="user_enable")
    async def enable(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        update_user: NamedDependency[UpdateUser],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> Redirect:
        return await _switch(self.path, update_user, web_actor, user_id, disabled=False)

    @post("/{user_id:str}/token", name="user_token")
    async def token(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        rotate_token: NamedDependency[RotateToken],
        list_user_rows: NamedDependency[ListUserRows],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> Template | Redirect:
        try:
            secret = await rotate_token.execute(web_actor, user_id)
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "making a new token"))
        return await self._shown_once(request, web_actor, list_user_rows, secret, "API token")

    @post("/{user_id:str}/password", name="user_password")
    async def password(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        reset_password: NamedDependency[ResetPassword],
        list_user_rows: NamedDependency[ListUserRows],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> Template | Redirect:
        chosen = form.get("password")
        try:
            secret = await reset_password.execute(
                web_actor, user_id, chosen if isinstance(chosen, str) and chosen else None
            )
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "resetting the password"))
        if not secret.generated:
            return done(self.path, "ok", f"{secret.user.username}'s password was set; their sessions ended.")
        return await self._shown_once(request, web_actor, list_user_rows, secret, "Password")

    async def _shown_once(
        self, request: Request[Any, Any, Any], actor: Actor, list_user_rows: ListUserRows, secret: NewSecret, kind: str
    ) -> Template | Redirect:
        """A new secret, in this answer only (not a redirect: never cached); when the admin changed their own, their
        session is over and the sign-in page follows."""
        try:
            users = await list_user_rows.execute(actor)
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "listing the users"))
        return users_page(request, actor, users, secret=(kind, secret))

    @post("/{user_id:str}/remove", name="user_remove")
    async def remove(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        remove_user: NamedDependency[RemoveUser],
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64)],
    ) -> Redirect:
        try:
            user = await remove_user.execute(web_actor, user_id)
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "removing the user"))
        return done(self.path, "ok", f"User {user.username} was removed; their token and sessions no longer work.")

    @post("/unlock", name="user_unlock")
    async def unlock(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        sessions: NamedDependency[Sessions],
    ) -> Redirect:
        username = field(form, "username")
        try:
            await sessions.unlock(web_actor, username)
        except UseCaseError as error:
            return done(self.path, "error", words.failed(error, "unlocking the user"))
        return done(self.path, "ok", f"{username} can sign in again: their failed sign-ins are forgotten.")


async def _switch(path: str, update_user: UpdateUser, actor: Actor, user_id: str, *, disabled: bool) -> Redirect:
    """Disable or enable a user, saying what that means for them."""
    try:
        user = await update_user.execute(actor, user_id, disabled=disabled)
    except UseCaseError as error:
        return done(path, "error", words.failed(error, "disabling the user" if disabled else "enabling the user"))
    said = "is disabled: their token and sessions no longer work" if disabled else "is enabled again"
    return done(path, "ok", f"{user.username} {said}.")
