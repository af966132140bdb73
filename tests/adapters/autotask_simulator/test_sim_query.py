"""Queries: operators, groups, case-insensitive fields, includeFields, counts, and paging through POSTed nextPageUrl."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from adapters.autotask_simulator import Simulator

from .conftest import API, create_ticket


async def ids(client: httpx.AsyncClient, entity: str, *conditions: dict[str, Any]) -> list[int]:
    response = await client.post(f"{API}/{entity}/query", json={"filter": list(conditions)})
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"op": "eq", "field": "id", "value": 101}, [101]),
        ({"op": "eq", "field": "companyName", "value": "acme corporation"}, [100]),
        ({"op": "noteq", "field": "isActive", "value": True}, [104]),
        ({"op": "gt", "field": "id", "value": 103}, [104, 105]),
        ({"op": "gte", "field": "id", "value": "103"}, [103, 104, 105]),
        ({"op": "lt", "field": "id", "value": 101}, [0, 100]),
        ({"op": "lte", "field": "id", "value": 101}, [0, 100, 101]),
        ({"op": "beginsWith", "field": "CompanyName", "value": "glob"}, [101]),
        ({"op": "endsWith", "field": "COMPANYNAME", "value": "LTD"}, [102]),
        ({"op": "contains", "field": "companyname", "value": "ent"}, [105]),
        ({"op": "exist", "field": "id"}, [0, 100, 101, 102, 103, 104, 105]),
        ({"op": "in", "field": "id", "value": [100, 105, 999]}, [100, 105]),
        ({"op": "notIn", "field": "id", "value": [0, 100, 101, 102]}, [103, 104, 105]),
        (
            {
                "op": "or",
                "items": [
                    {"op": "eq", "field": "id", "value": 100},
                    {
                        "op": "and",
                        "items": [
                            {"op": "gt", "field": "id", "value": 103},
                            {"op": "eq", "field": "isActive", "value": "true"},
                        ],
                    },
                ],
            },
            [100, 105],
        ),
    ],
)
async def test_company_filters(client: httpx.AsyncClient, condition: dict[str, Any], expected: list[int]) -> None:
    assert await ids(client, "Companies", condition) == expected


async def test_top_level_conditions_are_and_ed_and_not_exist_finds_nulls(client: httpx.AsyncClient) -> None:
    first = await create_ticket(client, companyID=100, title="a", externalID="bc-1")
    second = await create_ticket(client, companyID=101, title="b")
    assert await ids(client, "Tickets", {"op": "notExist", "field": "externalID"}) == [second]
    assert await ids(
        client,
        "Tickets",
        {"op": "eq", "field": "ExternalID", "value": "BC-1"},
        {"op": "noteq", "field": "status", "value": 5},
    ) == [first]
    assert (
        await ids(
            client,
            "Tickets",
            {"op": "eq", "field": "externalID", "value": "bc-1"},
            {"op": "eq", "field": "companyID", "value": 101},
        )
        == []
    )
    assert await ids(client, "Tickets", {"op": "gte", "field": "createDate", "value": "2000-01-01T00:00:00Z"}) == [
        first,
        second,
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"filter": [{"op": "eq", "field": "nope", "value": 1}]},
            "Unable to find field 'nope' in the Companies entity.",
        ),
        ({"filter": []}, "A query needs a filter with at least one condition."),
        ({}, "A query needs a filter with at least one condition."),
        ({"filter": [{"op": "in", "field": "id", "value": 1}]}, "The 'in' operator needs a list value for field 'id'."),
        (
            {"filter": [{"op": "eq", "field": "id", "value": "x"}]},
            "Unable to convert value 'x' of field 'id' to type long.",
        ),
        ({"filter": [{"op": "exist", "field": "id"}], "maxRecords": 501}, "MaxRecords must be between 1 and 500."),
    ],
)
async def test_bad_queries_are_500_with_errors(client: httpx.AsyncClient, body: dict[str, Any], message: str) -> None:
    response = await client.post(f"{API}/Companies/query", json=body)
    assert response.status_code == 500 and response.json() == {"errors": [message]}


async def test_include_fields_and_pascal_case_query_keys(client: httpx.AsyncClient) -> None:
    body = {"IncludeFields": ["CompanyName"], "Filter": [{"Op": "eq", "Field": "id", "Value": 100}]}
    items = (await client.post(f"{API}/Companies/query", json=body)).json()["items"]
    assert items == [{"id": 100, "companyName": "Acme Corporation"}]


async def test_get_query_with_search_parameter(client: httpx.AsyncClient) -> None:
    search = '{"filter":[{"op":"eq","field":"CompanyName","value":"Wayne Enterprises"}]}'
    response = await client.get(f"{API}/Companies/query", params={"search": search})
    assert [i["id"] for i in response.json()["items"]] == [105]
    count = await client.get(f"{API}/Companies/query/count", params={"search": search})
    assert count.json() == {"queryCount": 1}


async def test_paging_follows_posted_next_page_urls(sim: Simulator, client: httpx.AsyncClient) -> None:
    for n in range(1, 1203):
        sim.add_company(1000 + n, f"Customer {n:04d}", active=n % 7 != 0)
    body = {"filter": [{"op": "beginsWith", "field": "companyName", "value": "Customer"}]}
    expected = sorted(c for c in sim.companies if c > 1000)
    count = (await client.post(f"{API}/Companies/query/count", json=body)).json()
    assert count == {"queryCount": len(expected)} == {"queryCount": 1202}
    seen: list[int] = []
    pages: list[dict[str, Any]] = []
    url: str | None = f"http://sim.test{API}/Companies/query"
    while url:
        page = (await client.post(url, json=body)).json()
        pages.append(page["pageDetails"])
        seen += [item["id"] for item in page["items"]]
        url = page["pageDetails"]["nextPageUrl"]
    assert seen == expected
    assert [(p["count"], p["requestCount"]) for p in pages] == [(500, 500), (500, 500), (202, 500)]
    assert pages[0]["prevPageUrl"] is None and pages[1]["prevPageUrl"] and pages[2]["nextPageUrl"] is None
    back = (await client.post(pages[2]["prevPageUrl"], json=body)).json()
    assert [i["id"] for i in back["items"]] == expected[500:1000]
    assert sim.counts["POST Companies/query/next"] == 2 and sim.counts["POST Companies/query"] == 1


async def test_max_records_sets_the_page_size(client: httpx.AsyncClient) -> None:
    body = {"filter": [{"op": "exist", "field": "id"}], "maxRecords": 3}
    first = (await client.post(f"{API}/Companies/query", json=body)).json()
    assert [i["id"] for i in first["items"]] == [0, 100, 101] and first["pageDetails"]["requestCount"] == 3
    second = (await client.post(first["pageDetails"]["nextPageUrl"], json=body)).json()
    assert [i["id"] for i in second["items"]] == [102, 103, 104]


async def test_ticket_notes_query_at_the_root(client: httpx.AsyncClient, sim: Simulator) -> None:
    ticket = await create_ticket(client, title="a")
    note = {"description": "n", "noteType": 1, "publish": 2}
    note_id = (await client.post(f"{API}/Tickets/{ticket}/Notes", json=note)).json()["itemId"]
    assert await ids(
        client,
        "TicketNotes",
        {"op": "eq", "field": "ticketID", "value": ticket},
        {"op": "eq", "field": "publish", "value": 2},
    ) == [note_id]
