"""`frontline kb gaps`: the knowledge-gaps report from the command line, and `frontline kb
gaps-eval`: how well it groups questions, measured on MASSIVE (part of `make eval`)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import typer

from api.cli_common import fail
from api.settings import Settings
from handoff import gaps
from handoff.db import make_engine, make_sessionmaker, upgrade


def _day(value: str, option: str) -> datetime:
    try:
        return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time.min, tzinfo=UTC)
    except ValueError:
        fail(f"{option} takes a date as YYYY-MM-DD, not {value!r}")
        raise


def kb_gaps(
    since: str = typer.Option(..., help="First day (YYYY-MM-DD, UTC)."),
    until: str = typer.Option(None, help="Last day included (YYYY-MM-DD, UTC)."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
) -> None:
    """Questions the bot could not settle (no answer, choices then a person, "didn't help"),
    grouped into topics, with a suggestion each: more phrasings for an article, or a new one."""
    from retrieval.encoder import open_encoder
    from retrieval.gap_report import gap_topics
    from retrieval.search import KnowledgeBase, model_for_index

    first = _day(since, "--since")
    end = _day(until, "--until") + timedelta(days=1) if until else None
    settings = Settings()
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            asked = gaps.gap_questions(session, since=first, until=end)
    finally:
        engine.dispose()
    try:
        kb = KnowledgeBase.open(
            settings.index_path,
            open_encoder(model_for_index(settings.embedding_model, settings.index_path)),
            overrides=settings.thresholds,
        )
    except (FileNotFoundError, ValueError) as error:
        fail(str(error))
        return
    topics = gap_topics(kb, asked)
    report: dict[str, Any] = {
        "since": since, "until": until, "questions": len(asked), "topics": topics
    }  # fmt: skip
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False))
        return
    typer.echo(f"{len(asked)} unsettled question(s) since {since}, in {len(topics)} topic(s).")
    for number, topic in enumerate(topics, start=1):
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(topic["kinds"].items()))
        typer.echo(f"\n{number}. {topic['examples'][0]}  ({topic['size']}: {kinds})")
        for example in topic["examples"][1:]:
            typer.echo(f"     - {example}")
        channels = ", ".join(f"{c} {n}" for c, n in topic["channels"].items())
        languages = ", ".join(f"{c} {n}" for c, n in topic["languages"].items())
        typer.echo(f"   channels: {channels}; languages: {languages}")
        typer.echo("   tickets: " + ", ".join(f"#{t}" for t in topic["tickets"][:10]))
        suggestion = topic["suggestion"]
        if suggestion["action"] == "add_phrasings":
            typer.echo(
                f"   suggestion: add {len(suggestion['questions'])} phrasing(s) to "
                f"{suggestion['article_id']} ({suggestion['title']})"
            )
        else:
            typer.echo("   suggestion: a new article (draft in --json, or on /console/gaps)")


def kb_gaps_eval(
    data: Path = typer.Option(None, help="MASSIVE's folder (default: FRONTLINE_MASSIVE_PATH)."),
) -> None:
    """Grouping quality of the gaps report on MASSIVE's held-out scenarios (skipped, with a
    message, when the data set is absent)."""
    from retrieval.embedding_cache import CachedEncoder
    from retrieval.encoder import choose_model, open_encoder
    from retrieval.topics_eval import run_gaps

    settings = Settings()
    path = data or settings.massive_path
    if not path.exists():
        typer.echo(f"skipped the gaps grouping benchmark: MASSIVE not found at {path}")
        return
    encoder = CachedEncoder(
        open_encoder(choose_model(settings.embedding_model, ["en"])),
        settings.var_dir / "embeddings",
    )
    run_gaps(path, encoder, say=typer.echo)
