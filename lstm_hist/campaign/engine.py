"""Where campaign tasks run: Ray (embedded, or a cluster by address), or a local thread pool without Ray.

A unit of work is a *chain*: the specs run one after another by one worker (the campaign submits one spec per
chain; a chain of several is for runs that must not overlap).
"""

from __future__ import annotations

import concurrent.futures as cf
import math
import os
import threading
import time
from typing import Any

from lstm_hist.campaign.resources import TaskResources
from lstm_hist.campaign.task import run_task, stop_requested
from lstm_hist.errors import UserError


def run_chain(specs: list[dict], stop: Any = None) -> list[dict]:
    """Run the specs in order; after a stop request the rest stay unstarted."""
    results = []
    for spec in specs:
        if stop_requested(spec, stop):
            break
        result = run_task(spec, stop)
        results.append(result)
        if result["stopped"]:
            break
    return results


class _Flag:
    """The campaign's stop request as a tiny Ray actor, which tasks on every node can ask."""

    def __init__(self):
        self.value = False

    def set(self) -> None:
        self.value = True

    def is_set(self) -> bool:
        return self.value


class RayStop:
    """What a Ray task is handed to learn of the stop request: it asks the flag actor at most every ``every``
    seconds and reads the answer when it has arrived, never blocking in ``ray.get``, because a task blocked there
    hands its CPU back to Ray, which then starts queued tasks beyond the declared resources (seen: four runs at once
    on two CPUs).

    Not ``ray.cancel``: cancelling a running task that then returns crashed the driver with Ray's own
    "Tried to complete task that was not pending" check (ray 2.60, 2026-11-30), and once did not stop the task."""

    def __init__(self, actor: Any, every: float = 2.0):
        self.actor, self.every = actor, every
        self._asked, self._value, self._future = float("-inf"), False, None

    def is_set(self) -> bool:
        try:
            if self._future is not None and self._future.done():
                self._value = self._value or bool(self._future.result())
                self._future = None
            now = time.monotonic()
            if not self._value and self._future is None and now - self._asked >= self.every:
                self._asked = now
                self._future = self.actor.is_set.remote().future()
        except Exception:  # an unreachable flag is no stop request; the driver's stop file still works here
            self._future = None
        return self._value


def cluster_address(address: str | None) -> str | None:
    """The Ray cluster a campaign joins: --address, else $RAY_ADDRESS; None means an embedded local Ray."""
    return address or os.environ.get("RAY_ADDRESS") or None


class RayEngine:
    """``ray.init()`` of an embedded local Ray, or of the cluster at ``address`` / ``$RAY_ADDRESS``."""

    name = "ray"

    def __init__(self, address: str | None, num_cpus: int | None, num_gpus: float | None):
        try:
            import ray
        except ImportError:
            raise UserError('Ray is not installed: pip install -e ".[ray]" (or use --engine local)') from None
        self.ray = ray
        self.address = cluster_address(address)
        self.started_here = not ray.is_initialized()
        if self.started_here:
            if self.address:
                ray.init(address=self.address, log_to_driver=False)
            else:
                ray.init(num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False, log_to_driver=False)
        self.driver_node = ray.get_runtime_context().get_node_id()
        self.remote = ray.remote(run_chain)
        self.flag = ray.remote(num_cpus=0)(_Flag).remote()
        self.refs: dict[Any, Any] = {}

    def describe(self) -> str:
        res = self.ray.cluster_resources()
        where = f"cluster at {self.address}" if self.address else "embedded local Ray"
        gpus = f", {res.get('GPU', 0):g} GPU" if res.get("GPU") else ""
        return f"{where}: {res.get('CPU', 0):g} CPU{gpus}, {res.get('memory', 0) / 1024**3:.1f} GiB for tasks"

    def check(self, resources: TaskResources, label: str) -> None:
        """A task no node can hold would wait forever: refuse it (embedded) or say so (a cluster may scale up)."""
        res = self.ray.cluster_resources()
        short = [f"{need:g} {name}" for name, need, have in (
            ("CPU", resources.num_cpus, res.get("CPU", 0)), ("GPU", resources.num_gpus, res.get("GPU", 0)),
            ("bytes of memory", resources.memory_bytes, res.get("memory", 0))) if need > have]
        if short:
            text = f"{label} asks for {', '.join(short)}, more than the Ray cluster has ({self.describe()})"
            if not self.address:
                raise UserError(text + "; lower --cpus-per-task/--gpus-per-task/--memory-per-task")
            print(f"warning: {text}; it waits until the cluster has them")

    def submit(self, specs: list[dict], resources: TaskResources) -> Any:
        for spec in specs:
            spec["driver_node"] = self.driver_node
        # max_retries: a task whose node died runs again elsewhere (the run resumes from what it checkpointed).
        ref = self.remote.options(**resources.ray_options(), max_retries=2, retry_exceptions=False).remote(
            specs, RayStop(self.flag))
        self.refs[ref] = specs
        return ref

    def wait(self, handles: list, timeout: float) -> list[tuple[Any, list[dict] | BaseException]]:
        done, _ = self.ray.wait(handles, num_returns=len(handles), timeout=timeout)
        out = []
        for ref in done:
            try:
                out.append((ref, self.ray.get(ref)))
            except Exception as exc:  # cancelled before it started, a worker lost, a bug in the task
                out.append((ref, exc))
        return out

    def stop(self, handles: list) -> None:
        """Running tasks SIGTERM their runs (which checkpoint); queued ones start nothing."""
        self.ray.get(self.flag.set.remote())

    def shutdown(self) -> None:
        if self.started_here:
            self.ray.shutdown()


class LocalEngine:
    """A thread pool on this machine, packed by CPU (and GPU) count: for machines where Ray cannot be installed."""

    name = "local"

    def __init__(self, num_cpus: int | None, num_gpus: float | None, resources: TaskResources):
        cpus = num_cpus or os.cpu_count() or 1
        slots = max(1, math.floor(cpus / max(resources.num_cpus, 1e-9)))
        if resources.num_gpus:
            slots = min(slots, max(1, math.floor((num_gpus or 1) / resources.num_gpus)))
        self.slots = slots
        self.pool = cf.ThreadPoolExecutor(max_workers=slots, thread_name_prefix="campaign")
        self.event = threading.Event()

    def describe(self) -> str:
        return f"local thread pool: {self.slots} task(s) at a time"

    def check(self, resources: TaskResources, label: str) -> None:
        pass

    def submit(self, specs: list[dict], resources: TaskResources) -> Any:
        return self.pool.submit(run_chain, specs, self.event)

    def wait(self, handles: list, timeout: float) -> list[tuple[Any, list[dict] | BaseException]]:
        done, _ = cf.wait(handles, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        out = []
        for future in done:
            try:
                out.append((future, future.result()))
            except BaseException as exc:  # cancelled before it started, or a bug in the task
                out.append((future, exc))
        return out

    def stop(self, handles: list) -> None:
        self.event.set()
        for future in handles:
            future.cancel()

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
