"""A cluster on this machine, started as an operator starts one (deploy/README.md): two Rasa
servers (`frontline rasa`), N hubs (`frontline hub`) and HAProxy (`deploy/haproxy.cfg`) on one
PostgreSQL server and one Redis. Used by tests/cluster and tests/bench/bench_cluster.py."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.fakes.paths import ROOT
from tests.fakes.stack import free_port

FRONTLINE = ROOT / ".venv" / "bin" / "frontline"


@dataclass
class Part:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, sig)
        except ProcessLookupError:
            return
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@dataclass
class Cluster:
    lb_url: str
    hub_urls: list[str]
    rasa_urls: list[str]
    database_url: str
    var: Path
    parts: dict[str, Part] = field(default_factory=dict)

    def kill_hub(self, index: int) -> None:
        """SIGKILL: the hub gets no chance to finish anything."""
        part = self.parts[f"hub{index + 1}"]
        part.process.send_signal(signal.SIGKILL)
        part.process.wait()

    def logs(self) -> str:
        out = []
        for part in self.parts.values():
            tail = part.log.read_text(errors="replace")[-3000:] if part.log.exists() else ""
            out.append(f"--- {part.name} (exit {part.process.poll()}) ---\n{tail}")
        return "\n".join(out)


def _wait(url: str, part: Part, timeout: float, ok: int = 200) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not part.alive():
            raise RuntimeError(f"{part.name} exited: {part.log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == ok:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{part.name} did not answer at {url} within {timeout:.0f} s")


def _start(name: str, command: list[str], env: dict[str, str], var: Path) -> Part:
    log = var / "logs" / f"{name}.out"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return Part(name, process, log)


@contextmanager
def running_cluster(
    pg: str, redis_url: str, var: Path, *, extra_env: dict[str, str] | None = None
) -> Iterator[Cluster]:
    """Two hubs and two Rasa servers behind HAProxy, on PostgreSQL server `pg` (a database is
    created for the cluster and dropped after) and Redis at `redis_url`; everything the parts
    write goes to `var`. `extra_env`: settings for every part."""
    models = ROOT / "var" / "models"
    name = f"frontline_cluster_{uuid.uuid4().hex[:8]}"
    admin = create_engine(pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        # Rasa would create its own on first start; two starting at once would race for it.
        connection.execute(text(f'CREATE DATABASE "{name}_rasa"'))
    database_url = make_url(pg).set(database=name).render_as_string(hide_password=False)

    lb_port = free_port()
    hub_ports = [free_port(), free_port()]  # deploy/haproxy.cfg names two
    rasa_ports = [free_port(), free_port()]
    lb_url = f"http://127.0.0.1:{lb_port}"
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "FRONTLINE_VAR_DIR": str(var),
        "FRONTLINE_INDEX_DIR": str(ROOT / "var" / "index"),
        "FRONTLINE_MODELS_DIR": str(models),
        "FRONTLINE_DATABASE_URL": database_url,
        "FRONTLINE_REDIS_URL": redis_url,
        "FRONTLINE_SECRET_KEY": uuid.uuid4().hex * 2,
        "FRONTLINE_ACTION_TOKEN": uuid.uuid4().hex * 2,
        "FRONTLINE_RASA_URL": ",".join(f"http://127.0.0.1:{p}" for p in rasa_ports),
        "FRONTLINE_ACTIONS_URL": f"{lb_url}/actions/webhook",
        "FRONTLINE_RASA_TIMEOUT": "60",
        "FRONTLINE_SWEEP_INTERVAL": "1",
        "FRONTLINE_TRUSTED_PROXIES": "127.0.0.1",
        "FRONTLINE_NEW_CONVERSATIONS_BURST": "10000",
        "FRONTLINE_CHANNELS_FILE": str(var / "channels.yml"),  # none: the widget only
        "FRONTLINE_LB_BIND": f"127.0.0.1:{lb_port}",
        "FRONTLINE_HUB_1": f"127.0.0.1:{hub_ports[0]}",
        "FRONTLINE_HUB_2": f"127.0.0.1:{hub_ports[1]}",
        **(extra_env or {}),
    }
    env.pop("FRONTLINE_TEST_DATABASE_URL", None)
    cluster = Cluster(
        lb_url=lb_url,
        hub_urls=[f"http://127.0.0.1:{p}" for p in hub_ports],
        rasa_urls=[f"http://127.0.0.1:{p}" for p in rasa_ports],
        database_url=database_url,
        var=var,
    )
    try:
        for i, port in enumerate(rasa_ports, 1):
            cluster.parts[f"rasa{i}"] = _start(
                f"rasa{i}", [str(FRONTLINE), "rasa", "--port", str(port)], env, var
            )
        # One hub first: it migrates the new database (in production: `frontline db upgrade`).
        for i, port in enumerate(hub_ports, 1):
            part = _start(f"hub{i}", [str(FRONTLINE), "hub", "--port", str(port)], env, var)
            cluster.parts[f"hub{i}"] = part
            _wait(f"http://127.0.0.1:{port}/health", part, 180)
        lb = _start(
            "haproxy", ["haproxy", "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")], env, var
        )
        cluster.parts["haproxy"] = lb
        _wait(f"{lb_url}/health", lb, 30)
        for i, url in enumerate(cluster.rasa_urls, 1):
            _wait(f"{url}/webhooks/rest/", cluster.parts[f"rasa{i}"], 400)
        yield cluster
    except Exception:
        print(cluster.logs())
        raise
    finally:
        for part in reversed(list(cluster.parts.values())):
            part.stop()
        with admin.connect() as connection:
            for db in (name, f"{name}_rasa"):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()
