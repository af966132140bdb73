"""An API request refused before any use case ran, because a value failed the API's own checks (a control character,
a malformed or unknown field): audited like every other refusal, and folded like them (ADR 0008)."""

from __future__ import annotations

from collections.abc import Sequence

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import InvalidInput
from domain.roles import Actor

ACTION = "request.invalid"


class RecordRejectedRequest(UseCase):
    async def execute(self, actor: Actor, operation: str, fields: Sequence[str]) -> None:
        """`operation`: the route refused (its method and path template); `fields`: the names of the values refused,
        never the values themselves (one may be a password)."""
        named = ", ".join(sorted(set(fields)))[:500] or "body"
        attempt = Attempt(self.deps, actor, ACTION, ("operation", operation))
        await attempt.refused(InvalidInput(named, "The request is not valid.").noting(fields=named))
