"""Where workers run. `LocalPool`: one worker in this process. `RayPool`: one Ray actor per GPU (or per N CPU
cores) of a cluster, each loading the model once.

Ray was chosen because it is what a studio with a few GPU machines already runs (or can start with one command on
each: `ray start`), it places actors on GPUs by itself, and it reports a dead worker as an error on the call that
was running there, which is what lets the driver give that batch to another worker. It is an optional extra
(`pip install "cbx-cli[ray]"`), imported only here, only for `--cluster`.
"""

from __future__ import annotations

import logging
import os
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from cbx_cli.api import EngineFactory, EngineSpec, Synthesis, VoicePrompt
from cbx_cli.batch.worker import BatchResult, ModelFacts, Piece, Worker
from cbx_cli.errors import ModelError, RenderError

log = logging.getLogger(__name__)


@dataclass
class Event:
    """What happened to a batch: "start" (handed to ``worker``), "done" (its takes are back) or "lost" (the worker
    died with it; the batch goes back in the queue)."""

    kind: str
    worker: str
    pieces: int
    result: BatchResult | None = None


EventFn = Callable[[Event], None]


class LocalPool:
    """One worker in this process: the batches run one after another, as `cbx book` runs them."""

    description = "this process"

    def __init__(self, spec: EngineSpec, batch_size: int | None, engine_factory: EngineFactory | None = None):
        self.worker = Worker(spec, batch_size, engine_factory=engine_factory, lazy=True)
        self.workers = {"local": os.getpid()}

    def describe(self, model: str, prompts: list[VoicePrompt | None]) -> ModelFacts:
        return self.worker.describe(model, prompts)

    def run(self, batches: list[list[Piece]], retries: int, on_event: EventFn) -> int:
        for batch in batches:
            on_event(Event("start", "local", len(batch)))
            on_event(Event("done", "local", len(batch), self.worker.render(batch, retries)))
        return 0

    def synthesize(self, model: str, pieces: list[Piece]) -> list[Synthesis]:
        return self.worker.synthesize(model, pieces)

    def close(self) -> None:
        pass


LOCAL_ENV = {
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",  # Ray's single-machine mode: it binds and talks on 127.0.0.1 only
    "RAY_memory_monitor_refresh_ms": "0",  # no Ray OOM killer on a machine shared with other work: the OS has one
    "RAY_worker_register_timeout_seconds": "600",  # a busy machine can take minutes to start a Python worker
}
"""Set (unless already set) before Ray is imported for ``--cluster local``."""


def import_ray(local: bool = False):
    if local and "ray" not in sys.modules:
        for name, value in LOCAL_ENV.items():
            os.environ.setdefault(name, value)
    try:
        import ray
    except ImportError:
        raise ModelError('--cluster needs Ray: pip install "cbx-cli[ray]" (on the driver and every worker).') \
            from None
    return ray


def connect(cluster: str, ray) -> bool:
    """Join the cluster (``auto``: the one `ray start` runs here; ``ray://HOST:PORT``: a remote head through Ray
    Client; ``HOST:PORT``: the head's own address, from a node of the cluster), or start one on this machine
    (``local``: every core, on the loopback address only). True when this run started Ray and so must stop it."""
    if ray.is_initialized():
        return False
    if cluster == "local":
        ray.init(address="local", num_cpus=os.cpu_count(), _node_ip_address="127.0.0.1", include_dashboard=False,
                 configure_logging=False, log_to_driver=False)
        return True
    try:
        ray.init(address=cluster, log_to_driver=False)
    except (ConnectionError, ValueError) as exc:
        raise ModelError(f"Cannot reach the Ray cluster at '{cluster}': {exc}. Start one with 'ray start --head', "
                         "or use --cluster local.") from None
    return True


