"""API and web users: add (a token shown once), list, remove (admin)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, PathParameter

from application.errors import LastAdmin, UsernameTaken, UserNotFound
from application.use_cases.users import AddUser, ListUsers, RemoveUser
from domain.roles import Actor
from entrypoints.http.pagination import decode_cursor, paginate
from entrypoints.http.parameters import Limit, NameCursor
from entrypoints.http.problems import api_responses
from entrypoints.http.schemas import SINGLE_LINE, NewUserOut, UserIn, UserOut, UserPage, out


class UserController(Controller):
    path = "/users"
    tags = ("users",)

    @post(
        "/",
        operation_id="addUser",
        status_code=201,
        description="The token is shown once; only its hash is kept.",
        responses=api_responses(400, 403, UsernameTaken),
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
        user_id: Annotated[str, PathParameter(min_length=1, max_length=64, pattern=SINGLE_LINE)],
    ) -> None:
        await remove_user.execute(actor, user_id)
