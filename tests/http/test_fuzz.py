"""No input a client can send gets a 5xx other than the contract's 502/503, and every error is a problem document.

Two bounded, derandomized fuzzers against the app in process (memory store, fake PSA):
- schemathesis, driven by the app's own `/schema/openapi.json`, valid and invalid inputs for every operation, as admin;
- a raw one for what the schema cannot describe: crafted cursors, extreme times, unicode/empty/long path ids,
  arbitrary bytes and media types as bodies, and malformed `Authorization` headers.
Set BACKUPCHECKS_FUZZ_EXAMPLES to search longer (e.g. 200) when hunting."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from litestar.testing import TestClient
from schemathesis import GenerationMode

from domain.roles import Role
from entrypoints.asgi import create_app
from tests.http.conftest import NO_DELAY, HttpWorld, make_world

EXAMPLES = int(os.environ.get("BACKUPCHECKS_FUZZ_EXAMPLES", "12"))
UPSTREAM = {502: "autotask_rejected", 503: "autotask_unavailable"}
PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def seeded_world() -> HttpWorld:
    world = make_world(Path("/nonexistent"))  # the memory store and the overridden secret box never touch disk
    world.seed()
    world.configure()
    return world


def assert_no_server_error(status: int, content_type: str, text: str, where: str) -> None:
    where = f"{where} -> {status}: {text[:300]}"
    assert status < 500 or status in UPSTREAM, where
    if status >= 400:
        assert content_type.startswith("application/problem+json"), where
        body = json.loads(text)
        assert set(body) >= PROBLEM_KEYS and body["status"] == status, where
        assert status not in UPSTREAM or body["code"] == UPSTREAM[status], where


# --------------------------------------------------------------------------------------------------- schemathesis

WORLD = seeded_world()
schema = schemathesis.openapi.from_asgi("/schema/openapi.json", create_app(WORLD.container, throttle=NO_DELAY))
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=EXAMPLES,
    no_shrink=True,
    with_security_parameters=False,
)


@schema.parametrize()
@FUZZ
def test_schema_driven_inputs_never_get_a_server_error(case: Any) -> None:
    response = case.call(headers=WORLD.auth(Role.ADMIN))
    content_type = (response.headers.get("content-type") or [""])[0]
    assert_no_server_error(response.status_code, content_type, response.text, f"{case.method} {case.formatted_path}")


# ------------------------------------------------------------------------------------------------------------ raw

PAGE = ["limit", "cursor"]
LISTS = {  # each list endpoint with its query parameters
    "/api/v1/customers": PAGE,
    "/api/v1/users": PAGE,
    "/api/v1/runs": [*PAGE, "since", "until", "status", "has_ticket", "customer_id"],
    "/api/v1/audit": [*PAGE, "since", "until", "outcome", "actor", "run_id"],
    "/api/v1/audit/export": ["format", "since", "cursor", "limit"],
    "/api/v1/autotask/companies": ["search", *PAGE],
    "/api/v1/runs/r-err/autotask-ticket": ["refresh"],
    "/api/v1/settings/autotask/picklists": ["refresh"],
}
WRITES = [
    "PUT /api/v1/customers/c9",
    "PUT /api/v1/runs/r9",
    "PUT /api/v1/customers/c1/autotask-mapping",
    "POST /api/v1/autotask/tickets/refresh",
    "PUT /api/v1/settings/autotask",
    "POST /api/v1/settings/autotask/test-ticket",
    "POST /api/v1/users",
]
FIELDS = [
    "name",
    "customer_id",
    "job_name",
    "backup_software",
    "backup_type",
    "run_at",
    "status",
    "objects",
    "messages",
    "company_id",
    "run_ids",
    "api_password",
    "environment",
    "default_queue_id",
    "ticket_udfs",
    "work_type_id",
    "username",
    "role",
    "password",
]
PATHS = [
    "/api/v1/customers/{}",
    "/api/v1/runs/{}",
    "/api/v1/runs/{}/autotask-ticket",
    "/api/v1/runs/{}/autotask-ticket/resolve",
    "/api/v1/runs/{}/autotask-ticket/draft",
    "/api/v1/customers/{}/autotask-mapping",
    "/api/v1/customers/{}/autotask-mapping/refresh",
    "/api/v1/users/{}",
]

scalars = (
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | st.floats() | st.text(max_size=20)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
times = st.datetimes(timezones=st.none() | st.timezones()).map(lambda t: t.isoformat()) | st.sampled_from(
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-23:59", "2026-01-15T02:10:00", "2026-01-15T02:10:00Z"]
)
cursors = st.lists(
    times | st.text(max_size=12) | st.integers(min_value=-(2**70), max_value=2**70) | st.booleans(),
    min_size=1,
    max_size=2,
).map(lambda keys: base64.urlsafe_b64encode(json.dumps(keys).encode()).decode().rstrip("="))
query_values = st.one_of(
    st.text(max_size=30),
    times,
    times,
    cursors,
    cursors,
    st.integers().map(str),
    st.sampled_from(["0", "501", "true", "error,warning", "csv", "", "1e9", "%"]),
)
not_utf8 = st.binary(min_size=1, max_size=8).filter(lambda b: not _is_utf8(b))
bodies = st.one_of(
    st.binary(max_size=100),
    st.dictionaries(st.sampled_from(FIELDS), json_values | times, max_size=8).map(lambda d: json.dumps(d).encode()),
    st.tuples(st.sampled_from(FIELDS), not_utf8).map(lambda f: b'{"%s": "' % f[0].encode() + f[1] + b'"}'),
)
media_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json",
        "application/merge-patch+json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ]
)
auth_headers = st.one_of(
    st.binary(max_size=300).map(lambda b: b"Bearer " + b.replace(b"\r", b"").replace(b"\n", b"")),
    st.binary(max_size=40).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.sampled_from([b"Bearer", b"Bearer ", b"Basic YWRtaW46YWRtaW4=", b"Bearer " + b"x" * 5000, b"bearer \xff"]),
)
RAW = settings(FUZZ, max_examples=EXAMPLES * 25)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


class Raw:
    """Sends one request as the bytes given, and checks the answer."""

    def __init__(self, client: TestClient[Litestar], world: HttpWorld) -> None:
        self.client, self.admin = client, world.auth(Role.ADMIN)["Authorization"].encode()

    def send(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, str] | None = None,
        body: bytes | None = None,
        media_type: str | None = None,
        auth: bytes | None = None,
    ) -> int:
        headers = [(b"authorization", self.admin if auth is None else auth)]
        if media_type:
            headers.append((b"content-type", media_type.encode()))
        url = f"{path}?{urlencode(query)}" if query else path
        response = self.client.request(method, url, content=body, headers=headers)
        assert_no_server_error(
            response.status_code,
            response.headers.get("content-type", ""),
            response.text,
            f"{method} {url} {body!r:.120} {media_type} {auth!r:.40}",
        )
        return response.status_code


@pytest.fixture
def raw() -> Iterator[Raw]:
    world = seeded_world()
    with TestClient(create_app(world.container, throttle=NO_DELAY)) as client:
        yield Raw(client, world)


def test_queries_cursors_and_times_never_get_a_server_error(raw: Raw) -> None:
    @RAW
    @given(
        st.sampled_from(sorted(LISTS)).flatmap(
            lambda path: st.tuples(
                st.just(path), st.dictionaries(st.sampled_from(LISTS[path]), query_values, max_size=3)
            )
        )
    )
    def check(request: tuple[str, dict[str, str]]) -> None:
        raw.send("GET", request[0], query=request[1])

    check()


def test_bodies_and_media_types_never_get_a_server_error(raw: Raw) -> None:
    @RAW
    @given(route=st.sampled_from(WRITES), body=bodies, media_type=media_types)
    def check(route: str, body: bytes, media_type: str | None) -> None:
        method, path = route.split(" ")
        raw.send(method, path, body=body, media_type=media_type)

    check()


def test_path_ids_and_authorization_headers_never_get_a_server_error(raw: Raw) -> None:
    @RAW
    @given(
        template=st.sampled_from(PATHS),
        path_id=st.text(max_size=80) | st.sampled_from(["", " ", "..", "x" * 65]),
        method=st.sampled_from(["GET", "PUT", "POST", "DELETE"]),
        auth=st.none() | auth_headers,
    )
    def check(template: str, path_id: str, method: str, auth: bytes | None) -> None:
        status = raw.send(method, template.format(quote(path_id, safe="")), auth=auth)
        assert auth is None or status in (401, 404, 405), (auth, status)

    check()
