"""Every logger of a running process writes JSON lines (entrypoints/logs.py): ours, uvicorn's and Litestar's alike,
and a request's line carries neither its token nor its query string."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from entrypoints.logs import Event, JsonFormatter

BIN = Path(sys.executable).parent / "backupchecks"
TOKEN = "bearer-value-that-must-not-be-logged"
QUERY = "query-value-that-must-not-be-logged"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_and_call(data_dir: Path) -> list[dict[str, Any]]:
    """`backupchecks serve` on a free loopback port: /ready, then one refused call; every stderr line, parsed."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKUPCHECKS_")} | {
        "BACKUPCHECKS_DATA_DIR": str(data_dir)
    }
    process = subprocess.Popen(
        [str(BIN), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        refused = httpx.get(
            f"{base}/api/v1/runs",
            params={"customer_id": QUERY},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )
        assert refused.status_code == 401
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    return [json.loads(line) for line in stderr.splitlines() if line.strip()]


def test_a_serving_process_logs_json_lines_only(tmp_path: Path) -> None:
    lines = serve_and_call(tmp_path)  # json.loads above fails on any line that is not JSON
    assert all({"at", "level", "logger"} <= line.keys() for line in lines)
    assert any(line["logger"].startswith("uvicorn") for line in lines)
    request = next(line for line in lines if line.get("event") == "request" and line["route"] == "/api/v1/runs")
    assert request["status"] == 401 and request["method"] == "GET" and request["logger"] == "backupchecks.http"
    text = json.dumps(lines)
    assert TOKEN not in text and QUERY not in text


def test_the_demo_logs_json_lines_only_its_simulator_and_scheduler_included(tmp_path: Path) -> None:
    """The demo runs the Autotask simulator (a Litestar app of its own) in the same process: it once replaced the
    process's logging with Litestar's text lines (`INFO - … - observability - {json}`)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKUPCHECKS_")} | {
        "BACKUPCHECKS_DATA_DIR": str(tmp_path)
    }
    process = subprocess.Popen(
        [str(BIN), "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]  # fails on any line not JSON
    assert any(line.get("event") == "request" and line.get("route") == "/health" for line in lines)
    assert any(line["logger"] == "backupchecks.scheduler" for line in lines)


def test_an_event_is_fields_on_the_line_and_a_message_is_text() -> None:
    formatter = JsonFormatter()
    event = logging.LogRecord("backupchecks.http", logging.INFO, __file__, 1, Event("request", status=201), None, None)
    assert json.loads(event.getMessage()) == {"event": "request", "status": 201}
    line = json.loads(formatter.format(event))
    assert line["event"] == "request" and line["status"] == 201 and "message" not in line
    assert line["level"] == "info" and line["at"].endswith("Z")
    try:
        raise ValueError("what went wrong")
    except ValueError:
        failure = logging.LogRecord(
            "backupchecks.autotask", logging.ERROR, __file__, 1, "failed on %s", ("zone",), sys.exc_info()
        )
    line = json.loads(formatter.format(failure))
    assert line["message"] == "failed on zone" and "ValueError: what went wrong" in line["exception"]