class RayPool:
    """Actors on a Ray cluster: one per GPU when the cluster has GPUs, else one per ``worker_cpus`` cores (at most
    ``max_workers``). Batches go to whichever actor is free; a batch whose actor dies goes to another."""

    def __init__(self, spec: EngineSpec, batch_size: int | None, cluster: str, worker_cpus: int = 1,
                 max_workers: int | None = None):
        self.ray = ray = import_ray(local=cluster == "local")
        self.cluster = cluster
        self.started = connect(cluster, ray)
        gpus = int(ray.cluster_resources().get("GPU", 0))
        cpus = int(ray.cluster_resources().get("CPU", 0))
        count = gpus if gpus else cpus // worker_cpus
        count = min(count, max_workers) if max_workers else count
        if count < 1:
            self.close()
            raise ModelError(f"The Ray cluster has {cpus} CPU core(s) and no GPU: too few for a worker of "
                             f"{worker_cpus} core(s). Lower --worker-cpus or add nodes.")
        resources = {"num_gpus": 1, "num_cpus": 1} if gpus else {"num_cpus": worker_cpus}
        actor = ray.remote(max_restarts=0, max_task_retries=0, **resources)(Worker)
        threads = None if gpus else worker_cpus
        self.actors = {f"worker-{n + 1}": actor.remote(spec, batch_size, threads) for n in range(count)}
        self.description = f"{count} Ray worker(s) ({'1 GPU' if gpus else f'{worker_cpus} CPU core(s)'} each)"
        self.workers = {name: pid for name in list(self.actors) if (pid := self._call_one(name, "pid")) is not None}
        if not self.actors:
            self.close()
            raise _all_lost()

    def describe(self, model: str, prompts: list[VoicePrompt | None]) -> ModelFacts:
        return self._call(lambda a: a.describe.remote(model, prompts))

    def synthesize(self, model: str, pieces: list[Piece]) -> list[Synthesis]:
        return self._call(lambda a: a.synthesize.remote(model, pieces))

    def _call(self, remote):
        """One call on the first worker that answers it (a dead worker's turn passes to the next)."""
        for name in list(self.actors):
            try:
                return self.ray.get(remote(self.actors[name]))
            except self._lost_errors():
                self._lose(name)
            except self.ray.exceptions.RayTaskError as exc:
                raise exc.as_instanceof_cause() from None
        raise _all_lost()

    def _call_one(self, name: str, method: str):
        """``method`` of worker ``name`` (waiting for it to start and load); None if the worker died."""
        try:
            return self.ray.get(getattr(self.actors[name], method).remote())
        except self._lost_errors() as exc:
            if getattr(exc, "actor_init_failed", False):  # the worker raised while loading: the same everywhere
                self.close()
                raise ModelError(f"A Ray worker could not load the model: {_last_line(str(exc))}") from None
            self._lose(name)
            return None
        except self.ray.exceptions.RayTaskError as exc:
            self.close()
            raise exc.as_instanceof_cause() from None

    def _lost_errors(self) -> tuple[type[Exception], ...]:
        """A worker process gone: killed, crashed, or stopped by Ray for memory."""
        return self.ray.exceptions.RayActorError, self.ray.exceptions.OutOfMemoryError

    def run(self, batches: list[list[Piece]], retries: int, on_event: EventFn) -> int:
        """Every batch rendered, in the order given, by whichever worker is free; returns how many batches were
        handed out again because their worker died."""
        queue, idle, running, again = deque(batches), list(self.actors), {}, 0
        while queue or running:
            while queue and idle:
                name, batch = idle.pop(0), queue.popleft()
                running[self.actors[name].render.remote(batch, retries)] = (name, batch)
                on_event(Event("start", name, len(batch)))
            if not running:
                raise _all_lost()
            [ready], _ = self.ray.wait(list(running), num_returns=1)
            name, batch = running.pop(ready)
            try:
                result = self.ray.get(ready)
            except self._lost_errors():
                self._lose(name)
                queue.appendleft(batch)
                again += 1
                on_event(Event("lost", name, len(batch)))
                continue
            except self.ray.exceptions.RayTaskError as exc:
                raise exc.as_instanceof_cause() from None
            idle.append(name)
            on_event(Event("done", name, len(batch), result))
        return again

    def _lose(self, name: str) -> None:
        log.warning("%s stopped; its batch goes to another worker", name)
        self.actors.pop(name, None)

    def close(self) -> None:
        for actor in getattr(self, "actors", {}).values():
            self.ray.kill(actor)
        if self.started:
            self.ray.shutdown()


def _last_line(message: str) -> str:
    """The error itself from a worker's traceback text: its last line, without the exception's module path."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    last = lines[-1] if lines else message
    return last.split(": ", 1)[1] if ": " in last and "." in last.split(": ", 1)[0] else last


def _all_lost() -> RenderError:
    return RenderError("Every worker stopped. The takes rendered so far are in the cache: run the same command "
                       "again to resume.")
