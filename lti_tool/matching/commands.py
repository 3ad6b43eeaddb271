"""`mentor-lti match`: run the matching engine on an exported cohort file, outside any LMS."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import ClassVar, TextIO

import click

from lti_tool.database import with_database
from lti_tool.matching.cohort_file import read_cohort_file, result_document
from lti_tool.matching.engine import MAX_SEED, MatchingInputError, MatchOptions, MentoringModel
from lti_tool.matching.engine import match as run_match

# A cohort is "large" (progress shown unless --no-progress) from this many mentor-mentee pairs on.
PROGRESS_PAIRS = 2_000_000


class ProgressReport:
    """Progress on standard error: a line per stage and, while scoring, every 10% (or a live line on a TTY)."""

    STAGES: ClassVar[dict[str, str]] = {
        "scoring": "Scoring pairs",
        "solving": "Finding the optimal assignment",
        "certifying": "Proving it optimal over every allowed pair",
        "explaining": "Explaining",
    }

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.stage = ""
        self.shown = -1
        self.started = time.monotonic()

    def say(self, text: str) -> None:
        click.echo(text, file=self.stream)

    def __call__(self, stage: str, done: int, total: int) -> None:
        label = self.STAGES.get(stage, stage)
        if stage != self.stage:
            if self.live and self.stage == "scoring":
                click.echo("", file=self.stream)
            self.stage, self.shown = stage, -1
            if stage != "scoring":
                self.say(f"{label}... ({time.monotonic() - self.started:.1f} s)")
                return
        if stage != "scoring" or total <= 0:
            return
        percent = min(100, 100 * done // total)
        step = percent if self.live else percent // 10 * 10
        if step == self.shown:
            return
        self.shown = step
        if self.live:
            click.echo(f"\r{label}: {percent}%", file=self.stream, nl=False)
        else:
            self.say(f"{label}: {step}%")


@click.command("match")
@click.argument("input_file", metavar="INPUT.json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    "output_file",
    metavar="OUTPUT.json",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Where to write the matches (default: standard output).",
)
@click.option(
    "--model",
    type=click.Choice(["one-on-one", "group", "peer", "reverse"]),
    help="Mentoring model; overrides the file's `model` (default: one-on-one).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    help="Decides between equally good matchings; overrides the file's `seed` (default 0).",
)
@click.option(
    "--exact", is_flag=True, help="Give the solver every allowed pair: exact, but slow beyond a few thousand."
)
@click.option(
    "--progress/--no-progress", default=None, help="Show progress on standard error (default: for large cohorts)."
)
def match(
    input_file: Path, output_file: Path | None, model: str | None, seed: int | None, exact: bool, progress: bool | None
) -> None:
    """Match a cohort file (format: config/matching-input.schema.json) and write the matches, with an
    explanation for each and a reason for each mentee left unmatched (config/matching-output.schema.json)."""
    try:
        loaded = read_cohort_file(input_file, model=MentoringModel(model) if model else None)
    except MatchingInputError as error:
        lines = [f"{input_file.name}: {problem}" if problem.path else str(problem) for problem in error.problems]
        raise click.ClickException("\n".join(lines)) from None
    mentors, mentees = loaded.cohort.sides(loaded.program.model)
    show = progress if progress is not None else len(mentors) * len(mentees) >= PROGRESS_PAIRS
    report = ProgressReport(sys.stderr) if show else None
    if report is not None:
        report.say(f"Matching {len(mentees):,} mentees with {len(mentors):,} mentors ({loaded.program.model.value}).")
    result = run_match(
        loaded.program,
        loaded.cohort,
        seed=seed if seed is not None else (loaded.seed or 0),
        options=MatchOptions(exhaustive=exact),
        progress=report,
    )
    text = json.dumps(result_document(result, loaded), indent=2, ensure_ascii=False) + "\n"
    if output_file is None:
        click.echo(text, nl=False)
    else:
        try:
            output_file.write_text(text, encoding="utf-8")
        except OSError as error:
            raise click.ClickException(f"Could not write {output_file}: {error.strerror}") from None
    matched = int(result.stats["matched"])
    proof = result.proof
    proved = "proven optimal" if proof.optimal else f"within {100 * proof.gap:.3g} % of the best possible"
    click.echo(
        f"Matched {matched:,} of {len(mentees):,} mentees (total score {result.objective:,.2f}, {proved}); "
        f"{len(result.unmatched):,} unmatched, each with the reason.",
        err=True,
    )


@click.group("jobs")
def jobs() -> None:
    """Runs of matching and publishes of large programs, started on the review page."""


@jobs.command("worker")
@with_database
def jobs_worker() -> None:
    """Run queued matching jobs until stopped (SIGTERM or Ctrl+C finish the job in flight); run one or several."""
    from lti_tool.matching.jobs import describe, run_jobs_worker
    from lti_tool.matching.models import MatchingJob
    from lti_tool.outboxes import stop_on_signals
    from lti_tool.runtime import runtime

    stop = stop_on_signals()
    click.echo("Matching jobs worker waiting for runs and publishes; stop with Ctrl+C.")

    def report(job: MatchingJob) -> None:
        click.echo(f"Job {job.id} ({job.kind}) {job.state}: {describe(job)}")

    run_jobs_worker(runtime().settings, stop, on_job=report)
    click.echo("Matching jobs worker stopped.")
