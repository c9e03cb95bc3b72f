"""Rasa's own command line, as Frontline starts it, with one per-turn cost removed.

Rasa 3.6 checks every answer of the action server with `jsonschema.validate(result, spec)`.
That call first validates the constant `spec` itself against JSON Schema's 2020-12
metaschema, every time, and only then the answer; measured with py-spy during KB turns
(docs/performance.md), that re-check was over half of the Rasa server's CPU. Here the spec is
checked once at start and its validator kept: every answer is still validated against the
same schema and raises the same error, as in Rasa.

Run by the hub in Rasa's own environment (Python 3.10): `python bot/rasa_server.py run ...`,
arguments as `rasa`'s. Nothing of the hub is imported here.
"""

from __future__ import annotations

import sys
from typing import Any


def keep_action_response_validator() -> None:
    from jsonschema import validators
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    spec = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(spec)
    validator_class.check_schema(spec)  # once, not at every turn
    validator = validator_class(spec)

    def validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]


if __name__ == "__main__":
    keep_action_response_validator()
    from rasa.__main__ import main

    sys.exit(main())
