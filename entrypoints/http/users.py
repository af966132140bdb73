"""API and web users: add (a token shown once), list, remove, change role or disable, a new token or password (admin);
one's own password (every role)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from application.errors import LastAdmin, UsernameTaken, UserNotFound, WeakPassword, WrongPassword
from application.use_cases.users import (
    AddUser,
    ChangeOwnPassword,
    ListUsers,
    RemoveUser,
    ResetPassword,
    RotateToken,
    UpdateUser,
)
from domain.roles import Actor
from entrypoints.http.pagination import decode_cursor, paginate
from entrypoints.http.parameters import Limit, NameCursor
from entrypoints.http.response_specs import api_responses
from entrypoints.http.schemas.common import SINGLE_LINE, out
from entrypoints.http.schemas.users import (
    NewUserOut,
    OwnPasswordIn,
    PasswordOut,
    PasswordResetIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPage,
    UserPatchIn,
)

UserId = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=SINGLE_LINE)]


class UserController(Controller):
    path = "/users"
    tags = ("users",)

    @post(
        "/",
        operation_id="addUser",
        status_code=201,
        description="The token is shown once; only its hash is kept.",
        responses=api_responses(400, 403, UsernameTaken, WeakPassword),
    )
    async def add_user(
        self, actor: NamedDependency[Actor], add_user: NamedDependency[AddUser], data: JSONBody[UserIn]
    ) -> NewUserOut:
        new = await add_user.execute(actor, data.username, data.role, data.password)
        return NewUserOut(id=new.user.id, username=new.user.username, role=new.user.role, token=new.token)

    @get("/", operation_id="listUsers", responses=api_responses(400, 403))
    async def list_users(
        self,
        actor: NamedDependency[Actor],
        list_users: NamedDependency[ListUsers],
        limit: Limit = 50,
        cursor: NameCursor = None,
    ) -> UserPage:
        after = decode_cursor(cursor, str)[0] if cursor else None
        users = sorted(
            (u for u in await list_users.execute(actor) if after is None or u.username > after),
            key=lambda u: u.username,
        )
        page, next_cursor = paginate(users, limit, lambda u: (u.username,))
        return UserPage([out(u, UserOut) for u in page], next_cursor)

    @delete(
        "/{user_id:str}",
        operation_id="removeUser",
        status_code=204,
        responses=api_responses(400, 403, UserNotFound, LastAdmin),
    )
    async def remove_user(
        self,
        actor: NamedDependency[Actor],
        remove_user: NamedDependency[RemoveUser],
        user_id: UserId,
    ) -> None:
        await remove_user.execute(actor, user_id)

    @patch(
        "/{user_id:str}",
        operation_id="updateUser",
        description="Change the role or disable / enable; the user's web sessions end at once.",
        responses=api_responses(400, 403, UserNotFound, LastAdmin),
    )
    async def update_user(
        self,
        actor: NamedDependency[Actor],
        update_user: NamedDependency[UpdateUser],
        user_id: UserId,
        data: JSONBody[UserPatchIn],
    ) -> UserOut:
        return out(await update_user.execute(actor, user_id, data.role, data.disabled), UserOut)

    @post(
        "/{user_id:str}/token",
        operation_id="rotateUserToken",
        status_code=200,
        description="A new token, shown once; the old one stops working at once.",
        responses=api_responses(400, 403, UserNotFound),
    )
    async def rotate_token(
        self, actor: NamedDependency[Actor], rotate_token: NamedDependency[RotateToken], user_id: UserId
    ) -> TokenOut:
        return TokenOut((await rotate_token.execute(actor, user_id)).secret)

    @post(
        "/{user_id:str}/password",
        operation_id="resetUserPassword",
        status_code=200,
        description="Set the password, or (without a body) generate one, shown once; every session of the user ends.",
        responses=api_responses(400, 403, UserNotFound, WeakPassword),
    )
    async def reset_password(
        self,
        actor: NamedDependency[Actor],
        reset_password: NamedDependency[ResetPassword],
        user_id: UserId,
        data: JSONBody[PasswordResetIn | None] = None,
    ) -> PasswordOut:
        new = await reset_password.execute(actor, user_id, data.password if data is not None else None)
        return PasswordOut(new.secret if new.generated else None)


class MeController(Controller):
    path = "/me"
    tags = ("users",)

    @post(
        "/password",
        operation_id="changeOwnPassword",
        status_code=204,
        description="Every role: change one's own password (the current one required); every web session ends.",
        responses=api_responses(400, WrongPassword, UserNotFound, WeakPassword),
    )
    async def change_password(
        self,
        actor: NamedDependency[Actor],
        change_own_password: NamedDependency[ChangeOwnPassword],
        data: JSONBody[OwnPasswordIn],
    ) -> None:
        await change_own_password.execute(actor, data.current_password, data.new_password)
