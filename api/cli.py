"""The `frontline` command."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

import typer

from api.channels.config import ChannelConfigError, load_channels
from api.cli_agents import agents_app
from api.cli_bot import bot_app
from api.cli_channels import channels_app
from api.cli_common import build_kb_index as _build_index
from api.cli_common import fail as _fail
from api.cli_contacts import contacts_app
from api.cli_gaps import kb_gaps, kb_gaps_eval
from api.cli_import import kb_import_site
from api.settings import Settings

app = typer.Typer(
    help="Frontline: a support bot that answers from a knowledge base and hands over to people.",
    no_args_is_help=True,
)
kb_app = typer.Typer(help="Build and query the knowledge-base index.", no_args_is_help=True)
db_app = typer.Typer(help="The database.", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
kb_app.command("gaps")(kb_gaps)
kb_app.command("gaps-eval")(kb_gaps_eval)
kb_app.command("import")(kb_import_site)
app.add_typer(bot_app, name="bot")
app.add_typer(agents_app, name="agents")
app.add_typer(db_app, name="db")
app.add_typer(channels_app, name="channels")
app.add_typer(contacts_app, name="contacts")


@kb_app.command("build")
def kb_build(
    source: Path = typer.Option(
        None, help="Folder of articles and FAQ files (default: kb_content/)."
    ),
    index: Path = typer.Option(
        None, help="Where the index goes (default: the configured index dir)."
    ),
    force: bool = typer.Option(False, help="Rebuild even if the sources did not change."),
) -> None:
    """Index the knowledge base (skipped when nothing changed)."""
    settings = Settings()
    _build_index(settings, source or settings.kb_dir, index or settings.index_path, force)


@kb_app.command("search")
def kb_search(
    query: list[str] = typer.Argument(None, help="The question (words are joined)."),
    index: Path = typer.Option(None, help="Index folder (default: the configured index dir)."),
    queries: Path = typer.Option(None, help="A file with one query per line."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON Lines, one per query."),
    language: str = typer.Option(
        None, help="The customer's language: articles are shown in it when translated."
    ),
) -> None:
    """Search the index: the decision, its confidence and the best articles."""
    from retrieval.encoder import open_encoder
    from retrieval.search import KnowledgeBase, model_for_index

    texts = [" ".join(query)] if query else []
    if queries is not None:
        try:
            texts += [line.strip() for line in queries.read_text(encoding="utf-8").splitlines()]
        except OSError as error:
            _fail(f"cannot read {queries}: {error}")
        texts = [t for t in texts if t]
    if not texts:
        _fail("give a QUERY or --queries FILE")
    settings = Settings()
    try:
        index_dir = index or settings.index_path
        kb = KnowledgeBase.open(
            index_dir,
            open_encoder(model_for_index(settings.embedding_model, index_dir)),
            overrides=settings.thresholds,
        )
    except (FileNotFoundError, ValueError) as error:
        _fail(str(error))
        return
    for text in texts:
        result = kb.search(text, language=language)
        if as_json:
            typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
            continue
        typer.echo(f"{text}\n  {result.decision} (confidence {result.confidence:.2f})")
        for hit in result.hits:
            where = f" > {hit.section}" if hit.section else ""
            typer.echo(f"    {hit.score:.3f}  {hit.article_id}  [{hit.lang}] {hit.title}{where}")


@kb_app.command("eval")
def kb_eval(
    data: Path = typer.Option(
        None,
        help="The data set's file or folder (default: FRONTLINE_CLINC150_PATH or "
        "FRONTLINE_MASSIVE_PATH).",
    ),
    dataset: str = typer.Option(
        "clinc150",
        help="clinc150, massive, clinc-domains (narrow knowledge bases of two CLINC150 "
        "domains), languages (MASSIVE en/zh/fa pairs), or all (all skips a data set that is "
        "absent).",
    ),
    as_json: bool = typer.Option(False, "--json", help="End with one JSON object of the figures."),
    with_ablations: bool = typer.Option(
        False, "--ablations", help="Also measure each part of the scorer and calibration alone."
    ),
) -> None:
    """Benchmarks (CLINC150, MASSIVE English, MASSIVE language pairs), each knowledge base
    treated as new: its operating point comes from its own questions only, as `frontline kb
    build` chooses it."""
    from retrieval import benchmark, benchmark_domains, benchmark_languages
    from retrieval.embedding_cache import CachedEncoder
    from retrieval.encoder import (
        ENSEMBLE,
        MINILM,
        TUNED_MINILM,
        choose_model,
        open_encoder,
        open_ensemble,
    )

    if dataset not in ("clinc150", "massive", "clinc-domains", "languages", "all"):
        _fail("--dataset is one of clinc150, massive, clinc-domains, languages, all")
    settings = Settings()
    opened: dict[str, Any] = {}

    def cached(model: str) -> Any:
        # Encoding a benchmark takes minutes on two cores: vectors are kept under var/.
        if model not in opened:
            if model == ENSEMBLE:
                opened[model] = open_ensemble(cached)  # each part's vectors cached on their own
            elif model == TUNED_MINILM:
                opened[model] = open_encoder(model)  # a new model per build: nothing to cache
            else:
                opened[model] = CachedEncoder(open_encoder(model), settings.var_dir / "embeddings")
        return opened[model]

    # The English benchmarks: the encoder an English knowledge base gets.
    encoder = cached(choose_model(settings.embedding_model, ["en"]))
    runs = {
        "clinc150": (benchmark.run, data or settings.clinc150_path),
        "massive": (benchmark.run_massive, data or settings.massive_path),
        "clinc-domains": (benchmark_domains.run, data or settings.clinc150_path),
    }
    results = {}
    for name, (runner, path) in runs.items():
        if dataset not in (name, "all"):
            continue
        if dataset == "all" and not path.exists():
            typer.echo(f"skipped {name}: not found at {path}", err=as_json)
            continue
        try:
            results[name] = runner(
                path,
                encoder,
                say=lambda line: typer.echo(line, err=as_json),
                with_ablations=with_ablations,
            )
        except FileNotFoundError as error:
            if dataset == "all":
                typer.echo(f"skipped {name}: {error}", err=as_json)
                continue
            _fail(str(error))
            return
        if not as_json and name != "clinc-domains":  # that one prints its own lines
            _print_figures(results[name], with_ablations)
    languages_path = data or settings.massive_path
    if dataset in ("languages", "all") and (dataset == "languages" or languages_path.exists()):
        try:
            results["languages"] = benchmark_languages.run(
                languages_path,
                cached,
                spec=settings.embedding_model,
                say=lambda line: typer.echo(line, err=as_json),
                # A tuned MiniLM is MiniLM's network: the same time per question.
                timing=lambda model: open_encoder(MINILM if model == TUNED_MINILM else model),
            )
        except FileNotFoundError as error:
            _fail(str(error))
            return
    elif dataset == "all":
        typer.echo(f"skipped languages: not found at {languages_path}", err=as_json)
    if as_json:
        typer.echo(json.dumps(results if dataset == "all" else results.get(dataset)))


def _print_figures(figures: dict[str, Any], with_ablations: bool) -> None:
    labels = {
        "top1": ("top-1 article accuracy", ">= 0.88"),
        "answered_precision": ("answered precision", ">= 0.95"),
        "coverage": ("in-scope coverage (answered)", ">= 0.70"),
        "unrelated_answered": ("unrelated questions answered", "<= 0.01"),
        "mrr5": ("MRR@5", ""),
        "oos_escalated": ("out-of-scope escalated", ""),
        "clarified": ("clarify decisions (share of queries)", ""),
        "clarify_contains_answer": ("clarify offers the right article", ""),
        "coverage_at_p95": ("coverage at precision >= 0.95 (oracle cut)", ""),
        "calibration_error": ("expected calibration error", ""),
    }
    queries = figures["queries"]
    typer.echo(f"  {queries['in_scope']} in-scope and {queries['out_of_scope']} unrelated queries")
    typer.echo(f"  {'figure':<44} {'value':>7}  target")
    for key, (label, target) in labels.items():
        typer.echo(f"  {label:<44} {figures[key]:>7.4f}  {target}")
    if with_ablations:
        typer.echo(f"\n  {'scorer (no thresholds)':<56} top-1   MRR@5  cov@p95")
        for name, row in figures["ablations"].items():
            typer.echo(
                f"  {name:<56} {row['top1']:.4f}  {row['mrr5']:.4f}  {row['coverage_at_p95']:.4f}"
            )
        typer.echo(
            f"\n  {'operating point':<50} top-1   prec.   cover.  unrel.  answer  floor  max logit"
        )
        for name, row in figures["calibration_ablations"].items():
            logit = "-" if row.get("min_logit") is None else f"{row['min_logit']:.3f}"
            typer.echo(
                f"  {name:<50} {row['top1']:.4f}  {row['answered_precision']:.4f}  "
                f"{row['coverage']:.4f}  {row['unrelated_answered']:.4f}  "
                f"{row['answer']:.3f}   {row['min_similarity']:.2f}   {logit}"
            )
    typer.echo("")


@app.command("report")
def report(
    start: str = typer.Option("", help="First day, YYYY-MM-DD (default: 30 days ago)."),
    end: str = typer.Option("", help="Last day, YYYY-MM-DD (default: today)."),
    by: str = typer.Option("", help="Group by team, channel or topic."),
    output: Path | None = typer.Option(None, "--output", "-o", help="CSV file (default: stdout)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report as JSON."),
) -> None:
    """Support figures for a date range as CSV: containment, hand-offs, response and
    resolution times, SLA attainment, CSAT, FCR, reopen rate."""
    import json
    from datetime import date

    from api.routes.reports import period, to_csv
    from handoff import reports
    from handoff.db import make_engine, make_sessionmaker
    from handoff.errors import InvalidInput

    if by and by not in ("team", "channel", "topic"):
        _fail("--by is one of team, channel, topic")
    for option, value in (("--start", start), ("--end", end)):
        try:
            date.fromisoformat(value) if value else None
        except ValueError:
            _fail(f"{option} must be a day as YYYY-MM-DD, not {value!r}")
    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        span = period(
            date.fromisoformat(start) if start else None, date.fromisoformat(end) if end else None
        )
        with make_sessionmaker(engine)() as session:
            result = reports.report(session, span, by or None)  # type: ignore[arg-type]
    except (InvalidInput, ValueError) as error:
        _fail(str(error))
        return
    finally:
        engine.dispose()
    text = json.dumps(result, indent=2) if as_json else to_csv(result)
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"Wrote {output}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the database migrations (Alembic)."""
    from handoff.db import upgrade

    settings = Settings()
    upgrade(settings.database_url)
    typer.echo(f"Database at head: {settings.database_url}")


