"""The Litestar ASGI app that answers like Autotask REST v1.0 for one `Simulator`."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

from litestar import Litestar, Request, Response, route
from litestar.enums import HttpMethod

from .query import QueryError, lower_keys, uses_operator
from .routing import Endpoint, lenient_json, resolve
from .simulator import ApiError, Fault, Simulator

PAGE_SIZE = 500
AUTH_REFUSED = "Unable to authenticate the API user: the UserName or Secret is not valid."
THREAD_LIMIT = (
    "Rejected: Thread Threshold Exceeded (Itgenatr005): the thread limit of {n} concurrent requests per "
    "object endpoint for this API integration code was exceeded. Retry later."
)
THREAD_THRESHOLD = (
    "API thread threshold of {n} threads has been exceeded for this integration code and the {entity} endpoint. "
    "Retry the request later."
)
MAINTENANCE_PAGE = (
    "<!DOCTYPE html><html><head><title>Autotask - Scheduled Maintenance</title></head><body>"
    "<h1>Autotask is currently undergoing scheduled maintenance</h1>"
    "<p>We apologize for the inconvenience. Please try again shortly.</p></body></html>"
)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(content=body, status_code=status, media_type="application/json", headers=headers)


def _errors(status: int, *errors: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return _json({"errors": list(errors)}, status, headers)


def _text(status: int, text: str) -> Response[Any]:
    return Response(content=text, status_code=status, media_type="text/plain")


def _not_allowed(method: str) -> Response[Any]:
    return _json({"Message": f"The requested resource does not support http method '{method}'."}, 405)


def url_encode(text: str) -> str:
    """A query-string value as .NET's `HttpUtility.UrlEncode` writes it: lower-case escapes, `+` for a space."""
    return re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote_plus(text, safe="-_.!*()"))


@dataclass(frozen=True)
class Paging:
    """Where a page starts: ids above `after`; `earlier` holds where the pages before it started (for prevPageUrl)."""

    size: int | None
    earlier: list[int]
    after: int

    def encode(self) -> str:
        data = {"pageSize": self.size, "previousIds": self.earlier, "nextIds": [self.after]}
        return url_encode(json.dumps(data, separators=(",", ":")))

    @classmethod
    def decode(cls, text: str | None) -> Paging:
        try:
            data = json.loads(text or "")
            size, earlier, [after] = data.get("pageSize"), data["previousIds"], data["nextIds"]
            if not all(isinstance(i, int) and not isinstance(i, bool) for i in [*earlier, after]):
                raise ValueError(data)
            if size is not None and (not isinstance(size, int) or isinstance(size, bool)):
                raise ValueError(size)
            return cls(size, list(earlier), after)
        except (ValueError, TypeError, KeyError, AttributeError):
            raise QueryError("The paging parameter is invalid.") from None


