"""Training the Rasa model (only when its data changed) and running the Rasa server."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from api import process_guard
from api.rasa_endpoints import write_replica_endpoints

if TYPE_CHECKING:
    from api.settings import Settings

# What the trained model depends on; a change to any of them means a new model.
TRAINING_INPUTS = ("config.yml", "domain.yml", "data", "conversation_language.py", "languages.py")
CONSTRAINTS = "constraints-rasa.txt"


class RasaError(RuntimeError):
    pass


GENERATED_NLU = "kb_questions.yml"
# Brackets and braces would read as entity annotations in Rasa's example syntax.
_ANNOTATION = re.compile(r"[\[\]{}]")


def write_kb_training_data(kb_dir: Path, bot_dir: Path, out_dir: Path) -> Path:
    """The knowledge base's alternative questions as `ask_question` examples, so a new
    article improves routing without anyone editing bot/data by hand.

    Only the articles in the bot's own language (`language` in bot/config.yml): questions
    in other languages would tilt the classifier towards `ask_question` for any text it has
    no words for. A question in another language still reaches the knowledge base: with no
    known words, it falls below the FallbackClassifier's threshold."""
    import yaml

    from retrieval.languages import primary
    from retrieval.sources import load_articles

    config = bot_dir / "config.yml"
    bot_language = "en"
    if config.is_file():
        raw = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        bot_language = primary(str(raw.get("language") or "en"))

    hand_written: set[str] = set()
    for path in (bot_dir / "data").rglob("*.yml"):
        for block in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu", []) or []:
            for line in str(block.get("examples", "")).splitlines():
                hand_written.add(line.strip().removeprefix("- ").strip().lower())
    questions = sorted(
        {
            " ".join(q.split())
            for article in load_articles(kb_dir)
            if primary(article.lang) == bot_language
            for q in (*article.questions, article.title)
            if " ".join(q.split()).lower() not in hand_written
        }
    )
    examples = "".join(f"      - {_ANNOTATION.sub('', q)}\n" for q in questions)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / GENERATED_NLU
    target.write_text(
        "# Generated from the knowledge base by `frontline bot train`; do not edit.\n"
        'version: "3.1"\nnlu:\n  - intent: ask_question\n    examples: |\n' + examples,
        encoding="utf-8",
    )
    return target


def training_fingerprint(bot_dir: Path, extra: Path | None = None) -> str:
    digest = hashlib.sha256()
    files: list[Path] = [extra] if extra is not None else []
    for name in (*TRAINING_INPUTS, CONSTRAINTS):
        path = bot_dir / name
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml")
            )
        elif path.is_file():
            files.append(path)
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_path(bot_dir: Path, models_dir: Path, extra: Path | None = None) -> Path:
    return models_dir / f"frontline-{training_fingerprint(bot_dir, extra)}.tar.gz"


def rasa_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "RASA_TELEMETRY_ENABLED": "false",  # no network but localhost
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "PYTHONWARNINGS": "ignore",
            # The bot's own NLU component (bot/conversation_language.py) imports as `bot.`.
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p
            ),
        }
    )
    env.update(extra or {})
    return env


PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Rasa's command line with per-turn costs removed (bot/rasa_server.py, docs/performance.md).
RASA_SERVER = PROJECT_ROOT / "bot" / "rasa_server.py"


def rasa_command(rasa_bin: Path) -> list[str]:
    """How to run `rasa run`: our launcher under the interpreter of the `rasa` script (its
    `#!` line), or the script itself when that cannot be read."""
    try:
        first = rasa_bin.read_bytes()[:512].split(b"\n", 1)[0].decode()
    except (OSError, UnicodeDecodeError):
        return [str(rasa_bin)]
    interpreter = Path(first[2:].strip()) if first.startswith("#!") else None
    if (
        interpreter is None
        or not interpreter.name.startswith("python")  # not pip's `#!/bin/sh` trampoline
        or not interpreter.is_file()
        or not RASA_SERVER.is_file()
    ):
        return [str(rasa_bin)]
    return [str(interpreter), str(RASA_SERVER)]


def ensure_rasa(rasa_bin: Path) -> None:
    if not rasa_bin.is_file():
        raise RasaError(
            f"Rasa not found at {rasa_bin}. Run 'make setup' (it creates .venv-rasa on "
            "Python 3.10), or set FRONTLINE_RASA_BIN."
        )


