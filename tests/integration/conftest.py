"""One real Rasa server (trained model cached by the training data's hash) and one real hub,
shared by every integration test of the session."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from api import rasa_process
from api.settings import Settings
from retrieval.encoder import open_encoder
from retrieval.search import build_index, model_for_sources
from tests.fakes.graph_api import FakeGraphApi
from tests.fakes.line_api import FakeLineApi
from tests.fakes.paths import ROOT
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.stack import HubServer, Stack, agent_socket, free_port
from tests.fakes.teams_api import TENANT_ID, FakeBotFramework
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.twilio_api import PUBLIC_URL as TWILIO_PUBLIC_URL
from tests.fakes.twilio_api import FakeTwilioApi
from tests.fakes.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration
CHROMIUM = Path("/usr/bin/chromium")  # Debian's; `make test` installs it when missing
# Chromium's own background traffic is refused on a closed network; these keep it quiet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


TELEGRAM_SECRET = "integration-secret-token"
WEBHOOK_SECRET = "whsec_" + "ZnJvbnRsaW5lLWludGVncmF0aW9uLXdlYmhvb2stMzI="
SLACK_SIGNING_SECRET = "integration-slack-signing-secret"
LINE_CHANNEL_SECRET = "integration-line-channel-secret"


@pytest.fixture(scope="session")
def fake_telegram() -> Iterator[FakeTelegramApi]:
    """The Telegram Bot API the shared hub talks to (its channels.yml points here)."""
    with FakeTelegramApi() as fake:
        yield fake


META_SECRET = "integration-meta-app-secret"
META_TOKENS = {"whatsapp": "wa-token", "messenger": "page-token", "instagram": "ig-token"}


@pytest.fixture(scope="session")
def fake_graph() -> Iterator[FakeGraphApi]:
    """Meta's Graph API send paths (WhatsApp, Messenger, Instagram) for the shared hub."""
    with FakeGraphApi(META_TOKENS) as fake:
        yield fake


@pytest.fixture(scope="session")
def webhook_receiver() -> Iterator[WebhookReceiver]:
    """Where the shared hub's signed webhook channel POSTs its callbacks."""
    with WebhookReceiver(WEBHOOK_SECRET) as receiver:
        yield receiver


@pytest.fixture(scope="session")
def fake_slack() -> Iterator[FakeSlackApi]:
    """Slack's Web API for the shared hub (channels.yml `slack.api_base`)."""
    with FakeSlackApi() as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_twilio() -> Iterator[FakeTwilioApi]:
    """Twilio's Messages API for the shared hub (tests/fakes/twilio_api.py)."""
    with FakeTwilioApi() as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_line() -> Iterator[FakeLineApi]:
    """LINE's Messaging API for the shared hub (channels.yml `line.api_base`)."""
    with FakeLineApi() as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_teams() -> Iterator[FakeBotFramework]:
    """The Bot Framework's keys, token endpoint and connector (tests/fakes/teams_api.py)."""
    with FakeBotFramework() as fake:
        yield fake