@app.command("run")
def run(
    port: int = typer.Option(None, help="Hub port (default 8000, FRONTLINE_PORT)."),
    rasa_port: int = typer.Option(None, help="Rasa port (default 5005, FRONTLINE_RASA_PORT)."),
) -> None:
    """Build what is stale, start the Rasa server and the hub; Ctrl-C stops both."""
    from api import rasa_process

    overrides = {k: v for k, v in {"port": port, "rasa_port": rasa_port}.items() if v is not None}
    settings = Settings(**overrides)  # type: ignore[arg-type]
    _start_logging()
    rasa_host = "127.0.0.1" if settings.rasa_host in ("0.0.0.0", "::") else settings.rasa_host
    try:
        rasa_process.refuse_if_taken(rasa_host, settings.rasa_port)
    except rasa_process.RasaError as error:
        _fail(str(error))
        return
    _check_hub(settings)
    _build_index(settings, settings.kb_dir, settings.index_path, force=False)
    model = _trained_model(settings)
    log_file = settings.var_dir / "logs" / "rasa.log"
    typer.echo(f"Starting the Rasa server on {settings.rasa_url} (log: {log_file}) ...")
    rasa = rasa_process.start_configured(settings, model, log_file)
    try:
        rasa_process.wait_until_ready(settings.rasa_url, rasa, settings.rasa_start_timeout)
        rasa_process.verify_serving(rasa, settings.rasa_port, model)
        typer.echo("Rasa is ready. Starting the hub ...")
        _serve_hub(settings)
    except rasa_process.RasaError as error:
        _fail(f"{error} (see {log_file})")
    finally:
        typer.echo("Stopping the Rasa server ...")
        rasa_process.stop_server(rasa)


