"""`cnai classify`, `cnai eval`, `cnai train`, `cnai label`, `cnai reclassify`.

Only click is imported here; everything else is imported inside the commands so that
`cnai classify` starts in a fraction of a second.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command("classify")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
def classify(file: Path | None) -> None:
    """Classify JSON Lines articles from FILE (or stdin) into JSON Lines verdicts on stdout.

    Input objects: {"id", "title", "summary", optional "link", "lang"}. Output, one line per
    record in input order: {"id", "relevant", "score", "topics", "entities", "reasons"}, plus
    "priority" (high, normal or low) on relevant items only, or
    {"id", "error"} for a malformed line. Blank lines are skipped. Exit code is non-zero
    only when the input cannot be read.
    """
    import io

    from services.classify.contract import classify_stream

    try:
        if file is None:
            source = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
        else:
            source = file.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        click.echo(f"cnai classify: cannot read {file}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n", write_through=False)
    try:
        with source:
            stats = classify_stream(source, out)
    except BrokenPipeError:
        sys.stderr.close()  # the reader went away (e.g. `| head`): not an error
        sys.exit(0)
    except OSError as exc:
        click.echo(f"cnai classify: reading input failed: {exc}", err=True)
        sys.exit(1)
    finally:
        try:
            out.flush()
        except BrokenPipeError:
            pass
        out.detach()
    if stats.errors:
        shown = ", ".join(str(n) for n in stats.error_lines[:20]) + (", ..." if len(stats.error_lines) > 20 else "")
        name = "stdin" if file is None else str(file)
        click.echo(
            f"cnai classify: {stats.records} classified, {stats.errors} malformed line(s) of {name}: {shown}", err=True
        )


@click.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--no-misclassified", is_flag=True, help="Leave out the list of misclassified items.")
@click.option(
    "--topics",
    "topics_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Topic and priority labels (dev_topics.jsonl format): adds topic micro-P/R/F1 and the priority matrix.",
)
def eval_command(file: Path, as_json: bool, no_misclassified: bool, topics_file: Path | None) -> None:
    """Precision, recall and F1 on a labelled JSON Lines FILE (dev.jsonl format), next to a keyword baseline,
    with the score's calibration; with --topics, topic figures and the priority confusion matrix."""
    from services.classify import classifier_version
    from services.classify.evaluate import evaluate, format_report, read_labelled, read_topic_labels

    try:
        items = read_labelled(file)
        topic_labels = read_topic_labels(topics_file) if topics_file is not None else None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    result = evaluate(items, topic_labels=topic_labels)
    if as_json:
        data = result.as_dict()
        if no_misclassified:
            data.pop("misclassified")
        import json

        click.echo(json.dumps({"classifier_version": classifier_version(), **data}, ensure_ascii=False, indent=2))
    else:
        click.echo(f"classifier {classifier_version()} on {file} ({len(items)} items)")
        click.echo(format_report(result, show_misclassified=not no_misclassified))


@click.command("train")
@click.option(
    "--dev",
    "dev_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Labelled JSON Lines to train on too (dev.jsonl format; borderline items skipped).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the model (default: CLASSIFIER_MODEL_PATH or var/models/relevance.pkl).",
)
@click.option("--labels/--no-labels", default=True, help="Use reader feedback from the labels table (default: yes).")
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds.")
def train(dev_file: Path | None, out_path: Path | None, labels: bool, folds: int) -> None:
    """Fit the learned layer on reader feedback and a labelled file; print cross-validated P/R."""
    from services.classify.learned import model_path
    from services.classify.training import Example, save_model
    from services.classify.training import train as fit

    examples: list[Example] = []
    if labels:
        from sqlalchemy.exc import SQLAlchemyError

        from services.classify.feedback import labelled_examples
        from services.database import unit_of_work

        try:
            with unit_of_work() as session:
                examples.extend(labelled_examples(session))
        except SQLAlchemyError as exc:
            raise click.ClickException(
                f"cannot read the labels table ({type(exc).__name__}); use --no-labels to train on --dev alone"
            ) from exc
        click.echo(f"labels table: {len(examples)} labelled articles")
    if dev_file is not None:
        from services.classify.evaluate import read_labelled

        try:
            items = read_labelled(dev_file)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from exc
        judged = [i for i in items if i.relevant is not None]
        examples.extend(Example(i.title, i.summary, bool(i.relevant), i.lang, i.link) for i in judged)
        click.echo(f"{dev_file}: {len(judged)} labelled items ({len(items) - len(judged)} borderline skipped)")
    try:
        artefact, report = fit(examples, folds=folds)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"trained on {report.examples} examples ({report.relevant} relevant), {report.folds}-fold cross-validation:"
    )
    for name, figures in report.cv.items():
        label = f"{name} (weight {figures['weight']})" if name == "blend" else name
        by_language = "  ".join(
            f"{group}: P {m['precision']:.3f} R {m['recall']:.3f}" for group, m in figures.get("languages", {}).items()
        )
        click.echo(
            f"  {label:22} P {figures['precision']:.3f}  R {figures['recall']:.3f}  F1 {figures['f1']:.3f}   {by_language}"
        )
    destination = out_path or model_path()
    digest = save_model(artefact, destination)
    click.echo(f"model written to {destination} (ml-{digest}, blend weight {report.blend})")
    if report.blend == 0:
        click.echo("blend weight 0: under cross-validation the lexicon alone does better; the model changes no verdict")


@click.command("label")
@click.argument("target", metavar="ARTICLE_ID|story:STORY_ID")
@click.argument("verdict", type=click.Choice(["relevant", "irrelevant"]))
def label(target: str, verdict: str) -> None:
    """Record a reader's verdict on a stored article, or on every article of a story (used by `cnai train`).

    `cnai alerts show ID` prints both ids: `cnai label 42 relevant`, `cnai label story:7 irrelevant`.
    """
    from services.classify.feedback import UnknownArticle, record_label, record_story_label
    from services.database import unit_of_work

    kind, _, number = target.rpartition(":")
    if kind not in ("", "article", "story") or not number.isdigit():
        raise click.BadParameter(
            f"{target!r}: give an article id (42, article:42) or a story id (story:7)", param_hint="TARGET"
        )
    try:
        with unit_of_work() as session:
            if kind == "story":
                labels = record_story_label(session, int(number), verdict == "relevant")
                click.echo(f"story {number} labelled {verdict} ({len(labels)} article(s))")
            else:
                record_label(session, int(number), verdict == "relevant")
                click.echo(f"article {number} labelled {verdict}")
    except UnknownArticle as exc:
        click.echo(f"cnai: {exc} (`cnai alerts list` and `cnai alerts show ID` print article and story ids)", err=True)
        sys.exit(1)


@click.command("reclassify")
@click.option(
    "--since",
    required=True,
    help="Re-score articles published at or after this date/time (ISO 8601; UTC if no offset).",
)
def reclassify(since: str) -> None:
    """Classify stored articles with the current classifier version (skips those already done)."""
    from datetime import datetime, timezone

    from services.classify import classifier_version
    from services.classify.reclassify import reclassify_articles
    from services.database import unit_of_work

    try:
        moment = datetime.fromisoformat(since)
    except ValueError as exc:
        raise click.BadParameter(f"not an ISO 8601 date: {since!r}", param_hint="--since") from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    with unit_of_work() as session:
        added = reclassify_articles(session, moment)
    click.echo(f"{added} article(s) classified with {classifier_version()}")
