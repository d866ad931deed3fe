"""A Chung et al. (2014) run stopped by SIGTERM during its first epoch writes an *interrupted* record and a checkpoint
a rerun resumes, on the generic per-candidate ``fit`` and on the one-graph path, and so does one stopped before
training starts.

The signal is a real SIGTERM sent to this process at the worst moment: inside Keras's JAX ``fit``, after the step
has emptied the model's variables and before it refills them (the first training step's compile, the first
validation batch). Before ``interrupt.deferred`` the handler's KeyboardInterrupt landed there and the checkpoint
could not read the weights: the record said ``failed`` (TypeError: 'NoneType' object is not callable).
"""

from __future__ import annotations

import io
import json
import os
import signal

import pytest

from lstm_hist.backend import current_backend

pytestmark = pytest.mark.skipif(current_backend() != "jax", reason="the window is Keras's JAX trainer's")

GENERIC = ["protocol.candidates_in_one_graph=false"]


def _run(tmp_path, overrides):
    from lstm_hist.runner import run_experiment

    try:  # an interrupted protocol returns; a stop outside its checkpointing re-raises after the record
        return run_experiment("chung2014/jsb_gru", smoke=True, seed=0, overrides=list(overrides),
                              out_dir=tmp_path, progress=False, stdout=io.StringIO())
    except KeyboardInterrupt:
        return None


def _records(tmp_path):
    return [json.loads(p.read_text()) for p in sorted((tmp_path / "chung2014").glob("*.json"))]


def _sigterm_inside(function_name: str):
    """A callback that wraps the model's ``train_function``/``test_function`` at its first batch so that a SIGTERM
    arrives inside it (after the variables were emptied)."""
    import keras

    class Stop(keras.callbacks.Callback):
        fired = False

        def _wrap(self):
            if Stop.fired:
                return
            Stop.fired = True
            original = getattr(self.model, function_name)

            def wrapped(*args, **kwargs):
                os.kill(os.getpid(), signal.SIGTERM)
                return original(*args, **kwargs)

            setattr(self.model, function_name, wrapped)

        def on_train_batch_begin(self, batch, logs=None):
            if function_name == "train_function":
                self._wrap()

        def on_test_batch_begin(self, batch, logs=None):
            if function_name == "test_function":
                self._wrap()

    return Stop()


@pytest.mark.parametrize("function_name", ["train_function", "test_function"])
def test_generic_fit_stopped_in_its_first_epoch_is_interrupted_and_resumes(tmp_path, monkeypatch, function_name):
    from reproductions.chung2014 import ChungProtocol

    monkeypatch.setattr(ChungProtocol, "extra_callbacks", lambda self, model, state: [_sigterm_inside(function_name)])
    _run(tmp_path, GENERIC)
    (record,) = _records(tmp_path)
    assert record["status"] == "interrupted", record.get("error")
    assert list((tmp_path / "chung2014").glob("jsb_gru.smoke.work/seed0-*/lr0/minibatch.npz"))
    monkeypatch.undo()
    path = _run(tmp_path, GENERIC)
    assert json.loads(path.read_text())["status"] == "completed"


def test_one_graph_search_stopped_in_its_first_step_is_interrupted(tmp_path, monkeypatch):
    from reproductions.chung2014 import candidates

    original = candidates.OneGraphTrainer._compile

    def compile_then_arm(self, seeds):
        original(self, seeds)
        step = self.step_fn

        def first_step_signalled(*args):
            os.kill(os.getpid(), signal.SIGTERM)
            self.step_fn = step
            return step(*args)

        self.step_fn = first_step_signalled

    monkeypatch.setattr(candidates.OneGraphTrainer, "_compile", compile_then_arm)
    _run(tmp_path, [])
    (record,) = _records(tmp_path)
    assert record["status"] == "interrupted", record.get("error")
    assert record["metrics"]["epochs"] == 0 and record["repeated_sequences"] >= 0


def test_a_stop_before_training_starts_is_interrupted_not_failed(tmp_path, monkeypatch):
    import lstm_hist.training.minibatch.trainer as trainer

    original = trainer.build_model

    def build_then_signal(*args, **kwargs):
        model = original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return model

    monkeypatch.setattr(trainer, "build_model", build_then_signal)
    assert _run(tmp_path, GENERIC) is None  # the runner re-raises: `lstm-hist run` exits 130
    (record,) = _records(tmp_path)
    assert record["status"] == "interrupted"
    assert "interrupted" in record["error"]
