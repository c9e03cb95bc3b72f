"""A local fake of the Bot Framework: the OpenID metadata and keys the connector signs with,
the token endpoint the bot gets its own token from, and the connector's REST API.

- `GET /v1/.well-known/openidconfiguration` → `{"issuer", "jwks_uri", ...}`
- `GET /v1/.well-known/keys` → a JWKS of an RSA key the fake makes (`cryptography`), with
  `endorsements: ["msteams"]`; `rotate_key()` makes a new one (the old one is gone).
- `POST /botframework.com/oauth2/v2.0/token` (client credentials) → an access token.
- `POST {serviceUrl}v3/conversations/{id}/activities` (serviceUrl = `{base_url}/amer/`)
  with that token → `{"id": ...}`, recorded; scripted failures and gone conversations (404).

`issue(activity, **claims)` makes the JWT the connector would send with an activity;
`post_activity` sends it to the hub. Sources: tests/fixtures/channels/teams/README.md.
"""

from __future__ import annotations

import hmac
import itertools
import json
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes._http import BackgroundHttpServer, Reply, Request

APP_ID = "c9e8c047-2a74-40a2-b28a-b162d5f5327c"
APP_PASSWORD = "fake~app~password~0123456789"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
ISSUER = "https://api.botframework.com"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "channels" / "teams"
_PREFIX = "/amer/v3/conversations/"


def load_activity(name: str) -> dict[str, Any]:
    path = FIXTURES / (name if name.endswith(".json") else f"{name}.json")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Posted:
    """One activity POSTed to the connector: `status` is what the fake answered."""

    conversation_id: str
    activity: dict[str, Any]
    status: int

    @property
    def text(self) -> str:
        return str(self.activity.get("text") or "")


class FakeBotFramework(BackgroundHttpServer):
    def __init__(self, app_id: str = APP_ID, app_password: str = APP_PASSWORD) -> None:
        super().__init__(self._handle)
        self.app_id = app_id
        self.app_password = app_password
        self._lock = threading.Condition()
        self._posted: list[Posted] = []
        self._failures: list[Reply] = []
        self._gone: set[str] = set()
        self._tokens: set[str] = set()
        self.token_requests: list[dict[str, str]] = []
        self.key_fetches = 0
        self._ids = itertools.count(1)
        self.rotate_key()

    # keys and tokens

    def rotate_key(self) -> None:
        """A new signing key with a new kid; the old one is no longer published."""
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = f"kid-{secrets.token_hex(6)}"

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key()))
        public.update({"kid": self.kid, "use": "sig", "endorsements": ["msteams"]})
        return {"keys": [public]}

    @property
    def openid_url(self) -> str:
        return f"{self.base_url}/v1/.well-known/openidconfiguration"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/botframework.com/oauth2/v2.0/token"

    @property
    def service_url(self) -> str:
        return f"{self.base_url}/amer/"

    def issue(
        self,
        activity: Mapping[str, Any] | None = None,
        *,
        key: Any = None,
        kid: str | None = None,
        **claims: Any,
    ) -> str:
        """The connector's JWT for `activity`; `claims` override iss, aud, exp, serviceurl."""
        now = int(time.time())
        body: dict[str, Any] = {
            "serviceurl": (activity or {}).get("serviceUrl", self.service_url),
            "nbf": now - 5,
            "exp": now + 3600,
            "iss": ISSUER,
            "aud": self.app_id,
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(
            body, key or self.private_key, algorithm="RS256", headers={"kid": kid or self.kid}
        )

    # scripting

    def fail_next(self, reply: Reply, count: int = 1) -> None:
        with self._lock:
            self._failures.extend([reply] * count)

    def remove_bot(self, conversation_id: str) -> None:
        """The bot was removed: posts to this conversation answer 404 ConversationNotFound."""
        with self._lock:
            self._gone.add(conversation_id)

    # inspection

    @property
    def calls(self) -> list[Posted]:
        with self._lock:
            return list(self._posted)

    def posted(self, conversation_id: str | None = None) -> list[Posted]:
        return [
            p
            for p in self.calls
            if p.status < 300 and (conversation_id is None or p.conversation_id == conversation_id)
        ]

    # serving

    def _handle(self, request: Request) -> Reply:
        if request.path == "/v1/.well-known/openidconfiguration":
            return Reply.json(
                200,
                {
                    "issuer": ISSUER,
                    "authorization_endpoint": "https://invalid.botframework.com",
                    "jwks_uri": f"{self.base_url}/v1/.well-known/keys",
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                },
            )
        if request.path == "/v1/.well-known/keys":
            with self._lock:
                self.key_fetches += 1
            return Reply.json(200, self.jwks())
        if request.path == "/botframework.com/oauth2/v2.0/token" and request.method == "POST":
            return self._token(dict(parse_qsl(request.body.decode())))
        if request.path.startswith(_PREFIX) and request.path.endswith("/activities"):
            return self._post(request)
        return Reply.json(404, {"error": {"code": "NotFound", "message": request.path}})

    def _token(self, form: dict[str, str]) -> Reply:
        self.token_requests.append(form)
        good = (
            form.get("grant_type") == "client_credentials"
            and form.get("client_id") == self.app_id
            and hmac.compare_digest(form.get("client_secret", ""), self.app_password)
            and form.get("scope") == "https://api.botframework.com/.default"
        )
        if not good:
            return Reply.json(
                401, {"error": "invalid_client", "error_description": "AADSTS7000215"}
            )
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
        return Reply.json(
            200,
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token,
            },
        )

    def _post(self, request: Request) -> Reply:
        conversation_id = unquote(request.path[len(_PREFIX) : -len("/activities")])
        try:
            activity = json.loads(request.body)
        except ValueError:
            activity = {}
        reply = self._answer(request, conversation_id, activity)
        with self._lock:
            self._posted.append(Posted(conversation_id, activity, reply.status))
            self._lock.notify_all()
        return reply

    def _answer(self, request: Request, conversation_id: str, activity: Any) -> Reply:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        with self._lock:
            if token not in self._tokens:
                return Reply.json(401, {"message": "Authorization has been denied"})
            if self._failures:
                return self._failures.pop(0)
            gone = conversation_id in self._gone
        if gone:
            return Reply.json(
                404,
                {"error": {"code": "ConversationNotFound", "message": "Conversation not found."}},
            )
        if not isinstance(activity, dict) or activity.get("type") != "message":
            return Reply.json(400, {"error": {"code": "BadArgument", "message": "Activity"}})
        return Reply.json(201, {"id": f"1:{next(self._ids)}"})


def message_activity(
    text: str,
    conversation_id: str,
    service_url: str,
    *,
    user: str = "Megan Bowen",
    activity_id: str | None = None,
    value: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A personal-chat message activity, shaped like activity_message_personal.json."""
    activity = load_activity("activity_message_personal")
    activity.update(
        id=activity_id or str(int(time.time() * 1000) + secrets.randbelow(1000)),
        text=text,
        serviceUrl=service_url,
        timestamp=time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
    )
    activity["conversation"] = {**activity["conversation"], "id": conversation_id}
    activity["from"] = {**activity["from"], "name": user, "id": f"29:{conversation_id}"}
    activity["from"]["aadObjectId"] = f"aad-{conversation_id}"
    if value is not None:
        activity["value"] = dict(value)
    return activity


def post_activity(
    hub_url: str, activity: Mapping[str, Any], token: str | None, *, path: str = "/channels/teams"
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(
        f"{hub_url.rstrip('/')}{path}", content=json.dumps(activity), headers=headers, timeout=10
    )