@app.command("hub")
def hub(
    port: int = typer.Option(None, help="Hub port (default 8000, FRONTLINE_PORT)."),
) -> None:
    """The hub alone, for several hubs behind a load balancer (deploy/README.md): it builds
    nothing and starts no Rasa (`frontline kb build` and `frontline rasa` do that)."""
    settings = Settings(**({"port": port} if port is not None else {}))  # type: ignore[arg-type]
    _start_logging()
    _check_hub(settings)
    if not settings.index_path.exists():
        _fail(f"no index at {settings.index_path}: run 'frontline kb build' first")
        return
    _serve_hub(settings)


@app.command("rasa")
def rasa_server(
    port: int = typer.Option(None, help="Rasa port (default 5005, FRONTLINE_RASA_PORT)."),
    host: str = typer.Option(None, help="Interface (default FRONTLINE_RASA_HOST)."),
) -> None:
    """One Rasa server on its own (trained first if the bot's data changed), calling the
    actions at FRONTLINE_ACTIONS_URL; with PostgreSQL and Redis configured it shares its
    trackers and locks with the other Rasa servers. Runs until stopped (SIGTERM, Ctrl-C)."""
    import signal

    from api import rasa_process

    settings = Settings()
    _start_logging()
    port = port or settings.rasa_port
    host = host or settings.rasa_host
    try:
        rasa_process.refuse_if_taken("127.0.0.1" if host in ("0.0.0.0", "::") else host, port)
    except rasa_process.RasaError as error:
        _fail(str(error))
        return
    model = _trained_model(settings)
    log_file = settings.var_dir / "logs" / f"rasa-{port}.log"
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    typer.echo(f"Starting the Rasa server on {url} (log: {log_file}) ...")
    process = rasa_process.start_configured(settings, model, log_file, host=host, port=port)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        rasa_process.wait_until_ready(url, process, settings.rasa_start_timeout)
        typer.echo(f"Rasa is ready on {url}.")
        while not stop.is_set() and process.poll() is None:
            stop.wait(1.0)
        if process.poll() is not None:
            _fail(f"the Rasa server stopped (exit {process.returncode}; see {log_file})")
    except rasa_process.RasaError as error:
        _fail(f"{error} (see {log_file})")
    except KeyboardInterrupt:
        pass
    finally:
        rasa_process.stop_server(process)


