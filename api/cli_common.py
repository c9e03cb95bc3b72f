"""What every `frontline` command group shares."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import NoReturn

import typer

from api.settings import Settings


def fail(message: str) -> NoReturn:
    """Print the error in red on stderr and exit with status 1."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


def build_kb_index(settings: Settings, source: Path, index: Path, force: bool) -> None:
    """`frontline kb build`: build and publish the index of `source` unless it is fresh."""
    from tqdm import tqdm

    from retrieval.articles import SourceError
    from retrieval.calibration import describe_limits
    from retrieval.encoder import open_encoder
    from retrieval.index import encoder_details
    from retrieval.search import build_index, index_is_fresh, model_for_sources
    from retrieval.sources import load_articles

    target = settings.target_precision
    languages = settings.serve_languages
    try:
        model = model_for_sources(settings.embedding_model, source, languages)
    except (SourceError, FileNotFoundError) as error:
        fail(str(error))
        return
    encoder = open_encoder(model)  # loads nothing yet: its details are file hashes
    details = encoder_details(encoder)
    if not force and index_is_fresh(index, source, model, target, languages, details):
        typer.echo(f"Index in {index} is up to date with {source}.")
        return
    typer.echo(f"Building the index of {source} ...")
    if callable(getattr(encoder, "tune", None)):
        typer.echo(
            "Tuning the encoder to these articles (one model per calibration fold and one on "
            "everything): minutes, more on a small machine ..."
        )
    with tqdm(total=0, unit="text", desc="embedding", disable=None) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            built, _ = build_index(
                source,
                index,
                encoder,
                force=True,
                progress=progress,
                say=tqdm.write,  # each fine-tune of a tuned encoder: minutes each
                target_precision=target,
                serve_languages=languages,
            )
        except (SourceError, FileNotFoundError) as error:
            fail(str(error))
            return
    assert built is not None
    m = built.manifest
    typer.echo(
        f"Indexed {m['articles']} articles ({m['entries']} entries, {m['embedded']} embedded anew,"
        f" {m['classifier']}) in {m['build_seconds']} s -> {index}"
    )
    typer.echo(f"Languages: {', '.join(m['languages'])}; encoder: {m['model']}")
    guessed = Counter(a.lang for a in load_articles(source) if a.lang_guessed and a.lang != "en")
    if guessed:
        taken = ", ".join(f"{n} as {lang}" for lang, n in sorted(guessed.items()))
        typer.echo(
            f"Articles without a `lang:` of their own, taken by their script or words: {taken};"
            " set `lang:` in an article's front matter to say otherwise."
        )
    if "tuned_encoder" in m:
        tuned = m["tuned_encoder"]
        typer.echo(f"Tuned encoder: sha256 {tuned['sha256'][:12]}…, {tuned['seconds']} s of tuning")
        if "off_topic_negatives" in tuned:
            typer.echo(
                f"Tuned away from {tuned['off_topic_negatives']} off-topic questions "
                f"({tuned['off_topic_covered']} left out as covered by these articles)"
            )
    point = built.operating_point
    if point is not None:
        label = "Operating point" if point.calibrated else "Operating point (not calibrated)"
        typer.echo(f"{label}: {point.summary()}")
        for line in describe_limits(m.get("coverage_limits") or {}, point):
            typer.echo(line)
    overrides = {
        k: v
        for k, v in asdict(settings.thresholds).items()
        if v is not None  # FRONTLINE_ANSWER_THRESHOLD etc.
    }
    if overrides:
        typer.echo(f"Configured thresholds win over the index's own: {overrides}")
