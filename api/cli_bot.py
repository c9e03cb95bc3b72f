"""`frontline bot ...`: train the Rasa model (cached by a hash of its data), run its test
stories, and cross-validate its NLU."""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli_common import fail as _fail
from api.settings import Settings

bot_app = typer.Typer(help="The Rasa bot.", no_args_is_help=True)


@bot_app.command("train")
def bot_train(
    force: bool = typer.Option(False, help="Train even if the data did not change."),
) -> None:
    """Train the Rasa model if its training data (bot/ and the KB's questions) changed."""
    from api.rasa_process import RasaError, train

    settings = Settings()
    try:
        model, trained = train(
            settings.bot_dir,
            settings.models_path,
            settings.rasa_bin,
            kb_dir=settings.kb_dir,
            force=force,
        )
    except RasaError as error:
        _fail(str(error))
        return
    typer.echo(f"{'Trained' if trained else 'Up to date:'} {model}")


def _trained(settings: Settings) -> tuple[Path, Path]:
    from api.rasa_process import RasaError, train, write_kb_training_data

    try:
        model, _ = train(
            settings.bot_dir, settings.models_path, settings.rasa_bin, kb_dir=settings.kb_dir
        )
    except RasaError as error:
        _fail(str(error))
        raise
    generated = write_kb_training_data(
        settings.kb_dir, settings.bot_dir, settings.models_path / "generated"
    )
    return model, generated


@bot_app.command("test")
def bot_test() -> None:
    """Validate the training data (`rasa data validate`) and run the test stories in
    bot/tests (`rasa test`); exits non-zero on any warning or wrong prediction."""
    from api.rasa_process import test_stories, validate

    settings = Settings()
    model, generated = _trained(settings)
    if validate(settings.bot_dir, settings.rasa_bin, generated) != 0:
        _fail("rasa data validate found problems (see above)")
    out = settings.var_dir / "bot-test"
    if test_stories(settings.bot_dir, settings.rasa_bin, model, out) != 0:
        _fail(f"test stories failed; see {out}/failed_test_stories.yml")
    typer.echo(f"Training data valid; all test stories pass (reports in {out}).")


@bot_app.command("eval")
def bot_eval(folds: int = typer.Option(3, help="Cross-validation folds.")) -> None:
    """NLU cross-validation: precision, recall and F1 per intent."""
    from api.rasa_process import RasaError, nlu_cross_validation

    settings = Settings()
    _, generated = _trained(settings)
    try:
        report = nlu_cross_validation(
            settings.bot_dir, settings.rasa_bin, generated, settings.var_dir / "bot-eval", folds
        )
    except RasaError as error:
        _fail(str(error))
        return
    typer.echo(f"\n{'intent':<20} {'precision':>9} {'recall':>7} {'F1':>6} {'n':>5}")
    for intent, row in sorted(report.items()):
        if (
            isinstance(row, dict)
            and "f1-score" in row
            and intent not in ("macro avg", "weighted avg", "micro avg")
        ):
            typer.echo(
                f"{intent:<20} {row['precision']:>9.3f} {row['recall']:>7.3f} "
                f"{row['f1-score']:>6.3f} {row['support']:>5}"
            )
    for summary in ("macro avg", "weighted avg"):
        row = report.get(summary)
        if isinstance(row, dict):
            typer.echo(
                f"{summary:<20} {row['precision']:>9.3f} {row['recall']:>7.3f} "
                f"{row['f1-score']:>6.3f} {row['support']:>5}"
            )
