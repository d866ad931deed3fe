"""Shared fixtures: a temporary configs tree and a fake paper module, so CLI and runner tests need no Keras.

The fake paper plugs in by replacing ``lstm_hist.registry.import_paper_module``; configs are found through
``LSTM_HIST_CONFIGS``. The fake protocol returns a result with the interface real protocols must provide.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import textwrap
import types
from pathlib import Path
from typing import ClassVar, Literal

import numpy as np
import pytest

# The package default, for the whole session: Keras reads this once, at its first import by any test.
os.environ.setdefault("KERAS_BACKEND", "jax")

from lstm_hist.contract import RunResult, TrainingProtocol  # noqa: E402
from lstm_hist.experiment import Experiment, SequenceBatch  # noqa: E402


def fake_task(rng: np.random.Generator, n: int, *, T: int = 10, noise: float = 0.0, tags: list[str] | None = None):
    x = rng.uniform(size=(n, T, 2)).astype("float32")
    return SequenceBatch(x=x, lengths=np.full(n, T), y=np.zeros((n, 1), "float32"))


class FakeModel:
    """Stands in for a keras.Model: only count_params()."""

    def __init__(self, units: int):
        self.units = units

    def count_params(self) -> int:
        return 7 * self.units


def fake_model(trials: int | None, units: int = 3, activation: Literal["sigmoid", "tanh"] = "sigmoid"):
    return FakeModel(units)


@dataclasses.dataclass
class FakeResult(RunResult):
    status: str
    trials: int
    repeated_sequences: int = 0

    def metrics(self) -> dict:
        return {"success_rate": 1.0, "sequences_mean": np.float64(1500.0)}

    def per_trial(self) -> list[dict]:
        return [{"trial": b, "solved": True, "sequences": 1000 + 1000 * b} for b in range(self.trials)]

    @property
    def seeds(self) -> dict:
        return {"trials": list(range(self.trials))}


@dataclasses.dataclass(frozen=True)
class FakeProtocol(TrainingProtocol):
    trials: int = 10
    max_sequences: int = 1000
    learning_rate: float = 0.5
    behaviour: str = "complete"  # "complete" | "interrupt" | "crash" | "diverge" | "user_error"
    calls: list = dataclasses.field(default_factory=list, compare=False)
    # Test knobs, not part of what a checkpoint is: an interrupted fake run resumes with another behaviour.
    resumable_changes: ClassVar[tuple[str, ...]] = ("behaviour", "calls")

    def __post_init__(self):
        if self.trials < 1:
            raise ValueError(f"trials must be >= 1, got {self.trials}")

    def run(self, *, experiment, task_cfg, model_cfg, seed, workdir, resume, progress):
        FakeProtocol.last_call = dict(task_cfg=task_cfg, model_cfg=model_cfg, seed=seed, workdir=workdir,
                                      resume=resume, protocol=self)
        progress({"sequences": 10, "max_sequences": self.max_sequences, "solved": 0, "trials": self.trials,
                  "error": 0.5, "rate": 100.0})
        from lstm_hist import run_state

        fingerprint = run_state.fingerprint(task_cfg, model_cfg, self, seed)
        if resume:  # what a real protocol does: a missing or broken checkpoint is the user's error
            run_state.load(workdir, "fake", fingerprint=fingerprint)
        if self.behaviour == "crash":
            raise RuntimeError("boom")
        if self.behaviour == "user_error":  # what a protocol raises for e.g. a missing data file
            from lstm_hist.errors import UserError

            raise UserError("the data file is missing")
        run_state.save(workdir, "fake", {"seen": 10}, {"w": np.arange(3.0)}, fingerprint=fingerprint)
        status = {"interrupt": "interrupted", "diverge": "diverged"}.get(self.behaviour, "completed")
        return FakeResult(status=status, trials=self.trials, repeated_sequences=3 if resume else 0)

    def bench(self, *, experiment, task_cfg, model_cfg, seed, updates=None, reported=None):
        FakeProtocol.last_bench_reported = reported
        return {"updates_per_second": 123.4, "updates": updates or 10, "estimated_wall_seconds": 3700.0}


FAKE_EXPERIMENTS = {
    "adding": Experiment(task=fake_task, model=fake_model, protocol=FakeProtocol, description="fake adding"),
}
FAKE_CITATION = """@article{fake1997,
  author = {Doe, J. and Roe, R.},
  title = {{A Fake Paper}},
  journal = {Journal of Tests},
  volume = {9},
  number = {8},
  pages = {1--2},
  year = {1997},
}"""

GOOD_CONFIG = """\
# fake paper, Table 1 row T=10
experiment: adding
title: Fake adding, T=10
table: Table 1
row: T=10
section: "§1"
task: {T: 10, noise: 0.1}
model: {units: 4, activation: tanh}
protocol: {trials: 10, max_sequences: 5000, learning_rate: 0.5}
reported: {success_rate: 1.0, sequences_mean: 2000, weights: 28}
smoke:
  protocol: {trials: 2, max_sequences: 300}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def configs(tmp_path, monkeypatch):
    """A configs tree with paper ``fakepaper`` (two rows) wired to the fake module; returns its root."""
    root = tmp_path / "configs"
    write(root / "fakepaper" / "adding_t10.yaml", GOOD_CONFIG)
    write(root / "fakepaper" / "adding_t20.yaml", GOOD_CONFIG.replace("T=10", "T=20").replace("T: 10", "T: 20"))
    monkeypatch.setenv("LSTM_HIST_CONFIGS", str(root))
    module = types.ModuleType("fakepaper")
    module.EXPERIMENTS = FAKE_EXPERIMENTS
    module.CITATION = FAKE_CITATION

    import lstm_hist.registry as registry

    def import_paper_module(paper):
        if paper == "fakepaper":
            return module
        raise AssertionError(f"unexpected paper {paper}")

    monkeypatch.setattr(registry, "import_paper_module", import_paper_module)
    return root


@pytest.fixture(autouse=True)
def _keras_backend_env(monkeypatch):
    """select_backend writes KERAS_BACKEND; keep each test's change to itself (and agree with an imported Keras)."""
    from lstm_hist.backend import current_backend

    monkeypatch.setenv("KERAS_BACKEND", current_backend())


@pytest.fixture
def load_tool(monkeypatch):
    """``load_tool(name)``: ``tools/<name>.py`` as a module, its neighbours (``json_out``, the profiles it builds on)
    importable as when the tool runs as ``python tools/<name>.py``."""
    tools = Path(__file__).resolve().parent.parent / "tools"
    monkeypatch.syspath_prepend(str(tools))

    def load(name: str) -> types.ModuleType:
        spec = importlib.util.spec_from_file_location(name, tools / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load
