"""`cnai eval-stories FILE.jsonl`: pairwise precision and recall of story grouping on a labelled file."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.command("eval-stories")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--order",
    type=click.Choice(["stream", "outlets"]),
    default="stream",
    show_default=True,
    help="stream: items one by one in published order; outlets: one feed document per outlet, all at once.",
)
@click.option(
    "--seed", type=int, default=None, help="With --order outlets: store the outlets in a shuffled order (this seed)."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--errors", "show_errors", is_flag=True, help="List wrongly joined and missed pairs.")
def eval_stories(file: Path, order: str, seed: int | None, as_json: bool, show_errors: bool) -> None:
    """Ingest labelled items (id, story, lang, outlet, title, summary, link, published) into a temporary
    SQLite database as the poll would, and score the stories they end up in."""
    from services.stories.evaluate import EvalOrder, StoryEvalError, evaluate_stories

    try:
        report = evaluate_stories(file, EvalOrder(order), seed=seed)
    except StoryEvalError as exc:
        click.echo(f"cnai eval-stories: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
        return
    click.echo(f"{report.file} (order: {report.order})")
    for name, s in [("all", report.all), *report.parts.items()]:
        click.echo(
            f"{name:6} items {s.items:4}  pairs predicted {s.predicted_pairs:4} true {s.true_pairs:4} correct {s.correct_pairs:4}  "
            f"precision {s.precision:.3f}  recall {s.recall:.3f}  "
            f"same-language recall {s.same_language_recall:.3f} ({s.same_language_pairs})  "
            f"cross-language recall {s.cross_language_recall:.3f} ({s.cross_language_pairs})"
        )
    if show_errors:
        for a, b in report.false_joins:
            click.echo(f"false join: {a[:70]}  <>  {b[:70]}")
        for a, b in report.missed:
            click.echo(f"missed:     {a[:70]}  <>  {b[:70]}")


COMMANDS = [eval_stories]