def train(
    bot_dir: Path,
    models_dir: Path,
    rasa_bin: Path,
    *,
    kb_dir: Path | None = None,
    force: bool = False,
) -> tuple[Path, bool]:
    """Train unless a model for exactly this training data exists; returns (model, trained).

    With `kb_dir`, the knowledge base's questions are added as generated training data."""
    generated = (
        write_kb_training_data(kb_dir, bot_dir, models_dir / "generated") if kb_dir else None
    )
    target = model_path(bot_dir, models_dir, generated)
    if target.is_file() and not force:
        return target, False
    ensure_rasa(rasa_bin)
    models_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(rasa_bin),
        "train",
        "--config",
        str(bot_dir / "config.yml"),
        "--domain",
        str(bot_dir / "domain.yml"),
        "--data",
        str(bot_dir / "data"),
        *([str(generated)] if generated else []),
        "--out",
        str(models_dir),
        "--fixed-model-name",
        target.name.removesuffix(".tar.gz"),
    ]
    result = subprocess.run(command, cwd=bot_dir, env=rasa_environment(), check=False)
    if result.returncode != 0 or not target.is_file():
        raise RasaError(f"rasa train failed (exit {result.returncode}); see its output above")
    return target, True


def start_server(
    *,
    rasa_bin: Path,
    model: Path,
    bot_dir: Path,
    host: str,
    port: int,
    action_endpoint_url: str,
    action_token: str,
    log_file: Path,
    api_secret_file: Path | None = None,
    endpoints: Path | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`rasa run` on `model`, calling back to the hub with the action token. It dies with
    this process, however it ends (see api.process_guard): call it from the main thread, as
    the parent-death signal follows the thread that forked."""
    ensure_rasa(rasa_bin)
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = [
        *rasa_command(rasa_bin),
        "run",
        "--model",
        str(model),
        "--endpoints",
        str((endpoints or bot_dir / "endpoints.yml").resolve()),
        "--credentials",
        str(bot_dir / "credentials.yml"),
        "--interface",
        host,
        "--port",
        str(port),
    ]
    if api_secret_file is not None:
        # Rasa's HTTP API lets the hub delete a tracker (erasure). sanic-jwt takes a
        # `--jwt-secret` naming an existing file as the file's text, and anything else as the
        # secret itself: a missing file would put a guessable key on the command line.
        if not api_secret_file.is_file():
            raise RasaError(f"the key file for Rasa's HTTP API is missing: {api_secret_file}")
        command += [
            "--enable-api",
            "--jwt-secret",
            str(api_secret_file.resolve()),
            "--jwt-method",
            "HS256",
        ]
    env = rasa_environment(
        {
            "FRONTLINE_ACTION_ENDPOINT_URL": action_endpoint_url,
            "FRONTLINE_ACTION_TOKEN": action_token,
            **(extra_env or {}),
        }
    )
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            command,
            cwd=bot_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop Rasa ourselves, in order
            preexec_fn=process_guard.die_with_parent(),
        )
    _watchdogs[process.pid] = process_guard.start_watchdog(process.pid)
    return process


# Each Rasa's watchdog, reaped when that Rasa is stopped.
_watchdogs: dict[int, subprocess.Popen[bytes]] = {}


def refuse_if_taken(host: str, port: int) -> None:
    """RasaError naming the process when something already answers on Rasa's port: a Rasa
    left over from an earlier run would otherwise answer with its old model."""
    if process_guard.answers(host, port):
        raise RasaError(
            f"something already answers on the Rasa port {host}:{port}: "
            f"{process_guard.who_listens(port)}. Stop it, or choose another port "
            "(FRONTLINE_RASA_PORT or --rasa-port)."
        )


def verify_serving(process: subprocess.Popen[bytes], port: int, model: Path) -> None:
    """The Rasa answering on `port` must be the one we started on `model`; else RasaError.

    Rasa's `GET /status` would name its model, but only with the HTTP API enabled, which
    also opens every tracker and needs a token on Rasa's command line (readable by every
    local user in `ps`): we check the process holding the port instead."""
    holders = process_guard.listener_pids(port)
    ours = process_guard.descendants(process.pid)
    strangers = [pid for pid in holders if pid not in ours]
    if strangers or not holders:
        who = process_guard.who_listens(port)
        raise RasaError(
            f"the Rasa answering on port {port} is not the one started on {model.name} "
            f"(it is {who}). Stop it and start again."
        )


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait until Rasa's REST channel answers (the model is loaded by then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RasaError(f"Rasa exited with code {process.returncode} while starting")
        try:
            if httpx.get(f"{url}/webhooks/rest/", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RasaError(f"Rasa did not answer at {url} within {timeout:.0f} s")


def stop_server(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    watchdog = _watchdogs.pop(process.pid, None)
    if watchdog is not None:
        try:
            watchdog.wait(timeout=5)  # it exits within a poll once Rasa is gone
        except subprocess.TimeoutExpired:
            watchdog.kill()
            watchdog.wait()


def _rasa(rasa_bin: Path, *args: str, cwd: Path) -> int:
    ensure_rasa(rasa_bin)
    return subprocess.run(
        [str(rasa_bin), *args], cwd=cwd, env=rasa_environment(), check=False
    ).returncode


def validate(bot_dir: Path, rasa_bin: Path, generated: Path | None) -> int:
    """`rasa data validate`, failing on warnings too."""
    data = [str(bot_dir / "data"), *([str(generated)] if generated else [])]
    return _rasa(
        rasa_bin,
        "data",
        "validate",
        "--fail-on-warnings",
        "--domain",
        str(bot_dir / "domain.yml"),
        "--config",
        str(bot_dir / "config.yml"),
        "--data",
        *data,
        cwd=bot_dir,
    )


def test_stories(bot_dir: Path, rasa_bin: Path, model: Path, out: Path) -> int:
    """The test stories in bot/tests through the trained model (NLU and dialogue)."""
    return _rasa(
        rasa_bin,
        "test",
        "--model",
        str(model),
        "--stories",
        str(bot_dir / "tests"),
        "--out",
        str(out),
        "--fail-on-prediction-errors",
        cwd=bot_dir,
    )


def nlu_cross_validation(
    bot_dir: Path, rasa_bin: Path, generated: Path | None, out: Path, folds: int = 3
) -> dict[str, Any]:
    """`rasa test nlu --cross-validation`; returns Rasa's intent report (per-intent F1)."""
    # `rasa test nlu` takes one path: gather the hand-written and generated NLU data.
    data = out / "nlu-data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    for source in [*(bot_dir / "data").glob("nlu*.yml"), *([generated] if generated else [])]:
        shutil.copy(source, data / source.name)
    code = _rasa(
        rasa_bin, "test", "nlu", "--cross-validation", "--folds", str(folds),
        "--config", str(bot_dir / "config.yml"), "--domain", str(bot_dir / "domain.yml"),
        "--nlu", str(data), "--out", str(out), cwd=bot_dir,
    )  # fmt: skip
    report = out / "intent_report.json"
    if code != 0 or not report.is_file():
        raise RasaError(f"rasa test nlu failed (exit {code})")
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def start_configured(
    settings: Settings,
    model: Path,
    log_file: Path,
    *,
    host: str | None = None,
    port: int | None = None,
) -> subprocess.Popen[bytes]:
    """The Rasa server where the settings put it, calling back to the hub's action endpoint.

    With several hubs (Redis configured, PostgreSQL the database) it gets shared stores
    (api/rasa_endpoints.py), so any number of Rasa servers can take any conversation."""
    endpoints: Path | None = None
    env: dict[str, str] = {}
    if settings.redis_url and settings.database_url.startswith("postgresql"):
        endpoints = settings.var_dir / "rasa" / f"endpoints-{port or settings.rasa_port}.yml"
        env = write_replica_endpoints(
            settings.bot_dir / "endpoints.yml",
            endpoints,
            database_url=settings.database_url,
            redis_url=settings.redis_url,
            tracker_database=settings.rasa_tracker_database,
        )
    return start_server(
        rasa_bin=settings.rasa_bin,
        model=model,
        bot_dir=settings.bot_dir,
        host=host or settings.rasa_host,
        port=port or settings.rasa_port,
        action_endpoint_url=settings.action_endpoint_url,
        action_token=settings.action_secret,
        log_file=log_file,
        api_secret_file=settings.rasa_api_secret_file,
        endpoints=endpoints,
        extra_env=env,
    )