class RequestHandler:
    """One request being answered: the simulator, the endpoint, and the parsed body."""

    def __init__(self, sim: Simulator, endpoint: Endpoint, request: Request[Any, Any, Any], body: Any) -> None:
        self.sim, self.endpoint, self.request, self.body = sim, endpoint, request, body
        self.base = str(request.base_url).rstrip("/")
        self.action = endpoint.actions[request.method]

    def run(self) -> Response[Any]:
        try:
            return getattr(self, f"do_{self.action}")()  # type: ignore[no-any-return]
        except ApiError as exc:
            return _errors(exc.status, *exc.errors)
        except QueryError as exc:
            return _errors(500, str(exc))

    def _object(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise ApiError(500, "The request body must be a JSON object.")
        return self.body

    def do_threshold(self) -> Response[Any]:
        return _json(self.sim.threshold_information())

    def do_fields(self) -> Response[Any]:
        return _json(self.sim.schemas[self.endpoint.entity].answer())

    def do_info(self) -> Response[Any]:
        return _json(self.sim.entity_information(self.endpoint.entity))

    def do_udfs(self) -> Response[Any]:
        return _json(self.sim.udf_document(self.endpoint.entity))

    def do_get(self) -> Response[Any]:
        assert self.endpoint.item_id is not None
        record = self.sim.get(self.endpoint.entity, self.endpoint.item_id)
        if record is None and self.sim.null_items:
            return _json({"item": None})
        if record is None:
            return _errors(404, f"{self.endpoint.entity} with id {self.endpoint.item_id} was not found.")
        return _json({"item": record})

    def do_create(self) -> Response[Any]:
        return _json({"itemId": self.sim.create_ticket(self._object())})

    def do_update(self) -> Response[Any]:
        return _json({"itemId": self.sim.update_ticket(self._object(), replace=False)})

    def do_replace(self) -> Response[Any]:
        return _json({"itemId": self.sim.update_ticket(self._object(), replace=True)})

    def do_note(self) -> Response[Any]:
        assert self.endpoint.item_id is not None
        return _json({"itemId": self.sim.create_note(self.endpoint.item_id, self._object())})

    def do_count(self) -> Response[Any]:
        return _json({"queryCount": len(self.sim.query(self.endpoint.entity, lower_keys(self.body).get("filter")))})

    def do_query(self) -> Response[Any]:
        entity, query = self.endpoint.entity, lower_keys(self.body)
        items = self.sim.query(entity, query.get("filter"))
        paging = self._paging()
        size = query.get("maxrecords") or (paging.size if paging else None) or PAGE_SIZE
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= PAGE_SIZE:
            raise QueryError(f"MaxRecords must be between 1 and {PAGE_SIZE}.")
        earlier, after = (paging.earlier, paging.after) if paging else ([], -1)
        page = [i for i in items if i["id"] > after][:size]
        more = bool(page) and items[-1]["id"] > page[-1]["id"]
        following = Paging(size, [*earlier, after], page[-1]["id"]) if more else None
        details = {
            "count": len(page),
            "requestCount": size,
            "prevPageUrl": self._page_url("prev", Paging(size, earlier[:-1], earlier[-1])) if earlier else None,
            "nextPageUrl": self._page_url("next", following) if following else None,
        }
        return _json({"items": [self._select(query.get("includefields"), i) for i in page], "pageDetails": details})

    def _page_url(self, direction: str, paging: Paging) -> str:
        """Like Autotask's: `paging` is URL-encoded JSON (`{"pageSize","previousIds","nextIds"}`); a GET query's link
        carries its `search` too, so a GET of the link works."""
        url = f"{self.base}/ATServicesRest/V1.0/{self.endpoint.entity}/query/{direction}?paging={paging.encode()}"
        search = self.request.query_params.get("search")
        return url if search is None else f"{url}&search={url_encode(search)}"

    def _paging(self) -> Paging | None:
        if not self.endpoint.template.endswith(("/next", "/prev")):
            return None
        return Paging.decode(self.request.query_params.get("paging"))

    def _select(self, include: Any, record: dict[str, Any]) -> dict[str, Any]:
        if not include:
            return record
        if not isinstance(include, list):
            raise QueryError("IncludeFields must be a list of field names.")
        schema = self.sim.schemas[self.endpoint.entity]
        names = {"id"} | {spec["name"] for f in include if (spec := schema.field(str(f))) is not None}
        return {k: v for k, v in record.items() if k in names}


def _thread_refusal(sim: Simulator, entity: str, status: int) -> Response[Any]:
    n = sim.max_concurrent_per_endpoint or 3
    if status == 429:
        return _errors(429, THREAD_THRESHOLD.format(n=n, entity=entity))
    return _errors(500, THREAD_LIMIT.format(n=n))


async def _with_fault(
    sim: Simulator, fault: Fault | None, endpoint: Endpoint, method: str, run: Callable[[], Response[Any]]
) -> Response[Any]:
    if fault is None:
        return run()
    kind = fault.kind
    if kind in ("latency", "timeout"):
        await asyncio.sleep(fault.seconds)
        return run()
    if kind == "lost_answer":
        run()
        await asyncio.sleep(fault.seconds)
        return _text(504, "Gateway Timeout")
    if kind == "late_apply":
        sim.apply_later(fault.seconds, run)
        return _text(504, "Gateway Timeout")
    if kind == "server_error":
        return _text(503, "Service Unavailable")
    if kind == "throttle":
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        return _errors(429, "Too many requests: the request was throttled.", headers=headers)
    if kind == "thread_limit":
        return _thread_refusal(sim, endpoint.entity, fault.status or 500)
    if kind == "maintenance":
        if fault.applied:
            run()
        return Response(content=MAINTENANCE_PAGE, status_code=200, media_type="text/html")
    if kind == "patch_refused":
        return _not_allowed(method)
    if kind == "forbidden":
        return _errors(500, "User does not have adequate permissions to perform this action on this entity.")
    if kind == "null_item":
        answer = run()
        return _json({"item": None}) if answer.status_code == 404 else answer
    return _errors(500, "The 'in' operator is not supported in queries on this entity.")  # in_refused


def _zone(sim: Simulator, request: Request[Any, Any, Any]) -> Response[Any]:
    user = request.query_params.get("user") or ""
    if user.lower() != sim.username.lower():
        return _errors(500, "Zone information could not be determined")
    base = str(request.base_url).rstrip("/")
    return _json({"zoneName": sim.zone_name, "url": f"{base}/ATServicesRest/", "webUrl": f"{base}/", "ci": sim.ci})


def _refusal(sim: Simulator, request: Request[Any, Any, Any], endpoint: Endpoint) -> Response[Any] | None:
    """Authentication, the hourly request budget and the per-endpoint thread limit, in that order."""
    headers = request.headers
    if (headers.get("username") or "").lower() != sim.username.lower() or not sim.secret_matches(
        headers.get("secret") or ""
    ):
        sim.failed_logins += 1
        if sim.auth_failure_status == 500:
            return _errors(500, AUTH_REFUSED)
        return Response(content=b"", status_code=401)
    if headers.get("apiintegrationcode") != sim.integration_code:
        return _errors(500, "IntegrationCode is invalid.")
    wait = sim.admit()
    if wait is not None:
        return _errors(
            429,
            f"Request threshold of {sim.request_threshold} requests per "
            f"{sim.threshold_timeframe_minutes} minutes exceeded.",
            headers={"Retry-After": str(wait)},
        )
    limit, entity = sim.max_concurrent_per_endpoint, endpoint.entity
    sim.peak_in_flight[entity] = max(sim.peak_in_flight[entity], sim.in_flight[entity] + 1)
    if limit is not None and sim.in_flight[entity] >= limit:
        sim.thread_refusals[entity] += 1
        return _thread_refusal(sim, entity, sim.thread_limit_status)
    return None


async def _body(request: Request[Any, Any, Any], action: str) -> Any:
    if request.method == "GET":
        search = request.query_params.get("search")
        if action in ("query", "count") and search is None:
            raise ApiError(500, "A GET query needs the 'search' parameter.")
        return lenient_json(search) if search is not None else None
    raw = (await request.body()).decode("utf-8-sig", errors="replace")
    if not raw.strip() and action == "query" and request.query_params.get("search") is not None:
        return lenient_json(request.query_params["search"])  # a POST of a GET query's next page link
    return lenient_json(raw) if raw.strip() else {}


def _ticket_page(sim: Simulator, request: Request[Any, Any, Any]) -> Response[Any]:
    """What `webUrl + Autotask/AutotaskExtend/ExecuteCommand.aspx?Code=OpenTicketDetail&TicketID=N` shows a person."""
    ticket = (
        sim.get("Tickets", int(request.query_params.get("TicketID") or -1))
        if (request.query_params.get("TicketID") or "").isdigit()
        else None
    )
    if ticket is None:
        return Response(content="<h1>Ticket not found</h1>", status_code=404, media_type="text/html")
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(ticket[k]))}</td></tr>"
        for k in ("ticketNumber", "title", "status", "priority", "companyID", "description")
    )
    return Response(
        content=f"<h1>Simulated Autotask ticket</h1><table>{rows}</table>", status_code=200, media_type="text/html"
    )


