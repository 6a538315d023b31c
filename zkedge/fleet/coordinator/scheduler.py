"""Scheduler: the life of jobs, from submit (or recovery after a restart) to their end.

Tasks are carved lazily from each MSM's free intervals when a worker has a free slot
(:mod:`zkedge.fleet.coordinator.dispatch`), so their size follows the worker's current capacity.
Reports name (task id, attempt) and are idempotent: only the first completion of a task counts,
and reports for attempts that are finished, lost (worker declared dead / stream broken) or
cancelled are acknowledged and ignored. A task that fails ``max_attempts`` times fails its job.
Blame asks for re-runs of finished tasks on other workers (:meth:`Scheduler.request_verify`).

Two clocks end jobs nobody can or will use (:meth:`Scheduler.tick`): a *watched* job (submitted
over gRPC without ``detach``) with no WatchJob stream open for ``watch_grace`` seconds is
cancelled, and a job some of whose remaining work no live worker can take
(:func:`zkedge.fleet.coordinator.dispatch.unplaceable`) for ``no_worker_timeout`` seconds fails
with the reason.

Everything here is synchronous state manipulation driven from trio tasks; every state change
ends in :meth:`Scheduler.dispatch`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import trio

from zkedge.curves import Point
from zkedge.fleet.coordinator.dispatch import Dispatcher, unplaceable
from zkedge.fleet.coordinator.model import (
    CANCELLED,
    DONE,
    FAILED,
    LOST,
    PENDING,
    RUNNING,
    Attempt,
    Job,
    MsmState,
    PartialResult,
    ProofTask,
    Task,
    VerifyRequest,
    align_scalars,
    clock,
)
from zkedge.fleet.coordinator.registry import Registry, WorkerRecord
from zkedge.fleet.coordinator.sizing import SizingPolicy
from zkedge.fleet.coordinator.store import Store, StoredJob, StoreError
from zkedge.fleet.coordinator.tables import Table, TableCache

log = logging.getLogger("zkedge.fleet.coordinator")

__all__ = ["Scheduler", "split_proof"]


def _ec() -> Any:
    from zkedge import ec  # native-backed; imported lazily so pure parts load without it

    return ec


class Scheduler:
    """Jobs, tasks, attempts and dispatch; see the module docstring."""

    def __init__(
        self,
        store: Store,
        registry: Registry,
        policy: SizingPolicy,
        *,
        max_attempts: int = 5,
        pipeline_depth: int = 2,
        history: int = 100,
        keep_scalars: int = 4,
        table_memory: int | None = None,
        watch_grace: float = 30.0,
        no_worker_timeout: float = 60.0,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if not (watch_grace > 0 and no_worker_timeout > 0):
            raise ValueError("watch_grace and no_worker_timeout must be > 0 (math.inf: never)")
        self.watch_grace = watch_grace
        self.no_worker_timeout = no_worker_timeout
        self.store = store
        self.registry = registry
        self.max_attempts = max_attempts
        self.history = history
        self.keep_scalars = keep_scalars
        self.jobs: dict[str, Job] = {}  # running jobs and the most recent finished ones
        self.running: dict[str, Job] = {}
        self.tasks: dict[str, Task] = {}
        self.proof_tasks: dict[str, ProofTask] = {}  # whole-proof tasks of kept jobs
        self.tables = TableCache(store, table_memory)
        self.dispatcher = Dispatcher(
            store, registry, policy, self.running, self.tasks, pipeline_depth=pipeline_depth
        )
        self.dispatcher.on_store_error = self._fail_job
        self.dispatcher.on_cancel = lambda: self.on_task("cancelled")
        registry.on_lost = self.worker_lost
        # Observers (the coordinator's metrics): a task attempt's outcome ("done", "failed",
        # "handed_back", "lost", "timed_out"), and a job's end (Job.outcome is set).
        self.on_task: Callable[[str], None] = lambda outcome: None
        self.on_job_end: Callable[[Job], None] = lambda job: None

    @property
    def policy(self) -> SizingPolicy:
        """The sizing policy (settable: new tasks follow it)."""
        return self.dispatcher.policy

    @policy.setter
    def policy(self, policy: SizingPolicy) -> None:
        self.dispatcher.policy = policy

    @property
    def pending(self) -> list[Task]:
        """Fixed ranges waiting for a (new) attempt."""
        return self.dispatcher.pending

    def dispatch(self) -> None:
        """Place what is waiting (see :mod:`zkedge.fleet.coordinator.dispatch`)."""
        self.dispatcher.dispatch()

    # ------------------------------------------------------------------ tables and jobs
    def add_table(self, curve: str, group: str, mont: bytes, digest: str | None = None) -> str:
        """Store a base table (mont bytes); returns its content hash."""
        return self.tables.add(curve, group, mont, digest)

    def table(self, h: str) -> Table | None:
        """(curve, group, n, mont bytes) for a content hash, from memory or the store."""
        return self.tables.get(h)

    def submit(
        self, label: str, msms: Sequence[tuple[str, int, bytes]], *, watched: bool = False
    ) -> Job:
        """New job from ``(table_hash, n, scalars)`` triples (tables already added).
        ``watched``: cancel it when no WatchJob stream has followed it for ``watch_grace``."""
        if not msms:
            raise ValueError("a job needs at least one MSM")
        job_id = secrets.token_hex(8)
        states = []
        for i, (h, n, scalars) in enumerate(msms):
            t = self.table(h)
            if t is None:
                raise ValueError(f"unknown table {h}")
            if not 0 < n <= t[2] or len(scalars) != 32 * n:
                raise ValueError(f"MSM {i}: need 0 < n <= {t[2]} and 32*n scalar bytes")
            states.append(
                MsmState(
                    i, t[0], t[1], h, n, scalars, [(0, n)], self.policy.block_points, table_n=t[2]
                )
            )
        align_scalars(states)
        self._count_transfer(states)
        self.store.add_job(
            job_id, label, [(m.table_hash, m.n, m.scalars) for m in states], watched=watched
        )
        job = Job(job_id, label, states, watched=watched)
        self.jobs[job_id] = job
        self.running[job_id] = job
        self.dispatch()
        return job

    def submit_proof(
        self,
        curve: str,
        zkey_hash: str,
        zkey_bytes: int,
        witness: bytes,
        *,
        units: float,
        points: int,
        memory: int,
        label: str = "groth16 whole",
    ) -> Job:
        """New whole-proof job: one worker proves ``witness`` with the zkey ``zkey_hash``
        (``units``/``points``: its MSMs' work, for timing; ``memory``: what a worker needs).
        Not stored: proof jobs live in memory (see :mod:`zkedge.fleet.coordinator.proofs`)."""
        job = Job(secrets.token_hex(8), label, [])
        task = ProofTask(
            f"{job.id}.proof", job, curve, zkey_hash, zkey_bytes, witness, units, points, memory
        )
        job.proof = task
        job.points_total = points
        self.jobs[job.id] = job
        self.running[job.id] = job
        self.proof_tasks[task.id] = task
        self.dispatcher.proofs.append(task)
        self.dispatch()
        return job

    def _count_transfer(self, msms: list[MsmState]) -> None:
        """Count each point's scalar transfer in its MSM's work, at the fleet's median of
        compute per byte (a worker's points per second over its measured download rate)
        times the bytes a point's scalar takes on the wire (its MSM's packed average when
        every measured worker reads packed scalars), so that shares balance time rather
        than compute alone: on a slow link an MSM of fresh full-size scalars (H) weighs more
        than the witness MSMs, which share one slice and pack small. Nothing is counted while
        no worker has measured its link."""
        measured = [
            (w, w.load.recv_bytes_per_sec)
            for w in self.registry.workers.values()
            if w.assignable and w.load is not None and w.load.recv_bytes_per_sec > 0
        ]
        if not measured:
            return
        rates = sorted(w.capacity_pps(self.policy) / rate for w, rate in measured)
        per_byte = rates[len(rates) // 2]
        packed = all(w.node.packed_scalars for w, _ in measured)
        for m in msms:
            if m.lead < 0 or m.lead == m.idx:
                m.byte_units = m.wire_bytes(0, m.n, packed) / m.n * per_byte
                m.wire_units, m.wire_packed = per_byte, packed

    def recover(self) -> list[Job]:
        """Rebuild unfinished jobs from the store after a restart."""
        ec = None
        for sj in self.store.unfinished_jobs():
            job = self._rebuild(sj)
            for t in job.tasks.values():
                if t.state == DONE and t.result is not None:
                    ec = ec or _ec()
                    t.point = ec.decode(t.msm.curve, t.msm.group, t.result, "be", check="none")
            self.jobs[job.id] = job
            self.running[job.id] = job
            for m in job.msms:
                self._maybe_finish_msm(job, m)
        return list(self.jobs.values())

    def _rebuild(self, sj: StoredJob) -> Job:
        msms = []
        for sm in sj.msms:
            t = self.table(sm.table_hash)
            if t is None:
                raise RuntimeError(f"store is missing table {sm.table_hash}")
            msms.append(
                MsmState(
                    sm.idx,
                    t[0],
                    t[1],
                    sm.table_hash,
                    sm.n,
                    sm.scalars,
                    [],
                    self.policy.block_points,
                    table_n=t[2],
                )
            )
        align_scalars(msms)
        self._count_transfer(msms)
        # A watched job's grace period starts again at recovery: its client may reconnect.
        job = Job(sj.id, sj.label, msms, watched=sj.watched)
        covered: dict[int, list[tuple[int, int]]] = {m.idx: [] for m in msms}
        for st in sj.tasks:
            if st.w1 > st.w0:
                # a window task: its MSM's plan is not stored, so the MSM's points are free
                # again and carved anew (window tasks that finished are computed again)
                continue
            m = msms[st.msm_idx]
            task = Task(st.id, job, m, st.start, st.count, attempts=st.attempts)
            if st.state == DONE and st.result is not None:
                task.state, task.result, task.worker_id = DONE, st.result, st.worker_id
                task.compute_seconds = st.compute_seconds or 0.0
                job.points_done += st.count
            else:
                self.pending.append(task)
            job.tasks[task.id] = task
            self.tasks[task.id] = task
            covered[m.idx].append((st.start, st.start + st.count))
        for m in msms:
            pos, free = 0, []
            for s, e in sorted(covered[m.idx]):
                if s > pos:
                    free.append((pos, s))
                pos = max(pos, e)
            if pos < m.n:
                free.append((pos, m.n))
            m.free = free
        return job

    def cancel_job(self, job: Job, reason: str = "cancelled") -> bool:
        """End a running job as cancelled and call back its running attempts (``TaskCancel``);
        False if it had already ended."""
        if job.state != RUNNING:
            return False
        log.info("job %s cancelled: %s", job.id, reason)
        self._fail_job(job, f"cancelled: {reason}", state=CANCELLED)
        return True

    def _check_deadlines(self, now: float) -> None:
        """Cancel watched jobs nobody follows; fail jobs no worker can take (see the module
        docstring)."""
        workers = list(self.registry.workers.values())
        for job in list(self.running.values()):
            if job.watched and job.watchers == 0:
                if job.unwatched_since is None:
                    job.unwatched_since = now
                if now - job.unwatched_since > self.watch_grace:
                    self.cancel_job(
                        job, f"no client has watched it for {self.watch_grace:g} s (not detached)"
                    )
                    continue
            why = unplaceable(job, workers, self.pending)
            if why is None:
                job.stuck_since = None
            elif job.stuck_since is None:
                job.stuck_since = now
            elif now - job.stuck_since > self.no_worker_timeout:
                self._fail_job(job, f"no worker can take this job: {why}")

    # ------------------------------------------------------------------ dispatch
    # ------------------------------------------------------------------ reports
    def _attempt(
        self, worker_id: str, task_id: str, attempt: int, session_id: str | None
    ) -> tuple[Attempt | None, str]:
        task: Task | ProofTask | None = self.tasks.get(task_id) or self.proof_tasks.get(task_id)
        if task is None:
            return None, "unknown task"
        att = task.runs.get(attempt)
        if att is None:
            return None, "unknown attempt"
        if att.worker_id != worker_id:
            return None, "attempt was assigned to another worker"
        if session_id is not None and att.session_id != session_id:
            return None, "attempt was assigned to another session of this worker"
        if att.state != RUNNING:
            return None, f"attempt already {att.state}"
        return att, ""

    def complete(
        self,
        worker_id: str,
        task_id: str,
        attempt: int,
        result: bytes,
        compute_seconds: float,
        session_id: str | None = None,
        cpu_share: float = 0.0,
    ) -> tuple[bool, str]:
        """A worker's result for (task, attempt): (accepted, detail). Idempotent. With a
        ``session_id`` (the service always gives one) only the session the attempt was sent
        down may report it. ``cpu_share`` (0: not measured) is the share of its cores the task
        had: the worker's rate is counted with it (``WorkerRecord.factor``)."""
        att, why = self._attempt(worker_id, task_id, attempt, session_id)
        if att is None:
            return False, why
        if isinstance(att.task, ProofTask):
            return self._complete_proof(att, result, compute_seconds, session_id)
        task = att.task
        w = self.registry.workers.get(worker_id)
        try:
            point = _ec().decode(task.msm.curve, task.msm.group, result, "be", check="curve")
        except ValueError as exc:
            self.fail(
                worker_id,
                task_id,
                attempt,
                f"bad partial sum: {exc}",
                handed_back=False,
                session_id=session_id,
            )
            return False, f"bad partial sum: {exc}"
        att.state = DONE
        self.on_task("done")
        if w is not None:
            w.inflight.pop((task_id, attempt), None)
            self.dispatcher.promote(w)
            if compute_seconds > 0:
                if cpu_share > 0:
                    w.note_cpu_share(cpu_share, compute_seconds)
                w.capacity.observe(
                    task.compute_units,
                    compute_seconds,
                    w.task_factor(self.policy, cpu_share),
                    task.count,
                )
                w.compute_seconds += compute_seconds
        if att.verify is not None:
            self._finish_verify(att, point, result)
            self.dispatch()
            return True, "verification result"
        if task.state == DONE:
            self.dispatch()
            return False, "task already completed by another attempt"
        task.state, task.result, task.point = DONE, result, point
        task.worker_id, task.winning_attempt = worker_id, attempt
        task.values = None
        task.compute_seconds = compute_seconds
        if w is not None:
            w.points_done += task.cells // task.msm.nwin
            w.tasks_done += 1
        try:
            self.store.task_done(task.id, result, worker_id, compute_seconds)
        except StoreError as exc:
            self._fail_job(task.job, str(exc))
            return True, "accepted; the job failed: its store write failed"
        for other in task.running():
            if other.verify is None:
                self.dispatcher.cancel(other)
        job = task.job
        m = task.msm
        job.points_done -= m.cells_done // m.nwin
        m.cells_done += task.cells
        job.points_done += m.cells_done // m.nwin
        self._maybe_finish_msm(job, m)
        job.touch()
        self.dispatch()
        return True, "accepted"

    def _complete_proof(
        self, att: Attempt, result: bytes, compute_seconds: float, session_id: str | None
    ) -> tuple[bool, str]:
        """A whole proof came in: its points must decode (on the curve, in the subgroup); the
        proof-job layer checks the proof itself."""
        task = att.task
        assert isinstance(task, ProofTask)
        worker_id = att.worker_id
        try:
            split_proof(task.curve, result)
        except ValueError as exc:
            why = f"bad proof: {exc}"
            self.fail(worker_id, task.id, att.number, why, False, session_id=session_id)
            return False, why
        att.state = DONE
        self.on_task("done")
        w = self.registry.workers.get(worker_id)
        if w is not None:
            w.inflight.pop((task.id, att.number), None)
            self.dispatcher.promote(w)
            w.compute_seconds += compute_seconds
            w.points_done += task.count
            w.tasks_done += 1
            w.zkeys.add(task.zkey_hash)
        if task.state == DONE:
            self.dispatch()
            return False, "task already completed by another attempt"
        task.state, task.result = DONE, result
        task.worker_id, task.winning_attempt = worker_id, att.number
        task.compute_seconds = compute_seconds
        for other in task.running():
            self.dispatcher.cancel(other)
        job = task.job
        job.points_done = task.count
        job.state = DONE
        self._finished(job)
        self.dispatch()
        return True, "accepted"

    def fail(
        self,
        worker_id: str,
        task_id: str,
        attempt: int,
        error: str,
        handed_back: bool,
        scalars_missing: bool = False,
        session_id: str | None = None,
    ) -> tuple[bool, str]:
        """A worker's failure (or hand-back) of (task, attempt): (accepted, detail).

        ``scalars_missing``: the assignment left its scalars out and the worker's cache lacked
        them (the mirror was wrong); no strike, and the next assignment carries them."""
        att, why = self._attempt(worker_id, task_id, attempt, session_id)
        if att is None:
            return False, why
        if isinstance(att.task, ProofTask):
            scalars_missing = False  # a whole proof carries its witness: an ordinary failure
        att.state = FAILED
        self.on_task("handed_back" if handed_back or scalars_missing else "failed")
        if not (handed_back or scalars_missing):
            log.info("task %s attempt %d failed on %s: %s", task_id, attempt, worker_id, error)
        w = self.registry.workers.get(worker_id)
        if w is not None:
            w.inflight.pop((task_id, attempt), None)
            self.dispatcher.promote(w)
            if handed_back:
                w.draining = True
            if scalars_missing and w.scalars is not None and isinstance(att.task, Task):
                self.dispatcher.scalar_resends += 1
                m = att.task.msm
                w.scalars.discard(m.scalar_hash(att.task.start, att.task.count))
        if att.verify is not None:
            att.verify.error = error
            att.verify.exclude = att.verify.exclude | {worker_id}  # try someone else
            self.dispatch()
            return True, "verification attempt failed; will retry elsewhere"
        task = att.task
        if not handed_back and not scalars_missing:
            task.strikes += 1
            if isinstance(task, Task):
                task.values = None  # a window task's next attempt carries values made anew
        if task.strikes >= self.max_attempts:
            self._fail_job(task.job, f"task {task.id} failed {task.strikes} times: {error}")
        elif task.state != DONE and not task.running():
            self.dispatcher.requeue(task)
        self.dispatch()
        return True, "requeued" if task.state == PENDING else "recorded"

    def worker_lost(self, w: WorkerRecord, why: str) -> None:
        """Requeue every attempt the worker was running (dead, stream broken, quarantined)."""
        if w.inflight:
            log.info(
                "worker %s lost (%s): requeueing %d attempts", w.worker_id, why, len(w.inflight)
            )
        for att in list(w.inflight.values()):
            att.state = LOST
            self.on_task("lost")
            task = att.task
            if att.verify is None:
                task.strikes += 1
                if task.strikes >= self.max_attempts:
                    self._fail_job(task.job, f"task {task.id} lost {task.strikes} times ({why})")
                elif task.state != DONE and not task.running():
                    self.dispatcher.requeue(task)
        w.inflight.clear()
        self.dispatch()

    def tick(self) -> None:
        """Periodic: deadlines (presume silent attempts lost) and speculation."""
        now = trio.current_time()
        for w in list(self.registry.workers.values()):
            for key, att in list(w.inflight.items()):
                if now > att.deadline:
                    att.state = LOST
                    self.on_task("timed_out")
                    log.warning(
                        "task %s attempt %d on %s timed out", att.task.id, att.number, w.worker_id
                    )
                    w.inflight.pop(key, None)
                    self.dispatcher.promote(w)
                    task = att.task
                    task.strikes += 1
                    if task.strikes >= self.max_attempts:
                        self._fail_job(task.job, f"task {task.id} timed out {task.strikes} times")
                    elif task.state != DONE and not task.running() and att.verify is None:
                        self.dispatcher.requeue(task)
        self._check_deadlines(now)
        self.dispatch()

    def _maybe_finish_msm(self, job: Job, m: MsmState) -> None:
        if m.done or m.free:
            return
        tasks = [t for t in job.tasks.values() if t.msm is m]
        if any(t.state != DONE for t in tasks) or sum(t.cells for t in tasks) != m.n * m.nwin:
            return
        ec = _ec()
        acc: Point = None
        for t in tasks:
            acc = ec.add(m.curve, m.group, acc, t.point)
        m.result, m.done = acc, True
        if all(x.done for x in job.msms):
            job.state = DONE
            try:
                results = [ec.encode(x.curve, x.group, x.result, "be") for x in job.msms]
                self.store.finish_job(job.id, DONE, results, None)
            except StoreError as exc:
                log.error("job %s is done but its result was not stored: %s", job.id, exc)
            self._finished(job)

    def _finished(self, job: Job) -> None:
        """Bookkeeping when a job ends: log, wake waiters, keep only a bounded history."""
        job.ended_at = clock()
        took = job.ended_at - job.submitted_at
        if job.state == DONE:
            log.info(
                "job %s (%s) done: %d points in %.2f s", job.id, job.label, job.points_total, took
            )
        else:
            log.log(
                logging.INFO if job.state == CANCELLED else logging.WARNING,
                "job %s (%s) %s after %.2f s: %s",
                job.id,
                job.label,
                job.outcome,
                took,
                job.error,
            )
        try:
            self.on_job_end(job)
        except Exception:  # an observer must not stop the bookkeeping
            log.exception("job-end observer failed")
        self.running.pop(job.id, None)
        for task in job.tasks.values():
            task.values = None
        job.finished.set()
        job.touch()
        done = [j for j in self.jobs.values() if j.state != RUNNING]
        for old in done[: max(0, len(done) - self.keep_scalars)]:
            if any(m.scalars for m in old.msms):
                for m in old.msms:  # memory: only recent jobs can have tasks re-run
                    m.scalars = b""
                # and disk: a Groth16 proof stores ~10 MB of scalars a finished job no longer needs
                try:
                    self.store.drop_scalars(old.id)
                except StoreError as exc:
                    log.error("could not release job %s's stored scalars: %s", old.id, exc)
        if job.proof is not None:
            job.proof.witness = b""  # no re-runs of a whole proof: release its witness
        for old in done[: max(0, len(done) - self.history)]:
            del self.jobs[old.id]
            for t in old.tasks:
                self.tasks.pop(t, None)
            if old.proof is not None:
                self.proof_tasks.pop(old.proof.id, None)

    def _fail_job(self, job: Job, error: str, state: str = FAILED) -> None:
        if job.state != RUNNING:
            return
        job.state, job.error = state, error
        for t in job.tasks.values():
            for att in t.running():
                self.dispatcher.cancel(att)
        self.dispatcher.pending[:] = [t for t in self.pending if t.job is not job]
        if job.proof is not None:  # a whole-proof job: in memory only
            for att in job.proof.running():
                self.dispatcher.cancel(att)
            self.dispatcher.proofs[:] = [t for t in self.dispatcher.proofs if t.job is not job]
            self._finished(job)
            return
        try:
            self.store.finish_job(job.id, state, None, error)
        except StoreError as exc:
            log.error("job %s failed (%s) and that was not stored: %s", job.id, error, exc)
        self._finished(job)

    # ------------------------------------------------------------------ verification / blame
    def request_verify(self, task_id: str, exclude: Sequence[str], replace: bool) -> VerifyRequest:
        """Queue a re-run of a finished task on a worker not in ``exclude``."""
        task = self.tasks.get(task_id)
        if task is None:
            raise KeyError(task_id)
        if task.state != DONE:
            raise ValueError(f"task {task_id} is not finished")
        if not task.msm.scalars:
            raise ValueError(f"task {task_id} is too old to re-run (its scalars were released)")
        v = VerifyRequest(task, frozenset(exclude), replace)
        self.dispatcher.verifies.append(v)
        self.dispatch()
        return v

    def drop_verify(self, v: VerifyRequest) -> None:
        """Forget a verification request (its caller gave up)."""
        if v in self.dispatcher.verifies:
            self.dispatcher.verifies.remove(v)

    def _finish_verify(self, att: Attempt, point: Point, encoded: bytes) -> None:
        v = att.verify
        assert v is not None
        task = v.task
        if v in self.dispatcher.verifies:
            self.dispatcher.verifies.remove(v)
        v.outcome = PartialResult(
            task.id, task.msm.idx, task.start, task.count, att.worker_id, att.number, point, encoded
        )
        if v.replace and task.job.state == DONE:
            task.point, task.result = point, encoded
            task.worker_id, task.winning_attempt = att.worker_id, att.number
            self.store.task_done(task.id, encoded, att.worker_id, 0.0)
            m = task.msm
            m.done = False
            self._maybe_finish_msm_again(task.job, m)
        v.done.set()

    def _maybe_finish_msm_again(self, job: Job, m: MsmState) -> None:
        ec = _ec()
        acc: Point = None
        for t in job.tasks.values():
            if t.msm is m:
                acc = ec.add(m.curve, m.group, acc, t.point)
        m.result, m.done = acc, True
        self.store.finish_job(
            job.id, DONE, [ec.encode(x.curve, x.group, x.result, "be") for x in job.msms], None
        )
        job.touch()


def split_proof(curve: str, data: bytes) -> tuple[Point, Point, Point]:
    """A whole-proof task's result, A || B || C ("be"), as points checked on the curve and in
    their subgroup (a ValueError says what is wrong)."""
    from zkedge.curves import get_curve

    ec = _ec()
    c = get_curve(curve)
    g1, g2 = c.point_bytes("G1"), c.point_bytes("G2")
    if len(data) != 2 * g1 + g2:
        raise ValueError(f"{len(data)} bytes, want {2 * g1 + g2} (A, B, C)")
    a = ec.decode(curve, "G1", data[:g1], "be", check="subgroup")
    b = ec.decode(curve, "G2", data[g1 : g1 + g2], "be", check="subgroup")
    cc = ec.decode(curve, "G1", data[g1 + g2 :], "be", check="subgroup")
    return a, b, cc
