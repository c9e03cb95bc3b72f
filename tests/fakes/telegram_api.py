"""A local fake of the Telegram Bot API, and a helper that delivers updates like Telegram.

The Telegram adapter is tested through real HTTP against this server, so its client, its
base-URL setting and its error handling (429 `retry_after`, 403 blocked, 400 chat not found,
401 bad token) are exercised without the internet. Answers have the Bot API's shape
(`{"ok": true, "result": ...}` / `{"ok": false, "error_code", "description", "parameters"}`),
see tests/fixtures/channels/telegram/README.md for the sources.

    with FakeTelegramApi(token=TOKEN) as fake:
        settings.api_base = fake.base_url      # calls go to {base_url}/bot{token}/sendMessage
        fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 3", retry_after=3)
        ...
        assert fake.wait_for_sent(1)[0].params["text"] == "Hello"
"""

from __future__ import annotations

import email.parser
import email.policy
import hmac
import itertools
import json
import re
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx

from tests.fakes._http import BackgroundHttpServer, Failures, Reply, Request

DEFAULT_TOKEN = "7000000001:AAF4k3T0k3nF0rFr0ntl1n3T3sts0123456"
BOT_USER: dict[str, Any] = {
    "id": 7000000001,
    "is_bot": True,
    "first_name": "Frontline Support",
    "username": "frontline_test_bot",
}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "channels" / "telegram"
MAX_TEXT_LENGTH = 4096

BLOCKED = "Forbidden: bot was blocked by the user"
CHAT_NOT_FOUND = "Bad Request: chat not found"

_PATH = re.compile(r"^/bot(?P<token>[^/]*)/(?P<method>[A-Za-z]+)$")
_JSON_PARAMS = frozenset({"reply_markup", "entities", "link_preview_options", "reply_parameters"})
_CHAT_METHODS = frozenset({"sendMessage", "sendChatAction", "editMessageReplyMarkup"})


@dataclass(frozen=True)
class Call:
    """One Bot API call as received: `status` is what the fake answered."""

    method: str
    params: dict[str, Any]
    time: float
    status: int
    token: str

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")


def load_update(name: str) -> dict[str, Any]:
    """A fixture from tests/fixtures/channels/telegram, by file name with or without .json."""
    path = FIXTURES / (name if name.endswith(".json") else f"{name}.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _error(status: int, description: str, retry_after: int | None = None) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    headers: dict[str, str] = {}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
        headers["Retry-After"] = str(retry_after)
    return Reply.json(status, body, headers)


def _ok(result: Any, description: str | None = None) -> Reply:
    body: dict[str, Any] = {"ok": True, "result": result}
    if description:
        body["description"] = description
    return Reply.json(200, body)


def _chat_key(chat_id: Any) -> int | str:
    if isinstance(chat_id, int):
        return chat_id
    text = str(chat_id)
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def _parse_params(request: Request) -> dict[str, Any]:
    """Bot API parameters from the query string and a JSON, urlencoded or multipart body.

    Form bodies carry objects (reply_markup, entities) as JSON strings, as
    python-telegram-bot and the Bot API documentation do; they are decoded here so a test
    sees the same dict whichever encoding the client chose.
    """
    params: dict[str, Any] = dict(parse_qsl(request.query, keep_blank_values=True))
    content_type = request.headers.get("content-type", "").lower()
    if request.body and content_type.startswith("application/json"):
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise ValueError("the JSON body is not an object")
        params.update(data)
    elif request.body and content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(request.body.decode(), keep_blank_values=True))
    elif request.body and content_type.startswith("multipart/form-data"):
        head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str):
                payload = part.get_payload(decode=True)
                params[name] = payload.decode() if isinstance(payload, bytes) else payload
    for name in _JSON_PARAMS & params.keys():
        if isinstance(params[name], str):
            params[name] = json.loads(params[name])
    if "chat_id" in params:
        params["chat_id"] = _chat_key(params["chat_id"])
    return params


