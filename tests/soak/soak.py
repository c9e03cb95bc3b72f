"""`make soak`: a bounded mixed load against a real hub, with faults, and what became of every
message. Not part of `make test`.

The script starts everything itself, on 127.0.0.1 only: a fake Rasa (an HTTP server that
answers each message, and that is stopped for a while mid-run, so the hub meets connection
refusals, and started again), and the hub (uvicorn in a subprocess, SQLite in a temporary
folder, the real knowledge base). Then, bounded in count and time:

- WIDGETS widget sockets and WEBCHATS socket.io (rasa-webchat) clients each send MESSAGES
  messages at a customer's pace;
- an agent logs in, lists conversations, takes over the handed-off ones and replies;
- a burst of bad frames (binary, 100,000-deep JSON, lone surrogates, NUL, not JSON, a frame
  flood past the per-socket limit) on a separate socket.

It prints messages sent, stored, answered or handed off, lost (sent but not stored: must be 0)
and errors, and exits non-zero when anything was lost or the hub answered 5xx.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import socketio
import websockets

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"  # every request of this script goes to this machine only
WIDGETS = 10
WEBCHATS = 6  # with the widgets, within the per-address burst of new conversations (20)
MESSAGES = 8
PACE = 0.4  # seconds between one customer's messages (under the 5/s per-socket limit)
DEADLINE = 240.0  # the whole run stops by then, whatever happens
QUESTIONS = [
    "How do I reset my password?",
    "How do I export my data?",
    "Can I invite a guest to a project?",
    "How do I add more seats to our subscription?",
    "What are your opening hours?",
    "I want to talk to a person",
    "Where is my invoice?",
    "thanks",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


# ---- A fake Rasa that can be taken down ---------------------------------------------------


class _RasaHandler(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._reply(b"Hello from Rasa: 3.6.21 (soak fake)", "text/plain")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
        text = str(body.get("message", ""))
        if "person" in text:
            replies: list[dict[str, Any]] = [
                {"text": "I'm bringing in a person."},
                {"custom": {"frontline": {"kind": "handoff", "reason": "customer_request"}}},
            ]
        else:
            replies = [{"text": f"(bot) You asked: {text[:60]}"}]
        self._reply(json.dumps(replies).encode(), "application/json")

    def _reply(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FakeRasa:
    """Up, down (the port refuses connections), up again: as a Rasa killed and restarted."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer((HOST, self.port), _RasaHandler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# ---- Tallies ------------------------------------------------------------------------------


@dataclass
class Tally:
    sent: int = 0
    rate_refused: int = 0
    error_frames: int = 0
    http_5xx: int = 0
    bad_frames_sent: int = 0
    socket_drops: int = 0
    notes: list[str] = field(default_factory=list)


# ---- Customers ------------------------------------------------------------------------------


async def widget_customer(url: str, n: int, tally: Tally) -> None:
    """Sends MESSAGES messages, each until acked (a `rate` refusal is sent again later)."""
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "hello", "token": None}))
        while json.loads(await ws.recv()).get("type") != "welcome":
            pass
        for i in range(MESSAGES):
            client_id = f"w{n}-{i}"
            frame = {"type": "message", "text": QUESTIONS[(n + i) % len(QUESTIONS)]}
            while True:
                await ws.send(json.dumps({**frame, "client_id": client_id}))
                tally.sent += 1 if not frame.get("_counted") else 0
                frame["_counted"] = True
                reply = await _until_answer(ws, client_id)
                if reply.get("type") == "ack":
                    break
                if reply.get("code") == "rate":
                    tally.rate_refused += 1
                    await asyncio.sleep(float(reply.get("retry_after", 1)))
                    continue
                tally.error_frames += 1
                tally.notes.append(f"widget {n}: {reply}")
                break
            await asyncio.sleep(PACE)


async def _until_answer(ws: Any, client_id: str) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 60))
        if frame.get("type") in ("ack", "error") and frame.get("client_id") == client_id:
            return dict(frame)


