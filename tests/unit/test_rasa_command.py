"""How the hub runs `rasa run`: our launcher (bot/rasa_server.py) under the interpreter of
the `rasa` script, or the script itself when its interpreter cannot be found."""

from __future__ import annotations

from pathlib import Path

from api.rasa_process import RASA_SERVER, rasa_command


def test_the_launcher_runs_under_the_rasa_scripts_python(tmp_path: Path) -> None:
    python = tmp_path / "python3.10"
    python.write_text("")
    script = tmp_path / "rasa"
    script.write_text(f"#!{python}\nimport re\nfrom rasa.__main__ import main\n")
    assert rasa_command(script) == [str(python), str(RASA_SERVER)]


def test_a_shell_trampoline_or_a_missing_interpreter_runs_the_script_itself(
    tmp_path: Path,
) -> None:
    trampoline = tmp_path / "rasa"
    trampoline.write_text('#!/bin/sh\n\'\'\'exec\' "/very/long/path/python3.10" "$0" "$@"\n')
    assert rasa_command(trampoline) == [str(trampoline)]
    gone = tmp_path / "rasa-gone"
    gone.write_text(f"#!{tmp_path / 'python-not-here'}\n")
    assert rasa_command(gone) == [str(gone)]
    binary = tmp_path / "rasa-bin"
    binary.write_bytes(b"\x7fELF\x02\x01\x01\x00\xff\xfe")
    assert rasa_command(binary) == [str(binary)]
