"""Issue 19: customers at scale over HTTP: search by name or id, the mapping filter, paging, one customer by id, and the
Customers page that finds and opens any customer (not only the first 500)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from domain.mapping import CompanyLookup, CompanyMapping
from domain.roles import Role
from domain.runs import Customer
from tests.http.conftest import AT, Client, HttpWorld, call
from tests.http.test_contract import problem
from tests.http.test_input_checks import sign_in

A, OP, R = Role.ADMIN, Role.OPERATOR, Role.REPORTER


def many_customers(world: HttpWorld, n: int = 600) -> None:
    """Customers m-0000 … m-0599 ("Member 0" …); every third one mapped, every seventh mapping cleared."""
    for i in range(n):
        cid = f"m-{i:04}"
        world.store.customers[cid] = Customer(cid, f"Member {i}")
        if i % 3 == 0:
            mapping = CompanyMapping.from_lookup(cid, CompanyLookup.found(5000 + i, f"Company {i}", is_active=True), AT)
            world.store.mappings[cid] = mapping.cleared() if i % 7 == 0 else mapping


async def ids(client: Client, world: HttpWorld, query: str, role: Role = R) -> list[str]:
    """Every id the list answers for `query`, following the cursor."""
    seen: list[str] = []
    url = f"/api/v1/customers?limit=200&{query}"
    while url:
        r = await call(client, world, role, "GET", url)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        seen += [c["id"] for c in body["items"]]
        url = f"/api/v1/customers?limit=200&{query}&cursor={body['next_cursor']}" if body["next_cursor"] else ""
    return seen


async def test_search_matches_name_or_id_case_insensitively(client: Client, world: HttpWorld) -> None:
    many_customers(world)
    assert await ids(client, world, "search=ACME") == ["c1"]
    assert await ids(client, world, "search=member%2059") == ["m-0059", *(f"m-{i:04}" for i in range(590, 600))]
    assert await ids(client, world, "search=M-051") == [f"m-{i:04}" for i in range(510, 520)]
    assert await ids(client, world, "search=%25") == []  # LIKE's wildcards are matched as themselves


@pytest.mark.parametrize(
    ("mapping", "expected"),
    [
        ("ok", [i for i in range(600) if i % 3 == 0 and i % 7 != 0]),
        ("missing", [i for i in range(600) if i % 21 == 0]),
        ("unmapped", [i for i in range(600) if i % 3 != 0 or i % 7 == 0]),
        ("invalid", []),
    ],
)
async def test_the_mapping_filter(client: Client, world: HttpWorld, mapping: str, expected: list[int]) -> None:
    many_customers(world)
    unmapped_seed = ["c1", "c2"] if mapping == "unmapped" else []
    assert await ids(client, world, f"mapping={mapping}") == [*unmapped_seed, *(f"m-{i:04}" for i in expected)]


async def test_the_filter_and_search_combine_and_page(client: Client, world: HttpWorld) -> None:
    many_customers(world)
    found = await ids(client, world, "mapping=unmapped&search=member%205")
    assert found == [f"m-{i:04}" for i in range(600) if str(i).startswith("5") and (i % 3 != 0 or i % 7 == 0)]


async def test_an_unknown_mapping_filter_is_400(client: Client, world: HttpWorld) -> None:
    r = await call(client, world, R, "GET", "/api/v1/customers?mapping=mapped")
    assert r.status_code == 400, r.text


async def test_get_one_customer_past_the_500th(client: Client, world: HttpWorld) -> None:
    many_customers(world)
    r = await call(client, world, R, "GET", "/api/v1/customers/m-0598")
    assert r.status_code == 200 and r.json() == {"id": "m-0598", "name": "Member 598", "autotask": None}
    body = (await call(client, world, R, "GET", "/api/v1/customers/m-0555")).json()
    assert body["autotask"]["company_id"] == 5555 and body["autotask"]["status"] == "ok"
    problem(await call(client, world, R, "GET", "/api/v1/customers/nobody"), 404, "customer_not_found")
    assert (await call(client, world, None, "GET", "/api/v1/customers/c1")).status_code == 401


async def test_the_customers_page_finds_filters_pages_and_opens_any_customer(client: Client, world: HttpWorld) -> None:
    many_customers(world)
    await sign_in(client, world, A)
    opened = await client.get("/customers/m-0597")
    assert opened.status_code == 200 and "Member 597" in opened.text  # was 404: the page scanned the first 500
    assert (await client.get("/customers/nobody")).status_code == 404
    first = await client.get("/customers")
    assert "602 customers" in first.text and "Next customers" in first.text and "m-0047" in first.text
    assert "m-0048" not in first.text
    found = await client.get("/customers", params={"search": "member 597"})
    assert "1 customer matches" in found.text and 'href="/customers/m-0597"' in found.text
    assert "Next customers" not in found.text
    unmapped = await client.get("/customers", params={"mapping": "unmapped", "search": "m-000"})
    assert "m-0001" in unmapped.text and "m-0003" not in unmapped.text and "m-0000" in unmapped.text


# --------------------------------------------------------------------------- suggestions
SUGGESTIONS = "/api/v1/autotask/mapping-suggestions"


async def test_suggestions_list_unmapped_customers_with_one_matching_company(client: Client, world: HttpWorld) -> None:
    world.store.customers["c3"] = Customer("c3", "Globex")
    world.store.customers["c4"] = Customer("c4", "Umbrella")
    world.psa.add_company(103, "Umbrella Ltd")
    world.psa.add_company(104, "UMBRELLA B.V.")
    r = await call(client, world, OP, "GET", SUGGESTIONS)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "items": [
            {
                "customer_id": "c1",
                "customer_name": "Acme",
                "company_id": 100,
                "company_name": "Acme BV",
                "match": "normalized",
            },
            {
                "customer_id": "c3",
                "customer_name": "Globex",
                "company_id": 101,
                "company_name": "Globex",
                "match": "exact",
            },
        ],
        "next_cursor": None,
    }
    first = (await call(client, world, OP, "GET", f"{SUGGESTIONS}?limit=1")).json()
    assert [s["customer_id"] for s in first["items"]] == ["c1"] and first["next_cursor"]
    rest = (await call(client, world, OP, "GET", f"{SUGGESTIONS}?limit=1&cursor={first['next_cursor']}")).json()
    assert [s["customer_id"] for s in rest["items"]] == ["c3"] and rest["next_cursor"] is None
    problem(await call(client, world, R, "GET", SUGGESTIONS), 403, "forbidden")
    world.configure(enabled=False)
    problem(await call(client, world, OP, "GET", SUGGESTIONS), 409, "integration_disabled")


async def test_accepting_suggestions_maps_them_and_says_which_were_refused(client: Client, world: HttpWorld) -> None:
    world.store.customers["c3"] = Customer("c3", "Globex")
    body = {"customer_ids": ["c1", "c2", "c3", "zz"]}
    r = await call(client, world, OP, "POST", f"{SUGGESTIONS}/accept", body)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "mapped": 2,
        "refused": [
            {"customer_id": "c2", "code": "no_suggestion"},
            {"customer_id": "zz", "code": "customer_not_found"},
        ],
    }
    c1 = (await call(client, world, R, "GET", "/api/v1/customers/c1")).json()
    assert c1["autotask"]["company_id"] == 100 and c1["autotask"]["status"] == "ok"
    again = (await call(client, world, OP, "POST", f"{SUGGESTIONS}/accept", {"customer_ids": ["c1"]})).json()
    assert again == {"mapped": 0, "refused": [{"customer_id": "c1", "code": "already_mapped"}]}
    audit = (await call(client, world, A, "GET", "/api/v1/audit?action=mapping.set")).json()["items"]
    assert {a["target_id"] for a in audit} == {"c1", "c3"}
    problem(await call(client, world, R, "POST", f"{SUGGESTIONS}/accept", body), 403, "forbidden")
    bodies: list[dict[str, object]] = [{"customer_ids": []}, {"customer_ids": ["x"] * 501}, {}, {"customer_ids": "c1"}]
    for bad in bodies:
        problem(await call(client, world, OP, "POST", f"{SUGGESTIONS}/accept", bad), 400, "invalid_input")


async def test_the_customers_page_suggests_and_accepts_ticked_suggestions(client: Client, world: HttpWorld) -> None:
    world.store.customers["c3"] = Customer("c3", "Globex")
    await sign_in(client, world, OP)
    shown = await client.get("/customers", params={"suggest": "1"})
    assert shown.status_code == 200 and 'value="c1"' in shown.text and 'value="c3"' in shown.text
    csrf = page_csrf_of(shown.text)
    r = await client.post(
        "/customers/mappings/accept", data={"_csrf": csrf, "customer_id": ["c1", "c2"]}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/customers?suggest=1"
    after = await client.get("/customers?suggest=1")
    assert "Mapped 1 customer." in after.text and "c2 (no suggestion)" in after.text
    assert world.store.mappings["c1"].company_id == 100 and "c3" not in world.store.mappings


def page_csrf_of(html: str) -> str:
    found = re.search(r'name="_csrf" value="([^"]+)"', html)
    assert found is not None
    return found[1]


# --------------------------------------------------------------------------- CSV
EXPORT, IMPORT = "/api/v1/autotask/mappings/export", "/api/v1/autotask/mappings/import"


async def send_csv(client: Client, world: HttpWorld, body: bytes | str, *, dry_run: bool, role: Role = OP) -> Any:
    raw = body.encode() if isinstance(body, str) else body
    headers = {**world.auth(role), "Content-Type": "text/csv"}
    return await client.post(f"{IMPORT}?dry_run={str(dry_run).lower()}", content=raw, headers=headers)


async def test_export_lists_every_customer_with_its_mapping(client: Client, world: HttpWorld) -> None:
    await call(client, world, OP, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100})
    world.store.customers["c3"] = Customer("c3", "=cmd|' /C calc'!A0, Inc.")
    r = await client.get(EXPORT, headers=world.auth(OP))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.text.splitlines() == [
        "customer_id,customer_name,company_id,company_name,status",
        "c1,Acme,100,Acme BV,ok",
        "c2,Initech,,,missing",
        "c3,\"'=cmd|' /C calc'!A0, Inc.\",,,missing",  # a spreadsheet reads the formula as text
    ]
    problem(await client.get(EXPORT, headers=world.auth(R)), 403, "forbidden")


async def test_import_dry_run_counts_and_changes_nothing_then_applies(client: Client, world: HttpWorld) -> None:
    await call(client, world, OP, "PUT", "/api/v1/customers/c1/autotask-mapping", {"company_id": 100})
    world.store.customers["c3"] = Customer("c3", "Globex")
    world.store.customers["c4"] = Customer("c4", "Unchanged")
    body = "\ufeffcustomer_id;company_id\r\nc1;\r\nc2;101\r\nc3;101\r\nc4;\r\n"
    r = await send_csv(client, world, body.encode("utf-8"), dry_run=True)
    assert r.status_code == 200, r.text
    assert r.json() == {"mapped": 2, "removed": 1, "unchanged": 1, "dry_run": True}
    assert world.store.mappings["c1"].company_id == 100 and "c2" not in world.store.mappings
    r = await send_csv(client, world, body.encode("utf-8"), dry_run=False)
    assert r.json() == {"mapped": 2, "removed": 1, "unchanged": 1, "dry_run": False}
    assert world.store.mappings["c1"].company_id is None and world.store.mappings["c2"].company_id == 101
    audit = (await call(client, world, A, "GET", "/api/v1/audit?order=asc&limit=500")).json()["items"]
    applied = [(a["action"], a["target_id"]) for a in audit if a["details"].get("via") == "import"]
    assert sorted(applied) == [("mapping.clear", "c1"), ("mapping.set", "c2"), ("mapping.set", "c3")]
    again = await send_csv(client, world, body, dry_run=False)
    assert again.json() == {"mapped": 0, "removed": 0, "unchanged": 4, "dry_run": False}
    exported = (await client.get(EXPORT, headers=world.auth(OP))).text
    assert (await send_csv(client, world, exported, dry_run=True)).json()["unchanged"] == 4  # the export imports back


async def test_a_file_with_a_bad_line_changes_nothing_and_names_each_line(client: Client, world: HttpWorld) -> None:
    world.store.customers["c3"] = Customer("c3", "Globex")
    body = "customer_id,company_id\nc1,100\nzz,101\nc2,999\nc3,102\nc1,101\nc4,abc\n"
    r = await send_csv(client, world, body, dry_run=False)
    found = problem(r, 422, "import_invalid")
    assert [(e["line"], e["customer_id"], e["code"]) for e in found["errors"]] == [
        (3, "zz", "customer_not_found"),
        (4, "c2", "company_not_found"),
        (5, "c3", "company_inactive"),
        (6, "c1", "duplicate_customer"),
        (7, "c4", "company_id_invalid"),
    ]
    assert all(e["message"] for e in found["errors"]) and world.store.mappings == {}
    assert (await send_csv(client, world, body, dry_run=True)).status_code == 422


async def test_a_file_that_is_not_text_is_400(client: Client, world: HttpWorld) -> None:
    problem(await send_csv(client, world, b"customer_id,company_id\n\xff\xfe,1\n", dry_run=True), 400, "invalid_input")


@pytest.mark.parametrize("body", [b"", b"name,company\nc1,100\n"], ids=["empty", "header"])
async def test_a_file_without_the_two_columns_is_refused_at_its_first_line(
    client: Client, world: HttpWorld, body: bytes
) -> None:
    refused = problem(await send_csv(client, world, body, dry_run=True), 422, "import_invalid")
    assert [(e["line"], e["code"]) for e in refused["errors"]] == [(1, "header_invalid")]


async def test_import_needs_the_mapping_role(client: Client, world: HttpWorld) -> None:
    r = await send_csv(client, world, "customer_id,company_id\nc1,100\n", dry_run=False, role=R)
    problem(r, 403, "forbidden")
    assert world.store.mappings == {}


async def test_the_customers_page_exports_and_imports_with_a_dry_run(client: Client, world: HttpWorld) -> None:
    await sign_in(client, world, OP)
    shown = await client.get("/customers")
    assert 'href="/customers/mappings/export"' in shown.text and 'action="/customers/mappings/import"' in shown.text
    exported = await client.get("/customers/mappings/export")
    assert exported.status_code == 200 and exported.text.startswith("customer_id,customer_name,company_id")
    csrf = page_csrf_of(shown.text)

    async def upload(body: bytes, mode: str) -> str:
        files = {"file": ("mappings.csv", body, "text/csv")}
        r = await client.post(
            "/customers/mappings/import", data={"_csrf": csrf, "mode": mode}, files=files, follow_redirects=False
        )
        assert r.status_code == 303, r.text
        return str((await client.get("/customers")).text)

    good = b"customer_id,company_id\nc1,100\nc2,101\n"
    assert "Dry run: the file would leave 2 mapped, 0 removed, 0 unchanged" in await upload(good, "preview")
    assert world.store.mappings == {}
    bad = b"customer_id,company_id\nc1,100\nnobody,101\n"
    assert "line 3 (nobody)" in await upload(bad, "apply") and world.store.mappings == {}
    assert "Imported: 2 mapped, 0 removed, 0 unchanged." in await upload(good, "apply")
    assert world.store.mappings["c2"].company_id == 101
