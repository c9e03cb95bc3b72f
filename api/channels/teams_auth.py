"""Bot Framework authentication both ways: the connector's JWT on every inbound activity, and
our client-credentials token for replies.

Inbound (MicrosoftDocs/bot-docs, rest-api/bot-framework-rest-connector-authentication.md,
"Authenticate requests from the Bot Connector service to your bot"): the OpenID metadata
names `jwks_uri`; the token must be RS256-signed by one of those keys, issued by
https://api.botframework.com for audience = our app id, not expired (5 minutes of clock
skew), with a `serviceurl` claim equal to the activity's serviceUrl, and the key's
`endorsements` (when listed) must include the activity's channelId. Keys are cached and
refetched when a token names a key we do not know (Microsoft rotates them). PyJWT does the
signature and the standard claims.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from api.channels import http
from api.channels.base import Refused

ISSUER = "https://api.botframework.com"
SCOPE = "https://api.botframework.com/.default"
LEEWAY = 300  # seconds of clock skew the docs allow
KEYS_LIFETIME = 24 * 3600.0  # refetch daily (the docs: keys change about every 5 days)


@dataclass(frozen=True)
class _Key:
    key: Any  # what jwt.decode takes (an RSA public key)
    endorsements: tuple[str, ...]


class ConnectorKeys:
    """The OpenID metadata's signing keys by `kid`, cached; an unknown kid refetches them,
    at most once every `refetch_after` seconds (so forged kids cannot hammer Microsoft)."""

    def __init__(
        self,
        metadata_url: str,
        *,
        client: httpx.Client | None = None,
        refetch_after: float = 30.0,
        lifetime: float = KEYS_LIFETIME,
    ) -> None:
        self._metadata_url = metadata_url
        self._client = client or httpx.Client(timeout=10.0)
        self._refetch_after = refetch_after
        self._lifetime = lifetime
        self._keys: dict[str, _Key] = {}
        self._fetched = float("-inf")
        self._lock = threading.Lock()

    def get(self, kid: str) -> _Key | None:
        with self._lock:
            now = time.monotonic()
            stale = now - self._fetched > self._lifetime
            unknown = kid not in self._keys and now - self._fetched > self._refetch_after
            if stale or unknown:
                self._keys = self._fetch()
                self._fetched = now
            return self._keys.get(kid)

    def _fetch(self) -> dict[str, _Key]:
        try:
            metadata = self._client.get(self._metadata_url).raise_for_status().json()
            jwks = self._client.get(str(metadata["jwks_uri"])).raise_for_status().json()
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            if self._keys:  # keep the keys we had; the connector's next try may work
                return self._keys
            raise Refused(503, f"cannot fetch the Bot Framework keys: {error!r}") from None
        keys: dict[str, _Key] = {}
        for data in jwks.get("keys", []) if isinstance(jwks, dict) else []:
            if not isinstance(data, dict) or not data.get("kid"):
                continue
            try:
                public = jwt.PyJWK.from_dict(data, algorithm="RS256").key
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError):
                continue
            endorsements = tuple(str(e) for e in data.get("endorsements") or ())
            keys[str(data["kid"])] = _Key(public, endorsements)
        return keys

    def close(self) -> None:
        self._client.close()


def verify_activity(
    authorization: str,
    activity: Mapping[str, Any],
    *,
    app_id: str,
    keys: ConnectorKeys,
) -> dict[str, Any]:
    """The token's claims if the connector sent this activity; Refused(401/403) otherwise."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Refused(401, "missing Authorization: Bearer token")
    token = token.strip()
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise Refused(401, "the bearer token is not a JWT") from None
    if header.get("alg") != "RS256":
        raise Refused(401, f"token algorithm {header.get('alg')!r} is not RS256")
    key = keys.get(str(header.get("kid") or ""))
    if key is None:
        raise Refused(401, "the token's signing key is not one of the Bot Framework's")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=app_id,
            issuer=ISSUER,
            leeway=LEEWAY,
            options={"require": ["exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Refused(401, "the token expired") from None
    except jwt.InvalidAudienceError:
        raise Refused(401, "the token is for another bot (audience)") from None
    except jwt.InvalidIssuerError:
        raise Refused(401, "the token was not issued by the Bot Framework") from None
    except jwt.PyJWTError as error:
        raise Refused(401, f"token refused: {error}") from None
    channel_id = str(activity.get("channelId") or "")
    if key.endorsements and channel_id not in key.endorsements:
        raise Refused(403, f"the signing key is not endorsed for channel {channel_id!r}")
    claimed = claims.get("serviceurl", claims.get("serviceUrl"))
    if not claimed or claimed != activity.get("serviceUrl"):
        raise Refused(403, "the token's serviceurl claim is not the activity's serviceUrl")
    return claims


class BotToken:
    """Our access token for the connector (OAuth client credentials), cached until shortly
    before it expires; one fetch at a time."""

    def __init__(
        self, token_url: str, app_id: str, app_password: str, client: httpx.AsyncClient
    ) -> None:
        self._url = token_url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": app_password,
            "scope": SCOPE,
        }
        self._client = client
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires:
                response = await self._client.post(self._url, data=self._form)
                data = http.json_object(response)
                if response.status_code != 200 or not data.get("access_token"):
                    raise TokenError(
                        response.status_code,
                        str(data.get("error_description") or data.get("error") or response.text),
                    )
                self._token = str(data["access_token"])
                lifetime = float(data.get("expires_in") or 3600)
                self._expires = time.monotonic() + max(0.0, lifetime - 300)
            return self._token

    def forget(self) -> None:
        """After a 401 from the connector: fetch a new one next time."""
        self._token = None


class TokenError(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"token endpoint answered {status}: {reason}")
        self.status = status
