"""Matching jobs: queue a run or a publish, claim it in a worker under a lease, run it with its progress recorded.

A job's effects (drafts, or published matches with their relationships and statements) and its `done` state
commit in one transaction: a worker killed mid-job leaves nothing half done, and after its lease another worker
takes the job over and does it from the start. Progress and the lease are written in short transactions of
their own while the job only reads (the workflow writes nothing before its long part is over), so they never
wait for the job's transaction and the review page sees them at once.
"""

from __future__ import annotations

import gc
import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from lti_tool.courses.models import Membership
from lti_tool.extensions import db, utcnow
from lti_tool.matching import mentor_requests, workflow
from lti_tool.matching.models import ACTIVE_STATES, JobKind, JobState, MatchingJob
from lti_tool.outboxes import claim_statement, poll_until_stopped
from lti_tool.programs.models import Match, MatchStatus, Participant, Program
from lti_tool.settings import Settings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 3  # a job whose worker died this many times (out of memory, say) fails instead of looping
_DOING = {JobKind.RUN.value: "Running matching", JobKind.PUBLISH.value: "Publishing drafts"}


def latest_job(program: Program) -> MatchingJob | None:
    return db.session.execute(
        select(MatchingJob).where(MatchingJob.program_id == program.id).order_by(MatchingJob.id.desc()).limit(1)
    ).scalar_one_or_none()


def refuse_while_busy(program: Program) -> None:
    """Drafts stay as they are while a run or a publish is queued or running: it would undo the change."""
    job = latest_job(program)
    if job is not None and job.active:
        raise workflow.MatchingError(
            f"{_DOING[job.kind]} is in progress ({describe(job)}).",
            hint="Wait until it has finished; its progress is shown on the review page.",
        )


def _size(program: Program, kind: JobKind) -> int:
    """What makes a job long: the drafts to publish, or the participants a run reads."""
    if kind is JobKind.PUBLISH:
        query = select(func.count(Match.id)).where(
            Match.program_id == program.id, Match.status == MatchStatus.DRAFT.value
        )
    else:
        query = (
            select(func.count(Participant.id))
            .join(Membership, Membership.id == Participant.membership_id)
            .where(workflow.in_pool(program))
        )
    return int(db.session.execute(query).scalar_one())


def start(program: Program, kind: JobKind, *, tool_base: str, settings: Settings) -> tuple[MatchingJob, bool]:
    """Queue a job of `kind` (the caller commits), and whether it is large enough for the jobs worker (else the
    request runs it at once, `run_now`). A second job of a program while one is queued or running is refused,
    by the database itself when two requests race."""
    refuse_while_busy(program)
    # Refused at once, in the instructor's words, rather than as a job that fails later.
    if kind is JobKind.RUN:
        workflow.refuse_unfit_pool(program)
    else:
        workflow.refuse_other_model_drafts(program)
    job = MatchingJob(program_id=program.id, kind=kind.value, state=JobState.QUEUED.value, tool_base=tool_base)
    try:
        with db.session.begin_nested():
            db.session.add(job)
    except IntegrityError:
        raise workflow.MatchingError(
            "A run of matching or a publish of this program has just started.",
            hint="Wait until it has finished; its progress is shown on the review page.",
        ) from None
    return job, _size(program, kind) >= settings.matching_jobs_from


@dataclass(frozen=True)
class Claim:
    job_id: int
    token: str


def _claim(settings: Settings, only: int | None = None) -> Claim | None:
    """Claim the oldest queued job, or a running one whose worker's lease ran out (it died), and commit."""
    now = utcnow()
    table = MatchingJob.__table__
    due = or_(
        table.c.state == JobState.QUEUED.value,
        and_(table.c.state == JobState.RUNNING.value, table.c.claimed_until < now),
    )
    if only is not None:
        due = and_(due, table.c.id == only)
    token = str(uuid.uuid4())
    claimed = db.session.execute(
        claim_statement(
            table,
            due=due,
            order=(table.c.id,),
            values={
                "state": JobState.RUNNING.value,
                "claim_token": token,
                "claimed_until": now + timedelta(seconds=settings.jobs_lease_seconds),
                "attempts": table.c.attempts + 1,
                "started_at": func.coalesce(table.c.started_at, now),
            },
            returning=(table.c.id,),
            postgresql=db.engine.dialect.name == "postgresql",
        ),
        {"limit": 1},
    ).scalar_one_or_none()
    db.session.commit()
    return None if claimed is None else Claim(claimed, token)


class _Reporter:
    """Writes a job's progress and renews its lease in transactions of their own (a heartbeat thread renews it
    while the engine computes), only while the claim is still this worker's."""

    def __init__(self, engine: Engine, claim: Claim, lease_seconds: int) -> None:
        self._engine, self._claim, self._lease = engine, claim, lease_seconds
        self._stop = threading.Event()
        self._heartbeat = threading.Thread(target=self._beat, name=f"matching-job-{claim.job_id}", daemon=True)

    def __enter__(self) -> _Reporter:
        self._heartbeat.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._heartbeat.join()

    def __call__(self, done: int, total: int) -> None:
        self._write(done=done, total=total)

    def _beat(self) -> None:
        while not self._stop.wait(self._lease / 3):
            try:
                self._write()
            except Exception:  # the next beat tries again; the job itself goes on
                log.warning("could not renew the lease of matching job %s", self._claim.job_id, exc_info=True)

    def _write(self, **values: Any) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                update(MatchingJob)
                .where(
                    MatchingJob.id == self._claim.job_id,
                    MatchingJob.claim_token == self._claim.token,
                    MatchingJob.state == JobState.RUNNING.value,  # a last beat after the outcome changes nothing
                )
                .values(claimed_until=utcnow() + timedelta(seconds=self._lease), **values)
            )