async def webchat_customer(base: str, n: int, tally: Tally) -> None:
    client = socketio.AsyncClient(reconnection=False)
    confirmed = asyncio.Event()
    client.on("session_confirm", lambda *_: confirmed.set())
    await client.connect(base, socketio_path="/socket.io", transports=["websocket"])
    try:
        await client.emit("session_request", {"session_id": None})
        await asyncio.wait_for(confirmed.wait(), 30)
        for i in range(MESSAGES):
            await client.emit("user_uttered", {"message": QUESTIONS[(n + 3 + i) % len(QUESTIONS)]})
            tally.sent += 1
            await asyncio.sleep(PACE)
        await asyncio.sleep(1.0)  # socket.io has no ack: let the last message land
    finally:
        await client.disconnect()


async def bad_frames(url: str, tally: Tally) -> None:
    """Frames that used to drop the socket or fail at the INSERT; the socket must stay open."""
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "hello", "token": None}))
        while json.loads(await ws.recv()).get("type") != "welcome":
            pass
        frames: list[str | bytes] = [
            b"\x00\xff",
            "[" * 20_000 + "]" * 20_000,
            "hello{",
            '{"type":"message","text":"sur\\ud800rogate","client_id":"b1"}',
            '{"type":"message","text":"nul\\u0000byte","client_id":"b2"}',
            '{"type":"message","text":"x","client_id":"b3","payload":'
            + "[" * 5000
            + "]" * 5000
            + "}",
        ]
        frames += [json.dumps({"type": "message", "text": f"flood {i}"}) for i in range(100)]
        for frame in frames:
            await ws.send(frame)
            tally.bad_frames_sent += 1
        await ws.send(json.dumps({"type": "ping"}))
        while True:
            frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if frame.get("type") == "pong":
                break
    # The two scrubbed messages (b1, b2) and the flood's admitted share are stored too, but
    # are not customers' questions: they are counted apart by conversation.


# ---- The agent --------------------------------------------------------------------------


async def agent(http: httpx.AsyncClient, stop: asyncio.Event, tally: Tally) -> None:
    login = await http.post(
        "/api/auth/login", json={"email": "agent@example.com", "password": "frontline"}
    )
    login.raise_for_status()
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    taken: set[int] = set()
    while not stop.is_set():
        response = await http.get("/api/conversations?state=queued&limit=100", headers=headers)
        tally.http_5xx += response.status_code >= 500
        for conversation in response.json().get("conversations", []):
            cid = conversation["id"]
            if cid in taken:
                continue
            taken.add(cid)
            for path, body in (
                (f"/api/conversations/{cid}/takeover", None),
                (f"/api/conversations/{cid}/messages", {"text": "Hi, Dana here."}),
            ):
                result = await http.post(path, json=body, headers=headers)
                tally.http_5xx += result.status_code >= 500
        await asyncio.sleep(1.0)


# ---- The run ----------------------------------------------------------------------------


