"""`cnai model`: versions of the learned layer stored in the database (list, retrain, promote, rollback)."""

from __future__ import annotations

import json
from pathlib import Path

import click


def _serve() -> None:
    """Bring the newly active model to this machine's model file at once (workers follow within 30 s)."""
    from services.classify.learned import forget_model, model_path
    from services.learning import serve_database_model

    serve_database_model(model_path())
    forget_model()


@click.group("model")
def model() -> None:
    """Learned-layer versions: every worker serves the one active in the database."""


@model.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def model_list(fmt: str) -> None:
    """Every stored model, newest first: version, status, cross-validated P/R, examples, note."""
    from services.database import unit_of_work
    from services.learning import list_models

    with unit_of_work() as session:
        rows = [
            {
                "version": m.version,
                "status": m.status,
                "created_at": m.created_at.isoformat(),
                "promoted_at": m.promoted_at.isoformat() if m.promoted_at else None,
                "metrics": m.metrics,
                "note": m.note,
            }
            for m in list_models(session)
        ]
    if fmt == "json":
        click.echo(json.dumps(rows))
        return
    if not rows:
        click.echo("no stored models (`cnai model retrain` trains one from readers' labels)")
    for r in rows:
        m: dict[str, float] = r["metrics"]  # type: ignore[assignment]  # JSON column: the figures dict
        click.echo(
            f"{r['version']!s:12} {r['status']!s:9} P {m.get('precision', 0):.3f} R {m.get('recall', 0):.3f} "
            f"{int(m.get('examples', 0)):5d} examples  {str(r['created_at'])[:16]}  {r['note'] or ''}"
        )


@model.command("retrain")
@click.option(
    "--dev",
    "dev_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Labelled JSON Lines to train and evaluate on too (default: MODEL_EVAL_FILE).",
)
@click.option(
    "--min-new-labels",
    default=1,
    show_default=True,
    type=click.IntRange(0),
    help="Skip unless this many labels arrived since the last model.",
)
def model_retrain(dev_file: Path | None, min_new_labels: int) -> None:
    """Train on labels (+ dev file), store the model, promote it only if precision and recall do not drop."""
    from services.database import unit_of_work
    from services.learning import retrain
    from services.settings import get_settings

    with unit_of_work() as session:
        outcome = retrain(session, dev_file or get_settings().model_eval_file, min_new_labels=min_new_labels)
        version = outcome.model.version if outcome.model else None
    if outcome.promoted:
        _serve()
    click.echo(f"{version or 'no model'}: {outcome.reason}")


@model.command("promote")
@click.argument("version")
@click.option("--force", is_flag=True, help="Promote even if precision or recall is lower than the active model's.")
def model_promote(version: str, force: bool) -> None:
    """Make VERSION the active model (refused when it loses precision or recall, unless --force)."""
    from services.database import unit_of_work
    from services.learning import ModelError, promote

    try:
        with unit_of_work() as session:
            outcome = promote(session, version, force=force)
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    _serve()
    click.echo(f"{version}: {outcome.reason}")
    if not outcome.promoted and "already" not in outcome.reason:
        raise SystemExit(1)


@model.command("rollback")
def model_rollback() -> None:
    """Retire the active model and reactivate the one before it (or the lexicon alone)."""
    from services.database import unit_of_work
    from services.learning import ModelError, rollback

    try:
        with unit_of_work() as session:
            previous = rollback(session)
            name = previous.version if previous else None
    except ModelError as exc:
        raise click.ClickException(str(exc)) from None
    _serve()
    click.echo(f"active model now {name}" if name else "no model active: the lexicon alone classifies")


COMMANDS = [model]
