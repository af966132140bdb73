"""The patterns and limits of the values both entrypoints read (the API's wire shapes and parameters, the pages'
forms): one-line and multi-line text, RFC 3339 times, Autotask picklist ids."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

SINGLE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
"""No control character (C0, DEL, C1): ids, names and every other one-line value (NUL cannot be stored everywhere)."""
MULTI_LINE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
"""Multi-line text (messages) keeps tab, line feed and carriage return."""
RFC3339 = r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$"
RUN_STATUSES = r"^ *(success|warning|error|missed)? *(, *(success|warning|error|missed)? *)*$"
"""The runs list's `status` filter: run statuses, comma-separated."""
PicklistId = Annotated[int, Meta(ge=0, le=2_147_483_647)]
