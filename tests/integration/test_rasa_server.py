"""bot/rasa_server.py, in Rasa's own environment: the action server's answers are still
validated against Rasa's schema, with Rasa's error, after the launcher keeps the validator."""

from __future__ import annotations

import subprocess

import pytest

from api.rasa_process import RASA_SERVER, rasa_command
from api.settings import Settings

pytestmark = pytest.mark.integration

CHECK = f"""
import runpy, sys
launcher = runpy.run_path({str(RASA_SERVER)!r}, run_name="frontline_check")
launcher["keep_action_response_validator"]()
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
action = RemoteAction("action_answer_from_kb", None)
good = {{"events": [{{"event": "slot", "name": "language", "value": "fa"}}],
         "responses": [{{"text": "hi", "buttons": [{{"title": "Yes", "payload": "/helpful"}}]}}]}}
assert action._validate_action_result(good) is True
for bad in ({{"events": "not a list"}}, {{"responses": [1, 2]}}):
    try:
        action._validate_action_result(bad)
    except ValidationError as error:
        assert "Failed to validate Action server response" in error.message, error.message
    else:
        sys.exit("accepted " + repr(bad))
print("ok")
"""


def test_the_launcher_still_validates_every_action_answer() -> None:
    command = rasa_command(Settings().rasa_bin)
    assert command[1:] == [str(RASA_SERVER)], "the hub no longer starts Rasa through the launcher"
    result = subprocess.run(
        [command[0], "-c", CHECK], capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]