def _count(number: int, one: str, several: str) -> str:
    return f"{number:,} {one if number == 1 else several}"


def _work(job: MatchingJob, program: Program, settings: Settings, progress: workflow.Progress) -> str:
    """Do the job in the session's transaction (uncommitted); answers its outcome in words."""
    if job.attempts > MAX_ATTEMPTS:
        raise workflow.MatchingError(f"The job stopped {MAX_ATTEMPTS} times before it could finish; start it again.")
    if job.kind == JobKind.RUN.value:
        run = workflow.run_matching(program, progress=progress)
        return (
            f"Matching proposed {_count(run.matched, 'match', 'matches')}; "
            f"{_count(len(run.unmatched), 'mentee stays', 'mentees stay')} unmatched. Review below."
        )
    published = workflow.publish(program, settings=settings, tool_base=job.tool_base, progress=progress)
    return f"Published {_count(published, 'match', 'matches')}."


def _execute(claim: Claim, settings: Settings) -> MatchingJob:
    """Run a claimed job and record its outcome with its effects; answers the job as it ended."""
    job = db.session.get(MatchingJob, claim.job_id)
    program = db.session.get(Program, job.program_id) if job is not None else None
    assert job is not None and program is not None  # noqa: S101 (a job's program is deleted with its jobs)
    ours = and_(MatchingJob.id == claim.job_id, MatchingJob.claim_token == claim.token)
    outcome: dict[str, Any]
    # The heartbeat stops only once the outcome is committed: on SQLite a beat waits for the job's write lock, so
    # waiting for the heartbeat before committing held every large job up for the lock timeout (30 s).
    with _Reporter(db.engine, claim, settings.jobs_lease_seconds) as reporter:
        try:
            message = _work(job, program, settings, reporter)
        except workflow.MatchingError as error:
            db.session.rollback()
            outcome = {"state": JobState.FAILED.value, "error": f"{error.message} {error.hint}".strip()}
        except Exception:
            db.session.rollback()
            log.exception("matching job %s failed", claim.job_id)
            outcome = {"state": JobState.FAILED.value, "error": "The job failed unexpectedly; see the worker's log."}
        else:
            outcome = {"state": JobState.DONE.value, "message": message, "done": MatchingJob.total}
        finished = db.session.execute(
            update(MatchingJob).where(ours).values(finished_at=utcnow(), claimed_until=None, **outcome)
        )
        if finished.rowcount != 1:  # type: ignore[attr-defined]
            # The lease ran out and another worker took the job over: its run counts, this one's is undone.
            db.session.rollback()
            log.warning("matching job %s was taken over by another worker; its outcome here is dropped", claim.job_id)
        else:
            db.session.commit()
    db.session.expire_all()
    found = db.session.get(MatchingJob, claim.job_id)
    assert found is not None  # noqa: S101
    return found


def run_now(job: MatchingJob, settings: Settings) -> MatchingJob:
    """Run a just-queued job in this process (a small program's, in the request that started it)."""
    claim = _claim(settings, only=job.id)
    if claim is None:  # a worker was quicker
        db.session.refresh(job)
        return job
    return _execute(claim, settings)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a job runs in the jobs worker's process.

    A job makes hundreds of thousands of objects that live until it ends (the pool, the engine's answer, 6,000
    statements), and the collector rescanned them all again and again as they grew: a third of a 6,000-draft
    publish's CPU time. Reference counting frees them when the job ends, and the collector runs again after. Not
    in a web worker (`run_now`): it would be off for the requests the worker's other threads serve meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_jobs_worker(
    settings: Settings, stop: threading.Event, *, on_job: Callable[[MatchingJob], None] | None = None
) -> None:
    """Claim and run jobs, and expire mentees' requests past their deadline, until `stop` is set; sleeps between
    polls only when no job was waiting."""

    def one_round() -> int:
        # Mentees' requests past their deadline are expired here too, so pages need not be visited for it.
        if mentor_requests.expire_due(None, settings=settings):
            db.session.commit()
        claim = _claim(settings)
        if claim is None:
            return 0
        with _collector_paused():
            job = _execute(claim, settings)
        if on_job is not None:
            on_job(job)
        return 1

    poll_until_stopped(stop, settings.jobs_poll_interval_seconds, one_round)


def describe(job: MatchingJob) -> str:
    """The job's state in words, for the review page and its status endpoint."""
    if job.state == JobState.QUEUED.value:
        return "waiting for a worker to start it"
    if job.state == JobState.RUNNING.value:
        if not job.total:
            return "starting"
        unit = "steps" if job.kind == JobKind.RUN.value else "matches prepared"
        return f"{job.done:,} of {job.total:,} {unit} ({job.percent}%)"
    if job.state == JobState.DONE.value:
        return job.message or "done"
    return job.error or "failed"


def status(job: MatchingJob | None) -> dict[str, object]:
    """What the review page's progress script reads: small, and the same whatever the program's size."""
    if job is None:
        return {"state": "none"}
    return {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "active": job.state in ACTIVE_STATES,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "text": f"{_DOING[job.kind]}: {describe(job)}" if job.active else describe(job),
    }