@pytest.fixture(scope="session")
def stack(
    tmp_path_factory: pytest.TempPathFactory,
    fake_telegram: FakeTelegramApi,
    webhook_receiver: WebhookReceiver,
    fake_slack: FakeSlackApi,
    fake_line: FakeLineApi,
    fake_graph: FakeGraphApi,
    fake_twilio: FakeTwilioApi,
    fake_teams: FakeBotFramework,
) -> Iterator[Stack]:
    var = tmp_path_factory.mktemp("var")
    channels = var / "channels.yml"
    channels.write_text(
        "telegram:\n"
        f'  bot_token: "{fake_telegram.token}"\n'
        f'  secret_token: "{TELEGRAM_SECRET}"\n'
        f'  api_base: "{fake_telegram.base_url}"\n'
        "webhook:\n"
        f'  secret: "{WEBHOOK_SECRET}"\n'
        f'  callback_url: "{webhook_receiver.url}"\n'
        "slack:\n"
        f'  signing_secret: "{SLACK_SIGNING_SECRET}"\n'
        f'  bot_token: "{fake_slack.token}"\n'
        f'  api_base: "{fake_slack.api_base}"\n'
        "line:\n"
        f'  channel_secret: "{LINE_CHANNEL_SECRET}"\n'
        f'  channel_access_token: "{fake_line.token}"\n'
        f'  api_base: "{fake_line.base_url}"\n'
        # Meta channels (tests/integration/test_meta_channels.py)
        "whatsapp:\n"
        f'  {{app_secret: "{META_SECRET}", verify_token: "wa-verify", access_token: wa-token,'
        f' phone_number_id: "1122334455667", api_base: "{fake_graph.base_url}/v21.0",'
        " template: {name: reopen_chat, language: en_US}}\n"
        f'messenger: {{app_secret: "{META_SECRET}", verify_token: "fb-verify",'
        f' page_access_token: page-token, api_base: "{fake_graph.base_url}/v21.0"}}\n'
        f'instagram: {{app_secret: "{META_SECRET}", verify_token: "ig-verify",'
        f' access_token: ig-token, api_base: "{fake_graph.base_url}/v21.0"}}\n'
        "twilio:\n"
        f'  account_sid: "{fake_twilio.account_sid}"\n'
        f'  auth_token: "{fake_twilio.auth_token}"\n'
        '  from: "+15557654321"\n'
        f'  public_url: "{TWILIO_PUBLIC_URL}"\n'
        f'  api_base: "{fake_twilio.base_url}"\n'
        "teams:\n"
        f'  app_id: "{fake_teams.app_id}"\n'
        f'  app_password: "{fake_teams.app_password}"\n'
        f'  tenant_id: "{TENANT_ID}"\n'
        f'  openid_metadata_url: "{fake_teams.openid_url}"\n'
        f'  token_url: "{fake_teams.token_url}"\n'
    )
    settings = Settings(
        var_dir=var,
        channels_file=channels,
        outbox_interval=0.2,
        index_dir=ROOT / "var" / "index",  # the index `make test` builds; rebuilt here if stale
        models_dir=ROOT / "var" / "models",  # trained models are cached across runs
        port=free_port(),
        rasa_port=free_port(),
        rasa_timeout=30,
        # The whole session's customers come from 127.0.0.1: the per-IP limit has its own
        # tests (tests/unit/test_input_limits.py), so this shared stack gives it room.
        new_conversations_burst=10_000,
    )
    model = model_for_sources(settings.embedding_model, settings.kb_dir, settings.serve_languages)
    build_index(
        settings.kb_dir,
        settings.index_path,
        open_encoder(model),
        serve_languages=settings.serve_languages,
    )
    model, _ = rasa_process.train(
        settings.bot_dir, settings.models_path, settings.rasa_bin, kb_dir=settings.kb_dir
    )
    rasa_log = var / "rasa.log"
    rasa = rasa_process.start_configured(settings, model, rasa_log)
    hub = HubServer(settings)
    try:
        hub.start()
        rasa_process.wait_until_ready(settings.rasa_url, rasa, timeout=240)
        health = httpx.get(f"{settings.hub_url}/health", timeout=10).json()
        assert health["status"] == "ok", health
        yield Stack(settings, settings.hub_url, settings.rasa_url, rasa_log)
    finally:
        hub.stop()
        rasa_process.stop_server(rasa)


@pytest.fixture
def agent_online(stack: Stack) -> Iterator[None]:
    """An agent's console is open, so hand-offs go to the live queue."""
    s = stack.settings
    token = httpx.post(
        f"{stack.hub_url}/api/auth/login",
        json={"email": s.demo_agent_email, "password": s.demo_agent_password},
    ).json()["token"]
    console = agent_socket(stack.hub_url, token)
    yield
    console.close()
    # The hub closes the console's record in the background: the next test may need nobody
    # online (tests/integration/test_offline.py), so it starts only once that has happened.
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 30
    while httpx.get(f"{stack.hub_url}/api/me", headers=headers).json()["presence"] == "online":
        assert time.monotonic() < deadline, "the closed console left its agent online"
        time.sleep(0.05)


# Module scope: Playwright's sync API keeps an event loop of its own while it runs, which must
# not outlive the browser tests into tests that run asyncio themselves.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
