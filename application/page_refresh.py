"""A page view's background refresh, at most once per page and interval across every process and host sharing the
database (docs/adr/0027-page-views-refresh-in-the-background-at-most-once-per-interval.md): a JobStore lease named
for the page, taken only while it is due. The views between two refreshes cost one read of that lease and nothing
of Autotask; what the page shows stays as fresh as the scheduled jobs (status sync, mapping check) and this one
refresh per interval keep it."""

from __future__ import annotations

import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from application.errors import UseCaseError
from application.ports import Clock, JobStore

LOGGER = logging.getLogger("backupchecks.pages")
LEASE = timedelta(minutes=2)
"""How long a page refresh holds its lease: one that died is taken over after this."""
RUN_CHECKS, CUSTOMERS = "page.run_checks", "page.customers"
"""The pages' lease rows (job names the scheduler does not run)."""
_NOT_DUE: weakref.WeakKeyDictionary[JobStore, dict[str, datetime]] = weakref.WeakKeyDictionary()
"""Per job store, the time before which this process knows a page's refresh is not due (its lease's `next_run_at`,
as last read or written here): the views until then read no lease at all. A refresh elsewhere only moves that time
later, so a view after it reads the lease again and finds the newer time; none can make it earlier."""


async def at_most_every(
    jobs: JobStore | None, page: str, every: timedelta, clock: Clock, work: Callable[[], Awaitable[object]]
) -> bool:
    """Run `work` unless this page's refresh ran within `every` or runs now elsewhere (without `jobs`: always);
    True when it ran here. A refusal or failure of `work` is logged, not raised (no one waits for it: the page is
    already sent), and counts as a run, so an Autotask that is down is not asked again at every view."""
    if jobs is None:
        await _logged(page, work)
        return True
    now = clock.now()
    known = _NOT_DUE.setdefault(jobs, {})
    if page in known and known[page] > now:
        return False
    state = await jobs.get(page)
    if state is not None and state.next_run_at is not None and state.next_run_at > now:
        known[page] = state.next_run_at
    if state is not None and (state.held(now) or (state.next_run_at is not None and state.next_run_at > now)):
        return False
    lease = await jobs.take(page, f"page:{uuid.uuid4().hex[:12]}", now, now + LEASE, due=True)
    if lease is None:
        return False
    try:
        await _logged(page, work)
    finally:
        done = clock.now()
        await jobs.finish(lease, {"last_finished_at": done, "next_run_at": done + every})
        known[page] = done + every
    return True


async def _logged(page: str, work: Callable[[], Awaitable[object]]) -> None:
    try:
        await work()
    except UseCaseError as error:
        LOGGER.info("%s refresh skipped: %s", page, error.code, extra={"job": page})