class FakeTelegramApi(BackgroundHttpServer):
    """The Bot API methods a support bot uses, with recorded calls and scripted failures.

    `known_chats=None` (the default) treats every chat id as existing; pass ids to make any
    other chat answer 400 "Bad Request: chat not found".
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        known_chats: Iterable[int | str] | None = None,
        bot_user: Mapping[str, Any] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(self._handle, host, port)
        self.token = token
        self.bot_user: dict[str, Any] = dict(bot_user or BOT_USER)
        self._lock = threading.Condition()
        self._calls: list[Call] = []
        self._failures: Failures[Reply] = Failures()
        self._blocked: set[int | str] = set()
        self._known: set[int | str] | None = (
            None if known_chats is None else {_chat_key(c) for c in known_chats}
        )
        self._message_ids = itertools.count(1001)
        self._messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self.webhook: dict[str, Any] = {"url": "", "secret_token": None}

    # scripting

    def fail_next(
        self,
        method: str,
        status: int,
        description: str,
        retry_after: int | None = None,
        count: int = 1,
    ) -> None:
        """The next `count` calls of `method` answer this error instead of working."""
        with self._lock:
            self._failures.add(_error(status, description, retry_after), count, method)

    def block_chat(self, chat_id: int | str) -> None:
        """From now on every send to this chat answers 403 "bot was blocked by the user"."""
        with self._lock:
            self._blocked.add(_chat_key(chat_id))

    def unblock_chat(self, chat_id: int | str) -> None:
        with self._lock:
            self._blocked.discard(_chat_key(chat_id))

    def add_chat(self, chat_id: int | str) -> None:
        """Makes a chat known when the fake was built with `known_chats`."""
        with self._lock:
            if self._known is not None:
                self._known.add(_chat_key(chat_id))

    def reset(self) -> None:
        """Forgets calls, failures, blocks and the webhook; keeps token and known chats."""
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self._blocked.clear()
            self._messages.clear()
            self.webhook = {"url": "", "secret_token": None}

    # inspection

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def sent(self, chat_id: int | str | None = None) -> list[Call]:
        """Successful sendMessage calls, optionally to one chat, in arrival order."""
        with self._lock:
            return self._sent(None if chat_id is None else _chat_key(chat_id))

    def _sent(self, chat_id: int | str | None) -> list[Call]:
        return [
            c
            for c in self._calls
            if c.method == "sendMessage"
            and c.status == 200
            and (chat_id is None or c.chat_id == chat_id)
        ]

    def wait_for_sent(
        self, count: int, timeout: float = 5.0, chat_id: int | str | None = None
    ) -> list[Call]:
        """Blocks until `count` messages were sent (to `chat_id`); TimeoutError otherwise."""
        key = None if chat_id is None else _chat_key(chat_id)
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(sent := self._sent(key)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"{len(sent)} of {count} messages sent within {timeout}s; "
                        f"calls: {[(c.method, c.status) for c in self._calls]}"
                    )
                self._lock.wait(left)
            return sent

    # serving

    def _handle(self, request: Request) -> Reply:
        match = _PATH.match(request.path)
        if not match:
            return _error(404, "Not Found")
        token, method = match["token"], match["method"]
        try:
            params = _parse_params(request)
        except (ValueError, UnicodeDecodeError) as exc:
            params = {"_unparsed": request.body.decode(errors="replace")}
            reply = _error(400, f"Bad Request: can't parse request: {exc}")
            return self._record(method, params, reply, token)
        with self._lock:
            reply = self._answer(token, method, params)
            return self._record(method, params, reply, token)

    def _record(self, method: str, params: dict[str, Any], reply: Reply, token: str) -> Reply:
        with self._lock:
            self._calls.append(Call(method, params, time.time(), reply.status, token))
            self._lock.notify_all()
        return reply

    def _answer(self, token: str, method: str, params: dict[str, Any]) -> Reply:
        if not hmac.compare_digest(token.encode(), self.token.encode()):
            return _error(401, "Unauthorized")
        failure = self._failures.take(method)
        if failure is not None:
            return failure
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(404, "Not Found")
        if method in _CHAT_METHODS and "inline_message_id" not in params:
            if "chat_id" not in params:
                return _error(400, "Bad Request: chat_id is empty")
            chat_id = params["chat_id"]
            if self._known is not None and chat_id not in self._known:
                return _error(400, CHAT_NOT_FOUND)
            if chat_id in self._blocked:
                return _error(403, BLOCKED)
        reply: Reply = handler(params)
        return reply

    def _m_getMe(self, params: dict[str, Any]) -> Reply:
        return _ok(
            {
                **self.bot_user,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
        )

    def _m_setWebhook(self, params: dict[str, Any]) -> Reply:
        url = str(params.get("url", ""))
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            return _error(400, "Bad Request: secret token contains unallowed characters")
        if url and not url.startswith(("https://", "http://")):
            return _error(
                400,
                "Bad Request: bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443",
            )
        self.webhook = {
            "url": url,
            "secret_token": secret,
            "allowed_updates": params.get("allowed_updates"),
            "max_connections": params.get("max_connections", 40),
            "drop_pending_updates": params.get("drop_pending_updates"),
        }
        return _ok(True, "Webhook was set" if url else "Webhook was deleted")

    def _m_deleteWebhook(self, params: dict[str, Any]) -> Reply:
        was_set = bool(self.webhook.get("url"))
        self.webhook = {"url": "", "secret_token": None}
        return _ok(True, "Webhook was deleted" if was_set else "Webhook is already deleted")

    def _m_getWebhookInfo(self, params: dict[str, Any]) -> Reply:
        info: dict[str, Any] = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        if info["url"]:
            info["max_connections"] = self.webhook.get("max_connections", 40)
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return _ok(info)

    def _m_sendMessage(self, params: dict[str, Any]) -> Reply:
        text = params.get("text")
        if not text:
            return _error(400, "Bad Request: message text is empty")
        if len(str(text)) > MAX_TEXT_LENGTH:
            return _error(400, "Bad Request: message is too long")
        chat_id = params["chat_id"]
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "from": dict(self.bot_user),
            "chat": {"id": chat_id, "type": "private"},
            "date": int(time.time()),
            "text": str(text),
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[(chat_id, message["message_id"])] = message
        return _ok(message)

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> Reply:
        if not params.get("callback_query_id"):
            return _error(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        return _ok(True)

    def _m_sendChatAction(self, params: dict[str, Any]) -> Reply:
        if not params.get("action"):
            return _error(400, "Bad Request: wrong parameter action in request")
        return _ok(True)

    def _m_editMessageReplyMarkup(self, params: dict[str, Any]) -> Reply:
        if "inline_message_id" in params:
            return _ok(True)
        try:
            key = (params["chat_id"], int(params.get("message_id", 0)))
        except (TypeError, ValueError):
            return _error(400, "Bad Request: message identifier is not specified")
        message = self._messages.get(key)
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and markup.get("inline_keyboard"):
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        message["edit_date"] = int(time.time())
        return _ok(dict(message))


def post_update(
    hub_url: str,
    update: Mapping[str, Any],
    secret_token: str | None,
    *,
    path: str = "/channels/telegram",
    client: httpx.Client | None = None,
    timeout: float = 10.0,
) -> httpx.Response:
    """POSTs an update to the hub as Telegram's webhook delivery does.

    JSON body, `Content-Type: application/json` and, when a secret token was set with
    setWebhook, the `X-Telegram-Bot-Api-Secret-Token` header. Pass a FastAPI `TestClient`
    (an httpx.Client) as `client` with `hub_url=""` to stay in-process.
    """
    headers = {"Content-Type": "application/json"}
    if secret_token is not None:
        headers[SECRET_HEADER] = secret_token
    url = f"{hub_url.rstrip('/')}{path}"
    body = json.dumps(update).encode()
    if client is not None:
        return client.post(url, content=body, headers=headers)
    with httpx.Client(timeout=timeout) as own:
        return own.post(url, content=body, headers=headers)


_update_ids = itertools.count(900000001)
_user_message_ids = itertools.count(5001)


def text_update(
    text: str,
    *,
    chat_id: int = 1760450482,
    first_name: str = "Martin",
    update_id: int | None = None,
    message_id: int | None = None,
    language_code: str = "en",
) -> dict[str, Any]:
    """A private-chat `message` update, shaped like update_message_text.json."""
    user = {
        "id": chat_id,
        "is_bot": False,
        "first_name": first_name,
        "language_code": language_code,
    }
    message: dict[str, Any] = {
        "message_id": message_id if message_id is not None else next(_user_message_ids),
        "from": user,
        "chat": {"id": chat_id, "first_name": first_name, "type": "private"},
        "date": int(time.time()),
        "text": text,
    }
    if text.startswith("/"):
        command = text.split()[0]
        message["entities"] = [{"offset": 0, "length": len(command), "type": "bot_command"}]
    return {
        "update_id": update_id if update_id is not None else next(_update_ids),
        "message": message,
    }


def callback_update(
    data: str,
    *,
    chat_id: int = 1760450482,
    message_id: int = 1001,
    message_text: str = "Did this answer help?",
    update_id: int | None = None,
    query_id: str | None = None,
) -> dict[str, Any]:
    """A `callback_query` update (inline button press), shaped like update_callback_query.json."""
    uid = update_id if update_id is not None else next(_update_ids)
    return {
        "update_id": uid,
        "callback_query": {
            "id": query_id or str(7561166397386180000 + uid),
            "from": {"id": chat_id, "is_bot": False, "first_name": "Martin", "language_code": "en"},
            "message": {
                "message_id": message_id,
                "from": dict(BOT_USER),
                "chat": {"id": chat_id, "first_name": "Martin", "type": "private"},
                "date": int(time.time()) - 5,
                "text": message_text,
            },
            "chat_instance": "-3458721519372983201",
            "data": data,
        },
    }
