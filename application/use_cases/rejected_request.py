"""An API request refused before any use case ran, because a value failed the API's own checks (a control character,
a malformed or unknown field): audited like every other refusal, and folded like them (ADR 0008)."""

from __future__ import annotations

from collections.abc import Sequence

from application.errors import InvalidInput
from application.use_cases.common import UseCase, record_refusal
from domain.roles import Actor

ACTION = "request.invalid"


class RecordRejectedRequest(UseCase):
    async def execute(self, actor: Actor, operation: str, fields: Sequence[str]) -> None:
        """`operation`: the route refused (its method and path template); `fields`: the names of the values refused,
        never the values themselves (one may be a password)."""
        named = ", ".join(sorted(set(fields)))[:500] or "body"
        await record_refusal(self.deps, actor, ACTION, ("operation", operation),
                             InvalidInput(named, "The request is not valid."), fields=named)
