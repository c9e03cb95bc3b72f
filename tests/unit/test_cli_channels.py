"""`frontline channels check` and `set-webhook` against the local fake Bot API."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.fakes.telegram_api import FakeTelegramApi


def config(tmp_path: Path, fake: FakeTelegramApi, token: str) -> Path:
    path = tmp_path / "channels.yml"
    path.write_text(
        f'telegram:\n  bot_token: "{token}"\n  secret_token: "cli-secret"\n'
        f'  api_base: "{fake.base_url}"\n'
    )
    return path


def test_check_and_set_webhook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeTelegramApi() as fake:
        monkeypatch.setenv("FRONTLINE_CHANNELS_FILE", str(config(tmp_path, fake, fake.token)))
        checked = CliRunner().invoke(app, ["channels", "check"])
        assert checked.exit_code == 0, checked.output
        assert "telegram: ok, bot @frontline_test_bot" in checked.output
        url = "https://hub.example.com/channels/telegram"
        registered = CliRunner().invoke(app, ["channels", "set-webhook", "telegram", "--url", url])
        assert registered.exit_code == 0, registered.output
        assert fake.webhook["url"] == url and fake.webhook["secret_token"] == "cli-secret"

        monkeypatch.setenv("FRONTLINE_CHANNELS_FILE", str(config(tmp_path, fake, "1:WRONG")))
        refused = CliRunner().invoke(app, ["channels", "check"])
        assert refused.exit_code == 1 and "telegram: FAILED" in refused.output


def test_a_bad_channels_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "channels.yml"
    path.write_text("telegram: {bot_token: '1:A'}\n")
    monkeypatch.setenv("FRONTLINE_CHANNELS_FILE", str(path))
    result = CliRunner().invoke(app, ["channels", "check"])
    assert result.exit_code == 1 and "secret_token" in result.output
