"""Changed tickets: one paged query by our externalID prefix and Autotask's tracked modification time, its answer
checked here too (an operator Autotask ignored answers unfiltered)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx
import respx

from .conftest import API, RecordingConnector, creds
from .test_operations import body, page, ticket

SINCE = datetime(2026, 1, 15, 2, 10, 30, 750_000, tzinfo=UTC)
CET = timezone(timedelta(hours=1))
PREFIX = "bc-1a2b3c4d-"


def changed(ticket_id: int, at: str | None, external_id: str | None = "") -> dict[str, object]:
    """A ticket as a query answers it (`external_id` "": ours)."""
    ours = f"{PREFIX}{ticket_id}" if external_id == "" else external_id
    return ticket(ticket_id, externalID=ours, lastTrackedModificationDateTime=at)


async def test_one_query_by_prefix_and_modification_time_in_utc_whole_seconds(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    route = router.post(API + "Tickets/query").respond(200, json=page([changed(7001, "2026-01-15T02:11:00.25Z")]))
    found = await connector.connect(creds()).changed_tickets(PREFIX, SINCE.astimezone(CET))
    assert [(f.ticket_id, f.external_id, f.status) for f in found] == [(7001, f"{PREFIX}7001", 1)]
    assert body(route)["filter"] == [
        {"op": "beginsWith", "field": "externalID", "value": PREFIX},
        {"op": "gt", "field": "lastTrackedModificationDateTime", "value": "2026-01-15T02:10:30Z"},
    ]
    assert route.call_count == 1


async def test_an_answer_that_ignored_the_filter_is_filtered_here(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    router.post(API + "Tickets/query").respond(
        200,
        json=page(
            [
                changed(1, "2026-01-15T02:11:00Z"),  # ours, changed: kept
                changed(2, "2026-01-15T02:11:00Z", "bc-99999999-run"),  # another installation's: dropped
                changed(3, "2026-01-15T02:11:00Z", None),  # no externalID: dropped
                changed(4, "2026-01-15T02:00:00Z"),  # ours, unchanged since: dropped
                changed(5, "2026-01-15T02:10:30.5"),  # in the second asked for, no offset (UTC): kept
                changed(6, None),  # no modification time: kept (read rather than lose a change)
                changed(7, "2026-01-15T02:11:00Z", PREFIX.upper() + "7"),  # Autotask compares without case: kept
            ]
        ),
    )
    found = await connector.connect(creds()).changed_tickets(PREFIX, SINCE)
    assert [f.ticket_id for f in found] == [1, 5, 6, 7]


async def test_every_page_of_the_changes_is_read_and_nothing_changed_is_one_call(
    router: respx.MockRouter, zone: respx.Route, connector: RecordingConnector
) -> None:
    next_url = API + "Tickets/query/next?paging=abc"
    first = router.post(API + "Tickets/query").mock(
        side_effect=[
            httpx.Response(200, json=page([changed(i, "2026-01-15T03:00:00Z") for i in range(1, 501)], next_url)),
            httpx.Response(200, json=page([])),
        ]
    )
    second = router.post(next_url).respond(200, json=page([changed(501, "2026-01-15T03:00:00Z")]))
    gateway = connector.connect(creds())
    assert len(await gateway.changed_tickets(PREFIX, SINCE)) == 501
    assert body(second) == body(first, 0) and (first.call_count, second.call_count) == (1, 1)
    assert await gateway.changed_tickets(PREFIX, SINCE + timedelta(hours=1)) == []
    assert first.call_count == 2