def _start_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def _check_hub(settings: Settings) -> None:
    """Private files, channels.yml and the database up to date; refusals end the command."""
    from api.exposure import Refused, make_private, public_bind_problems, rasa_problems, refuse
    from handoff.db import make_engine, make_sessionmaker, upgrade

    make_private(settings.var_dir)  # umask 077 before the first file is written
    try:
        channels = load_channels(settings.channels_file)
    except ChannelConfigError as error:
        _fail(str(error))
        return
    if channels:
        typer.echo(f"Channels: {', '.join(channels)} (from {settings.channels_file})")
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            refuse(public_bind_problems(settings, session) + rasa_problems(settings), settings.host)
    except Refused as error:
        _fail(str(error))
    finally:
        engine.dispose()


def _trained_model(settings: Settings) -> Path:
    from api import rasa_process

    try:
        model, trained = rasa_process.train(
            settings.bot_dir, settings.models_path, settings.rasa_bin, kb_dir=settings.kb_dir
        )
    except rasa_process.RasaError as error:
        _fail(str(error))
    typer.echo(f"{'Trained' if trained else 'Rasa model up to date:'} {model}")
    return model


def _serve_hub(settings: Settings) -> None:
    import uvicorn

    from api.app import create_app
    from api.security import WS_MAX_SIZE, WS_PER_MESSAGE_DEFLATE

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            log_level="info",
            ws_max_size=WS_MAX_SIZE,
            ws_per_message_deflate=WS_PER_MESSAGE_DEFLATE,
        )
    )
    threading.Thread(target=_banner, args=(server, settings), daemon=True).start()
    server.run()


def _banner(server: object, settings: Settings) -> None:
    while not getattr(server, "started", False):
        time.sleep(0.2)
    url = settings.hub_url
    lines = [
        "",
        "Frontline is running.",
        f"  Demo page with the chat widget: {url}/",
        f"  Agent console:                  {url}/console",
        f"  Help center:                    {url}{settings.help_path}",
        f"  Health:                         {url}/health",
        *([f"  API docs:                       {url}/docs"] if settings.api_docs else []),
        f"  Rasa server:                    {settings.rasa_url}",
    ]
    from api.exposure import is_loopback

    if settings.demo_agent and is_loopback(settings.host):  # never print a password publicly
        lines.append(
            f"  Log in to the console as {settings.demo_agent_email}"
            f" / {settings.demo_agent_password} (the demo agent; add others with"
            " 'frontline agents create')"
        )
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), file=sys.stderr, flush=True)


if __name__ == "__main__":
    app()
