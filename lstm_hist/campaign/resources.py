"""What each campaign task asks Ray for, and the thread settings that make it stay within that.

Rule for the defaults: every row is one process that wants **one CPU core** (the recurrent rows are sequential
time loops; a second core buys them little, and a 2-core machine then runs two rows at once), **no GPU** (the
recurrent rows run faster on the CPU: docs/performance.md) and a memory reservation by paper (the NPLM's
embedding and softmax tables are the large ones). ``--cpus-per-task``, ``--gpus-per-task`` (fractions pack
several rows on one GPU) and ``--memory-per-task`` override the rule for every task of a campaign.

Ray's ``num_cpus`` is bookkeeping only; XLA on the CPU starts a thread pool as wide as the machine whatever
``OMP_NUM_THREADS`` says, so each task's process also gets XLA/BLAS/TensorFlow/torch thread limits of its CPU
count, and a task that asked for no GPU is shown none.
"""

from __future__ import annotations

import dataclasses
import math

GIB = 1024**3
# Reservations, not measurements: generous for a run of each paper's rows (JAX, Keras, the data in memory).
MEMORY_GIB_BY_PAPER = {"hochreiter1997": 1.5, "chung2014": 3.0, "bengio2003": 6.0}
DEFAULT_MEMORY_GIB = 3.0


@dataclasses.dataclass(frozen=True)
class TaskResources:
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory_bytes: int = int(DEFAULT_MEMORY_GIB * GIB)

    @property
    def threads(self) -> int:
        return max(1, int(math.floor(self.num_cpus)))

    def ray_options(self) -> dict:
        return {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus, "memory": self.memory_bytes}

    def describe(self) -> str:
        gpu = f", {self.num_gpus:g} GPU" if self.num_gpus else ""
        return f"{self.num_cpus:g} CPU{gpu}, {self.memory_bytes / GIB:.1f} GiB"


def resources_for(exp_id: str, *, cpus: float | None = None, gpus: float | None = None,
                  memory_gib: float | None = None) -> TaskResources:
    """The rule above, with any flag given taking its place."""
    paper = exp_id.split("/", 1)[0]
    memory = memory_gib if memory_gib is not None else MEMORY_GIB_BY_PAPER.get(paper, DEFAULT_MEMORY_GIB)
    return TaskResources(num_cpus=1.0 if cpus is None else float(cpus), num_gpus=0.0 if gpus is None else float(gpus),
                         memory_bytes=int(memory * GIB))


def idle_cpus_hint(n_tasks: int, cpus: float | None, cpus_per_task: float | None) -> str | None:
    """A line for a campaign whose tasks, at the default one CPU each, leave CPUs idle; None when none do.

    ``--num-cpus`` sizes the pool, not a task: one task on two CPUs still runs one thread unless
    ``--cpus-per-task`` says otherwise (a one-task campaign on both cores once ran a segment on one before this
    was seen). Said, not changed: a task's thread count is the user's choice. ``cpus`` None: a cluster, whose
    size is not known ahead.
    """
    if cpus_per_task is not None or not cpus or n_tasks <= 0:
        return None
    share = math.floor(cpus / n_tasks)
    if share < 2:
        return None
    return (f"note: {n_tasks} task(s) of 1 CPU each on {cpus:g} CPUs leave {cpus - n_tasks:g} idle; "
            f"--cpus-per-task {share} gives each task {share} CPUs and compute threads")


def thread_env(resources: TaskResources, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment variables for one task's ``run`` process (added to ``base``, whose XLA_FLAGS are kept)."""
    n = str(resources.threads)
    env: dict[str, str] = {}
    xla = (base or {}).get("XLA_FLAGS", "")
    # XLA's CPU client ignores OMP_NUM_THREADS: its Eigen pool and intra-op pool are set by flags.
    env["XLA_FLAGS"] = " ".join(x for x in (xla, "--xla_cpu_multi_thread_eigen=false",
                                            f"intra_op_parallelism_threads={n}") if x)
    # NUMBA_NUM_THREADS: a compiled loop's prange (the 1997 update's trials) takes the task's cores, no more.
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                 "NUMBA_NUM_THREADS"):
        env[name] = n
    env["TF_NUM_INTEROP_THREADS"] = "1"
    if resources.num_gpus:
        env["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"  # rows sharing a GPU must not each take 75 % of it
    else:
        env["CUDA_VISIBLE_DEVICES"] = ""  # a task that asked for no GPU does not take one
        env["JAX_PLATFORMS"] = "cpu"
    return env
