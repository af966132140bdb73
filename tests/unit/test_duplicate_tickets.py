"""The two-ticket check's cost (docs/adr/0034-late-applied-creates.md): only linked runs whose ticket came from a
retaken reservation are looked up, one `in` query per 400 of them; none at all in the usual case."""

from __future__ import annotations

from application.attempts import Attempt
from application.duplicate_tickets import report_duplicates
from application.psa_connection import connected
from domain.tickets import Ticket, TicketLink, TicketStatus
from tests.support import OPERATOR, T0, UseCaseWorld


def linked(n: int, *, retaken: bool) -> TicketLink:
    link = TicketLink.reserve(f"run-{n}", f"bc-test-{n}", "oscar", T0)
    link = link.retaken("oscar", T0) if retaken else link
    return link.linked(Ticket(7000 + n, f"T2026.{n}", None, TicketStatus(1, "New", T0)))


async def test_only_retaken_links_are_looked_up_in_batches_of_400() -> None:
    world = UseCaseWorld()
    await world.configure()
    _, gateway = await connected(world.deps)
    attempt = Attempt(world.deps, OPERATOR, "ticket.refresh", ("tickets", "*"))
    first_attempts = [linked(n, retaken=False) for n in range(1000)]
    assert await report_duplicates(attempt, gateway, first_attempts) == 0
    assert world.psa.total_calls == 0  # the usual case: no Autotask call at all
    retaken = [linked(n, retaken=True) for n in range(1000, 1450)]
    assert await report_duplicates(attempt, gateway, [*first_attempts, *retaken]) == 0
    assert world.psa.calls["tickets_by_external_ids"] == 2 == world.psa.total_calls  # 450 ids: 400 + 50