def start_hub(var: Path, port: int, rasa_port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "FRONTLINE_VAR_DIR": str(var),
        "FRONTLINE_HOST": HOST,
        "FRONTLINE_PORT": str(port),
        "FRONTLINE_RASA_HOST": HOST,
        "FRONTLINE_RASA_PORT": str(rasa_port),
        "FRONTLINE_RASA_TIMEOUT": "5",
        "FRONTLINE_INDEX_DIR": str(ROOT / "var" / "index"),
        "FRONTLINE_CHANNELS_FILE": str(var / "channels.yml"),
    }
    code = (
        "import uvicorn; from api.app import create_app; from api.security import WS_MAX_SIZE;"
        f" uvicorn.run(create_app(), host={HOST!r}, port={port}, log_level='warning',"
        " ws_max_size=WS_MAX_SIZE)"
    )
    log = open(var / "hub.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=log, stderr=log)


def wait_for_hub(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("the hub exited during start-up; see its log")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("the hub did not start in time")


def outcome(url: str) -> tuple[int, int, int]:
    """(customer messages stored, of them answered by the bot or with people, conversations)."""
    login = httpx.post(
        f"{url}/api/auth/login", json={"email": "agent@example.com", "password": "frontline"}
    ).json()
    headers = {"Authorization": f"Bearer {login['token']}"}
    stored = answered = 0
    conversations = httpx.get(f"{url}/api/conversations?limit=1000", headers=headers).json()
    for summary in conversations["conversations"]:
        detail = httpx.get(f"{url}/api/conversations/{summary['id']}", headers=headers).json()
        messages = detail["messages"]
        if any(m["text"].startswith("flood ") for m in messages):
            continue  # the bad-frames socket's conversation
        with_people = detail["conversation"]["state"] in ("queued", "agent")
        for index, message in enumerate(messages):
            if message["role"] != "customer":
                continue
            stored += 1
            later = messages[index + 1 :]
            if with_people or any(m["role"] in ("bot", "system", "agent") for m in later):
                answered += 1
    return stored, answered, len(conversations["conversations"])


async def load(url: str, rasa: FakeRasa, tally: Tally) -> None:
    ws_url = url.replace("http://", "ws://") + "/ws/widget"
    stop = asyncio.Event()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        agent_task = asyncio.create_task(agent(http, stop, tally))
        customers = [widget_customer(ws_url, n, tally) for n in range(WIDGETS)]
        customers += [webchat_customer(url, n, tally) for n in range(WEBCHATS)]

        async def faults() -> None:
            await asyncio.sleep(1.5)
            rasa.stop()  # Rasa killed: the hub's calls are refused, conversations go to people
            tally.notes.append("fake Rasa down")
            await asyncio.sleep(4.0)
            rasa.start()
            tally.notes.append("fake Rasa up again")
            await bad_frames(ws_url, tally)

        results = await asyncio.gather(*customers, faults(), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                tally.socket_drops += 1
                tally.notes.append(f"client failed: {result!r}")
        await asyncio.sleep(3.0)  # the last answers
        stop.set()
        await agent_task


def main() -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="frontline-soak-") as tmp:
        var = Path(tmp)
        port, rasa_port = free_port(), free_port()
        rasa = FakeRasa(rasa_port)
        rasa.start()
        hub = start_hub(var, port, rasa_port)
        url = f"http://{HOST}:{port}"
        tally = Tally()
        try:
            wait_for_hub(url, hub)
            print(f"hub on {url}, fake Rasa on {HOST}:{rasa_port}; load starts", flush=True)
            asyncio.run(asyncio.wait_for(load(url, rasa, tally), DEADLINE))
            stored, answered, conversations = outcome(url)
        finally:
            hub.terminate()
            try:
                hub.wait(timeout=30)
            except subprocess.TimeoutExpired:
                hub.kill()
            rasa.stop()
        log = (var / "hub.log").read_text(errors="replace")
    crashes = log.count("Exception in ASGI application")
    lost = tally.sent - stored
    print(f"conversations:            {conversations}")
    print(f"messages sent:            {tally.sent}")
    print(f"stored:                   {stored}")
    print(f"answered or handed off:   {answered}")
    print(f"lost:                     {lost}")
    print(
        f"errors:                   {tally.error_frames} error frames, {tally.http_5xx} HTTP 5xx,"
        f" {crashes} ASGI exceptions, {tally.socket_drops} dropped clients"
    )
    print(f"rate-limited (re-sent):   {tally.rate_refused}")
    print(f"bad frames sent:          {tally.bad_frames_sent} (the socket stayed open)")
    for note in tally.notes[:20]:
        print(f"  - {note}")
    print(f"took {time.monotonic() - started:.0f} s")
    failed = lost != 0 or tally.http_5xx or crashes or tally.socket_drops
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
