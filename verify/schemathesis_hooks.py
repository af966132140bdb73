"""Schemathesis hooks for `verify/test_schema_all_roles.py` (loaded through SCHEMATHESIS_HOOKS):
- the cursor formats of the OpenAPI document, taught as the server makes them (a cursor of the right keyset);
- the users whose tokens drive the runs are never deleted (the admin's own user above all);
- `positive_data_acceptance` with one exception: an opaque cursor the server never gave is refused."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance

from entrypoints.shared.pagination import CURSOR_FORMAT, encode_cursor

PROTECTED_USER_ENV = "BACKUPCHECKS_VERIFY_PROTECTED_USER"
names = st.text(min_size=1, max_size=64)
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))

schemathesis.openapi.format(f"{CURSOR_FORMAT}-name", names.map(encode_cursor))
schemathesis.openapi.format(f"{CURSOR_FORMAT}-run", st.tuples(moments, names).map(lambda k: encode_cursor(*k)))
schemathesis.openapi.format(f"{CURSOR_FORMAT}-seq", st.integers(0, 2**62).map(encode_cursor))
schemathesis.openapi.format(f"{CURSOR_FORMAT}-company", st.integers(0, 2**31).map(encode_cursor))


def protected() -> set[str]:
    return set(filter(None, os.environ.get(PROTECTED_USER_ENV, "").split(",")))


@schemathesis.hook
def filter_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> bool:
    return (path_parameters or {}).get("user_id") not in protected()


@schemathesis.check
def positive_data_acceptance_but_cursors(ctx: Any, response: Any, case: Any) -> bool | None:
    """The built-in `positive_data_acceptance`, except for a 400 that names only `cursor`: a cursor is opaque (only
    the server's own `next_cursor` is valid), which no pattern can say; the fuzzer's own cursors come from the formats
    above, but the coverage phase also sends pattern-shaped strings such as `0`."""
    if response.status_code == 400:
        try:
            fields = {e.get("field") for e in response.json().get("errors", [])}
        except ValueError:
            fields = set()
        if fields == {"cursor"}:
            return True
    return positive_data_acceptance(ctx, response, case)


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """The stateful phase takes ids from earlier answers (`GET /users`), past the filter above: a protected user's id
    is swapped for one that names nobody, so the call is still made (and answers 404)."""
    parameters = case.path_parameters or {}
    if parameters.get("user_id") in protected():
        parameters["user_id"] = "nobody-" + parameters["user_id"]