def create_app(sim: Simulator) -> Litestar:
    """An ASGI app answering like Autotask REST v1.0 (zone discovery and API) for `sim`."""

    @route(
        ["/", "/{path:path}"],
        http_method=[HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.PATCH, HttpMethod.DELETE],
    )
    async def autotask(request: Request[Any, Any, Any]) -> Response[Any]:
        method, path = request.method, request.url.path
        sim.apply_due()
        endpoint = resolve(path)
        if endpoint is None:
            if path.lower() == "/autotask/autotaskextend/executecommand.aspx" and method == "GET":
                return _ticket_page(sim, request)
            sim.counts[f"{method} {path}"] += 1
            return _errors(404, f"No HTTP resource was found that matches the request URI '{path}'.")
        sim.counts[f"{method} {endpoint.template}"] += 1
        if method not in endpoint.actions or (
            method == "GET" and endpoint.template.endswith(("/next", "/prev")) and not sim.next_page_get
        ):
            return _not_allowed(method)
        if endpoint.entity == "zoneInformation":
            fault = sim.take_fault(endpoint.entity, method, False)
            return await _with_fault(sim, fault, endpoint, method, lambda: _zone(sim, request))
        refusal = _refusal(sim, request, endpoint)
        if refusal is not None:
            return refusal
        sim.in_flight[endpoint.entity] += 1
        try:
            try:
                body = await _body(request, endpoint.actions[method])
            except ApiError as exc:
                return _errors(exc.status, *exc.errors)
            except ValueError:
                return _errors(500, "The request body is not valid JSON.")
            query = lower_keys(body).get("filter") if isinstance(body, dict) else None
            fault = sim.take_fault(endpoint.entity, method, uses_operator(query, "in"))
            return await _with_fault(sim, fault, endpoint, method, RequestHandler(sim, endpoint, request, body).run)
        finally:
            sim.in_flight[endpoint.entity] -= 1

    # logging_config=None: the process that runs the simulator (the demo, a test) decides how it logs, one JSON format
    return Litestar(route_handlers=[autotask], debug=False, openapi_config=None, logging_config=None)
