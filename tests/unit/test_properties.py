"""Hypothesis properties: the draft's limits hold for any input, and the policy allows exactly one situation."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.draft import (
    DESCRIPTION_MAX,
    EXTERNAL_ID_MAX,
    TITLE_MAX,
    TITLE_PREFIX,
    build_ticket_draft,
    external_id,
    ticket_description,
)
from domain.mapping import CompanyLookup, CompanyMapping
from domain.runs import Customer, ObjectStatus, Run, RunObject, RunStatus
from domain.settings import AutotaskSettings
from domain.tickets import LinkState, Ticket, TicketLink, TicketStatus, decide_resolve

text = st.text(min_size=0, max_size=400)
names = st.text(min_size=1, max_size=400)
objects = st.builds(
    RunObject,
    name=names,
    status=st.sampled_from(ObjectStatus),
    type=st.none() | st.text(max_size=30),
    message=st.none() | st.text(max_size=2500),
)
runs = st.builds(
    Run,
    id=st.text(min_size=1, max_size=64),
    customer_id=st.just("c1"),
    job_name=names,
    backup_software=text,
    backup_type=text,
    run_at=st.datetimes(timezones=st.just(UTC)),
    status=st.sampled_from([RunStatus.WARNING, RunStatus.ERROR, RunStatus.MISSED]),
    objects=st.lists(objects, max_size=400).map(tuple),
    messages=st.lists(st.text(max_size=3000), max_size=60).map(tuple),
)
MAPPING = CompanyMapping.from_lookup(
    "c1", CompanyLookup.found(100, "Acme", is_active=True), datetime(2026, 1, 1, tzinfo=UTC)
)


@settings(max_examples=150, deadline=None)
@given(run=runs, customer=names, installation=st.text(min_size=1, max_size=64), base=st.none() | st.text(max_size=300))
def test_draft_respects_autotask_limits(run: Run, customer: str, installation: str, base: str | None) -> None:
    s = AutotaskSettings(installation_id=installation, backupchecks_base_url=base)
    draft = build_ticket_draft(run, Customer("c1", customer), MAPPING, s, datetime(2026, 1, 15, tzinfo=UTC))
    assert len(draft.title) <= TITLE_MAX
    assert draft.title.startswith(TITLE_PREFIX) and draft.title.endswith(" - " + run.status.label)
    assert len(draft.description) <= DESCRIPTION_MAX
    assert len(draft.external_id) <= EXTERNAL_ID_MAX
    lines = draft.description.splitlines()
    assert lines[-1].startswith("Reference: ")
    # Every object is either listed or counted in the "more objects" line: nothing silently dropped.
    if run.objects:
        start = lines.index(f"Affected objects ({len(run.objects)}):") + 1
        end = lines.index("", start)
        listed = sum(1 for line in lines[start:end] if line.startswith("- "))
        more = next((int(line.split()[1]) for line in lines if line.endswith(" more objects")), 0)
        assert listed + more == len(run.objects)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=0, max_value=3000), length=st.integers(min_value=1, max_value=1200))
def test_description_keeps_as_many_whole_lines_as_fit(n: int, length: int) -> None:
    run = Run(
        "r",
        "c",
        "J",
        "S",
        "T",
        datetime(2026, 1, 1, tzinfo=UTC),
        RunStatus.ERROR,
        tuple(RunObject("o" * length, ObjectStatus.ERROR) for _ in range(n)),
    )
    text_ = ticket_description(run, Customer("c", "C"), None)
    assert len(text_) <= DESCRIPTION_MAX
    shown = sum(1 for line in text_.splitlines() if line.startswith("- "))
    if shown < n:  # one more line would not have fitted
        assert len(text_) + len(run.objects[0].name) + len("- : error") + 1 > DESCRIPTION_MAX - 40


@given(a=st.text(max_size=64), b=st.text(max_size=64), c=st.text(max_size=64))
def test_external_ids_are_short_and_stable(a: str, b: str, c: str) -> None:
    assert len(external_id(a, b)) <= EXTERNAL_ID_MAX and external_id(a, b) == external_id(a, b)
    if b != c:
        assert external_id(a, b) != external_id(a, c)


T = datetime(2026, 1, 1, tzinfo=UTC)
links = st.one_of(
    st.none(),
    st.builds(
        lambda state, status, entries: (
            replace(
                TicketLink.reserve("r", "e", "o", T).linked(Ticket(1, "T1", None, TicketStatus(status, "s", T))),
                state=state,
                time_entries=entries,
            )
            if state is not LinkState.PENDING
            else TicketLink.reserve("r", "e", "o", T)
        ),
        st.sampled_from(LinkState),
        st.sampled_from([1, 5, 7, 8]),
        st.integers(min_value=0, max_value=5),
    ),
)


@given(link=links, may=st.booleans(), allow=st.booleans())
def test_policy_allows_only_an_open_ticket_without_time_entries(
    link: TicketLink | None, may: bool, allow: bool
) -> None:
    decision = decide_resolve(link, may_resolve=may, allow_resolve=allow)
    should = (
        may
        and allow
        and link is not None
        and link.state is LinkState.LINKED
        and link.status is not None
        and link.status.value != 5
        and link.time_entries == 0
    )
    assert decision.allowed == should
    assert (decision.reason is None) == decision.allowed
    if link is not None and link.time_entries > 0:
        assert not decision.allowed
