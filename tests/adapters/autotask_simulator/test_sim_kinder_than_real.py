"""Where the simulator used to be kinder than live tenants (public client libraries show the real answers): a missing
id answers `200 {"item": null}`, next-page links are URL-encoded JSON that a GET or a POST can follow, and a bad
credential can answer `500` as well as `401`. Over real HTTP."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapters.autotask_simulator import Simulator

from .conftest import API


def paging_of(url: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(parse_qs(urlsplit(url).query)["paging"][0])
    return data


async def test_a_missing_id_answers_200_with_a_null_item_by_default(live: httpx.AsyncClient, sim: Simulator) -> None:
    for path in ("Tickets/999999", "Companies/424242", "TicketNotes/1", "TimeEntries/1"):
        response = await live.get(f"{API}/{path}")
        assert (response.status_code, response.json()) == (200, {"item": None}), path
    sim.null_items = False  # the switch back to the documented 404
    response = await live.get(f"{API}/Tickets/999999")
    assert (response.status_code, response.json()) == (404, {"errors": ["Tickets with id 999999 was not found."]})


async def test_next_page_links_are_url_encoded_json_as_autotask_writes_them(live: httpx.AsyncClient) -> None:
    body = {"filter": [{"op": "exist", "field": "id"}], "maxRecords": 3}
    first = (await live.post(f"{API}/Companies/query", json=body)).json()
    root = f"{live.base_url}".rstrip("/") + f"{API}/Companies/query"
    assert first["pageDetails"] == {
        "count": 3,
        "requestCount": 3,
        "prevPageUrl": None,
        "nextPageUrl": f"{root}/next?paging=%7b%22pageSize%22%3a3%2c%22previousIds%22%3a%5b-1%5d%2c%22nextIds%22"
        "%3a%5b101%5d%7d",
    }
    second = (await live.post(first["pageDetails"]["nextPageUrl"], json=body)).json()
    assert [i["id"] for i in second["items"]] == [102, 103, 104]
    assert paging_of(second["pageDetails"]["nextPageUrl"]) == {
        "pageSize": 3,
        "previousIds": [-1, 101],
        "nextIds": [104],
    }
    assert paging_of(second["pageDetails"]["prevPageUrl"]) == {"pageSize": 3, "previousIds": [], "nextIds": [-1]}
    third = (await live.post(second["pageDetails"]["nextPageUrl"], json=body)).json()
    assert [i["id"] for i in third["items"]] == [105] and third["pageDetails"]["nextPageUrl"] is None
    back = (await live.post(third["pageDetails"]["prevPageUrl"], json=body)).json()
    assert [i["id"] for i in back["items"]] == [102, 103, 104]


async def test_a_get_query_link_carries_its_search_and_a_get_or_a_post_follows_it(
    live: httpx.AsyncClient, sim: Simulator
) -> None:
    for n in range(1, 8):
        sim.add_company(1000 + n, f"Customer {n}")
    search = "{'filter':[{'op':'beginsWith','field':'companyName','value':'Customer'}],'maxRecords':3}"
    first = (await live.get(f"{API}/Companies/query", params={"search": search})).json()
    next_url = first["pageDetails"]["nextPageUrl"]
    assert "&search=%7b%27filter%27%3a%5b%7b%27op%27%3a%27beginsWith%27%2c" in next_url  # lower-case escapes
    assert parse_qs(urlsplit(next_url).query)["search"] == [search]  # the original, as the client sent it
    by_get = (await live.get(next_url)).json()
    by_post = (await live.post(next_url, content="")).json()  # no body: the link's search is the query
    by_post_body = (await live.post(next_url, json=json.loads(search.replace("'", '"')))).json()
    assert [i["id"] for i in by_get["items"]] == [1004, 1005, 1006]
    assert by_get == by_post == by_post_body
    last = (await live.get(by_get["pageDetails"]["nextPageUrl"])).json()
    assert [i["id"] for i in last["items"]] == [1007] and last["pageDetails"]["nextPageUrl"] is None
    assert sim.counts["GET Companies/query/next"] == 2 and sim.counts["POST Companies/query/next"] == 2


async def test_a_get_of_a_post_query_link_needs_the_search_and_can_be_switched_to_405(
    live: httpx.AsyncClient, sim: Simulator
) -> None:
    body = {"filter": [{"op": "exist", "field": "id"}], "maxRecords": 1}
    next_url = (await live.post(f"{API}/Companies/query", json=body)).json()["pageDetails"]["nextPageUrl"]
    response = await live.get(next_url)
    assert (response.status_code, response.json()) == (500, {"errors": ["A GET query needs the 'search' parameter."]})
    sim.next_page_get = False  # the README's tenant: POST the same body, a GET answers 405
    response = await live.get(next_url)
    assert response.status_code == 405
    assert response.json() == {"Message": "The requested resource does not support http method 'GET'."}
    assert (await live.post(next_url, json=body)).status_code == 200


@pytest.mark.parametrize("paging", ["", "x", '{"nextIds":[]}', '{"previousIds":[],"nextIds":["a"]}', "%7b"])
async def test_a_broken_paging_parameter_is_refused(live: httpx.AsyncClient, paging: str) -> None:
    body = {"filter": [{"op": "exist", "field": "id"}]}
    response = await live.post(f"{API}/Companies/query/next", params={"paging": paging}, json=body)
    assert (response.status_code, response.json()) == (500, {"errors": ["The paging parameter is invalid."]})


async def test_a_bad_credential_answers_401_or_500_as_switched(live: httpx.AsyncClient, sim: Simulator) -> None:
    wrong = [{"Secret": "wrong"}, {"UserName": "nobody@example.com"}, {"Secret": ""}]
    for headers in wrong:
        response = await live.get(f"{API}/Companies/100", headers=headers)
        assert (response.status_code, response.content) == (401, b"")
    sim.auth_failure_status = 500
    for headers in wrong:
        response = await live.get(f"{API}/Companies/100", headers=headers)
        assert (response.status_code, response.json()) == (
            500,
            {"errors": ["Unable to authenticate the API user: the UserName or Secret is not valid."]},
        )
    assert (await live.get(f"{API}/Companies/100")).status_code == 200
    with pytest.raises(ValueError, match="401 or 500"):
        Simulator(auth_failure_status=403)
