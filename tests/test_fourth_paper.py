"""docs/architecture.md's worked example, run: a fourth paper plugs in with its own files alone.

The paper is a package ``reproductions/toy2000/`` in a folder of its own (``reproductions/__init__.py`` extends its
path, as a new folder in the repository would be found) and one config ``configs/toy2000/copy.yaml`` (pointed at
by ``LSTM_HIST_CONFIGS``, standing in for the repository's configs/). Nothing of ``lstm_hist`` is edited or
patched: list, describe, run, report (with the paper's report hook) and cite find it in subprocesses.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

PAPER = '''
"""Toy et al. (2000), *Copying a bit*, Journal of Toys 1:1-2.

Reproduced here: Table 1, copying one bit (a stand-in for a real paper's package).
"""

import dataclasses

import numpy as np

from lstm_hist.contract import RunResult, TrainingProtocol
from lstm_hist.experiment import Experiment, SequenceBatch


def copy_task(rng, n, *, length: int = 3):
    x = rng.integers(0, 2, size=(n, length, 1)).astype("float32")
    return SequenceBatch(x=x, lengths=np.full(n, length), y=x[:, 0, :])


def copy_model(trials, units: int = 1):
    raise AssertionError("this toy protocol builds no model")


@dataclasses.dataclass
class CopyResult(RunResult):
    status: str
    accuracy: float

    def metrics(self):
        return {"accuracy": self.accuracy}

    def per_trial(self):
        return [{"trial": 0, "accuracy": self.accuracy}]


@dataclasses.dataclass
class CopyProtocol(TrainingProtocol):
    sequences: int = 100

    def run(self, *, experiment, task_cfg, model_cfg, seed, workdir=None, resume=False, progress=None):
        batch = experiment.task(np.random.default_rng(seed), self.sequences, **task_cfg)
        return CopyResult("completed", float((batch.x[:, 0, :] == batch.y).mean()))


def report_notes(records, configs):
    return [f"toy2000 note: {len(records)} record(s) of {len(configs)} row(s)"]


EXPERIMENTS = {"copy": Experiment(task=copy_task, model=copy_model, protocol=CopyProtocol,
                                  description="Copy the first bit (Table 1).")}
CITATION = """@article{toy2000,
  author  = {Toy, T.},
  title   = {Copying a bit},
  journal = {Journal of Toys},
  year    = {2000}
}"""
'''

CONFIG = """\
# Toy et al. 2000, Table 1. Command: lstm-hist run toy2000/copy
experiment: copy
title: Copy one bit
table: Table 1
row: copy
section: "§1"
task: {length: 3}
model: {units: 1}
protocol: {sequences: 100}
reported: {accuracy: 1.0}
smoke:
  protocol: {sequences: 10}
"""


def test_a_fourth_paper_needs_only_its_package_and_configs(tmp_path):
    package = tmp_path / "papers" / "reproductions" / "toy2000"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(PAPER))
    (tmp_path / "configs" / "toy2000").mkdir(parents=True)
    (tmp_path / "configs" / "toy2000" / "copy.yaml").write_text(CONFIG)
    env = {**os.environ, "LSTM_HIST_CONFIGS": str(tmp_path / "configs"), "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([str(tmp_path / "papers"), str(REPO), os.environ.get("PYTHONPATH", "")])}

    def cli(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "lstm_hist", *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=300)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc.stdout

    assert "toy2000/copy" in cli("list")
    assert "copy: Copy the first bit (Table 1)." in cli("describe", "toy2000")
    cli("run", "toy2000/copy", "--out", str(tmp_path / "runs"), "--quiet")
    (record_path,) = (tmp_path / "runs" / "toy2000").glob("copy-seed0-*.json")
    record = json.loads(record_path.read_text())
    assert record["status"] == "completed" and record["metrics"] == {"accuracy": 1.0}
    assert record["seeds"] == {"base": 0} and record["trials"] == [{"trial": 0, "accuracy": 1.0}]
    cli("report", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "results.md"), "--no-plots")
    page = (tmp_path / "results.md").read_text()
    assert "## toy2000" in page and "toy2000 note: 1 record(s) of 1 row(s)" in page
    assert "Toy, T. (2000). Copying a bit. Journal of Toys" in cli("cite", "toy2000")
