"""The minibatch protocol end to end on a tiny toy experiment (a few hundred random piano-roll-like sequences)."""

from __future__ import annotations

import dataclasses
import json
from typing import ClassVar

import numpy as np
import pytest

from lstm_hist.errors import UserError
from lstm_hist.evaluation import metrics as M
from lstm_hist.experiment import Experiment
from lstm_hist.training import minibatch as MB
from lstm_hist.training.minibatch import MinibatchProtocol

D, T = 5, 6


def toy_task(n: int = 320, seed: int = 0, poison: bool = False):
    """Next-step data where note 0 copies note 1 of the step before; padded, with a step mask."""
    rng = np.random.default_rng(12345)  # the data are fixed; ``seed`` is accepted to exercise the contract
    seq = (rng.uniform(size=(n, T + 1, D)) < 0.3).astype("float32")
    seq[:, 1:, 0] = seq[:, :-1, 1]
    lengths = rng.integers(3, T + 1, size=n)
    w = (np.arange(T)[None] < lengths[:, None]).astype("float32")
    x, y = seq[:, :-1] * w[..., None], seq[:, 1:] * w[..., None]
    if poison:
        x[5, 0, 0] = np.nan
    split = lambda a, b: (x[a:b], y[a:b], w[a:b])  # noqa: E731
    return {"train": split(0, 192), "valid": split(192, 256), "test": split(256, 320)}


def toy_model(units: int = 8):
    import keras

    inputs = keras.Input((T, D))
    hidden = keras.layers.Dense(units, activation="tanh")(inputs)
    return keras.Model(inputs, keras.layers.Dense(D)(hidden))


EXPERIMENT = Experiment(task=toy_task, model=toy_model, protocol=MinibatchProtocol)


def protocol(**overrides) -> MinibatchProtocol:
    fields = dict(optimizer="rmsprop", learning_rate=0.02, batch_size=32, epochs=3, clipnorm=1.0)
    return MinibatchProtocol(**{**fields, **overrides})


def with_callbacks(*extra, **overrides) -> MinibatchProtocol:
    """``protocol(**overrides)`` whose ``extra_callbacks`` hook adds ``extra`` (the same fingerprint)."""

    class WithCallbacks(MinibatchProtocol):
        def extra_callbacks(self, model, state):
            return list(extra)

    return WithCallbacks(**{**dataclasses.asdict(protocol()), **overrides})


def run(proto, workdir, resume=False, progress=None, task_cfg=None, seed=3):
    return proto.run(experiment=EXPERIMENT, task_cfg=task_cfg or {}, model_cfg={"units": 8}, seed=seed,
                     workdir=workdir, resume=resume, progress=progress)


def final_weights(workdir):
    with np.load(workdir / MB.WEIGHTS_FILE) as arrays:
        return [arrays[k] for k in sorted(arrays.files) if k.startswith("w")]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """One uninterrupted 3-epoch run, shared by the tests that compare against it."""
    workdir = tmp_path_factory.mktemp("straight")
    seen: list[dict] = []
    return run(protocol(), workdir, progress=seen.append), workdir, seen


def test_run_completes_reports_progress_and_evaluates_exactly(straight):
    result, tmp_path, seen = straight
    assert result.status == "completed"
    assert [p["epoch"] for p in seen] == [1, 2, 3] and all(p["epochs"] == 3 for p in seen)
    assert all(np.isfinite(p["loss"]) and np.isfinite(p["val_loss"]) for p in seen)
    metrics = result.metrics()
    assert metrics["epochs"] == 3 and metrics["weights"] == (D * 8 + 8) + (8 * D + D)
    assert result.history["val_loss"][0] > result.history["val_loss"][-1]  # it learns something
    # The evaluation is the exact per-step average over the real steps of the split (BL 2012).
    model = MB.build_model(EXPERIMENT, {"units": 8}, protocol(), result.seeds["init"])
    with np.load(tmp_path / MB.WEIGHTS_FILE) as arrays:
        model.set_weights([arrays[f"b{i}"] for i in range(len(model.get_weights()))])
    x, y, w = toy_task()["test"]
    expected = M.frame_nll_bernoulli(y, np.asarray(model.predict_on_batch(x)), w)
    assert metrics["test_nll"] == pytest.approx(expected, rel=1e-6)
    assert metrics["test_steps"] == int(w.sum())
    assert result.per_trial()[0]["history"]["loss"] == result.history["loss"]
    assert set(result.seeds) >= {"base", "init", "shuffle", "noise", "data"} and result.repeated_sequences == 0


def test_the_returned_final_weights_are_the_checkpoints_best_weights(straight):
    """What a paper reads after training (Bengio's trigram mixture) is ``result.final_weights``, not the
    checkpoint file: the two are the same arrays, bit for bit."""
    result, tmp_path, _ = straight
    with np.load(tmp_path / MB.WEIGHTS_FILE) as arrays:
        best = [arrays[f"b{i}"] for i in range(len(result.final_weights))]
    assert all(np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(result.final_weights, best))


@dataclasses.dataclass
class HookedProtocol(MinibatchProtocol):
    """Overrides every trainer hook that is not the optimizer's, and logs the calls."""

    calls: ClassVar[list] = []

    def make_loss(self):
        self.calls.append("make_loss")
        return super().make_loss()

    def loss_totals(self, y, prediction, weight):
        total, count = super().loss_totals(y, prediction, weight)
        return 2.0 * total, count  # a scaled score: the evaluation must come from this hook

    def checkpoint_arrays(self, model, state):
        return {**super().checkpoint_arrays(model, state), "extra": np.array([state["epoch"]])}

    def restore_checkpoint(self, model, arrays, state):
        self.calls.append(("restored extra", int(arrays["extra"][0])))
        super().restore_checkpoint(model, arrays, state)

    def extra_callbacks(self, model, state):
        import keras

        calls = self.calls

        class EpochLog(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                calls.append(("epoch end", state["epoch"]))  # after the trainer's own epoch end

        return [EpochLog()]


def test_a_protocol_subclass_supplies_loss_evaluation_callbacks_and_checkpoint_contents(tmp_path):
    HookedProtocol.calls.clear()
    fields = {**dataclasses.asdict(protocol()), "epochs": 1}
    first = run(HookedProtocol(**fields), tmp_path)
    assert HookedProtocol.calls == ["make_loss", ("epoch end", 1)]
    with np.load(tmp_path / MB.WEIGHTS_FILE) as arrays:
        assert arrays["extra"].tolist() == [1]
    plain = {k: v for k, v in first.evaluation.items() if k.endswith("_steps")}
    assert plain and all(first.evaluation[k.replace("_steps", "_nll")] > 0 for k in plain)
    model = MB.build_model(EXPERIMENT, {"units": 8}, protocol(), 0)
    model.set_weights(first.final_weights)
    unscaled = MB.evaluate_split(model, toy_task()["test"], protocol(), "test")
    assert first.evaluation["test_nll"] == pytest.approx(2.0 * unscaled["test_nll"], rel=1e-12)
    HookedProtocol.calls.clear()
    resumed = run(HookedProtocol(**{**fields, "epochs": 2}), tmp_path, resume=True)
    assert resumed.epochs_run == 2 and ("restored extra", 1) in HookedProtocol.calls
    assert HookedProtocol.calls[-1] == ("epoch end", 2)


def test_resume_after_interrupt_equals_an_uninterrupted_run(tmp_path, straight):
    straight, straight_dir, _ = straight

    def stop_after_two(info):
        if info["epoch"] == 2:
            raise KeyboardInterrupt

    first = run(protocol(), tmp_path / "b", progress=stop_after_two)
    assert first.status == "interrupted" and first.epochs_run == 2 and first.repeated_sequences == 0
    assert json.loads((tmp_path / "b" / MB.STATE_FILE).read_text())["epoch"] == 2
    resumed = run(protocol(), tmp_path / "b", resume=True)
    assert resumed.status == "completed" and resumed.epochs_run == 3
    assert len(resumed.history["loss"]) == 3
    np.testing.assert_allclose(resumed.history["loss"], straight.history["loss"], rtol=1e-5)
    for a, b in zip(final_weights(straight_dir), final_weights(tmp_path / "b")):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert resumed.metrics()["test_nll"] == pytest.approx(straight.metrics()["test_nll"], rel=1e-5)


def test_interrupt_inside_an_epoch_checkpoints_and_counts_repeated_examples(tmp_path, monkeypatch):
    import keras

    class CtrlC(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.params and batch == 2:  # third batch of the first epoch
                raise KeyboardInterrupt

    result = run(with_callbacks(CtrlC(), weight_noise=0.01), tmp_path)
    assert result.status == "interrupted" and result.epochs_run == 0
    assert result.repeated_sequences == 3 * 32
    assert (tmp_path / MB.WEIGHTS_FILE).exists()
    resumed = run(protocol(weight_noise=0.01), tmp_path, resume=True)
    assert resumed.status == "completed" and resumed.repeated_sequences == 3 * 32 and resumed.epochs_run == 3


def test_a_stop_request_whose_exception_was_swallowed_still_interrupts_at_the_next_batch(tmp_path, monkeypatch):
    """A signal that lands inside native JAX code can lose its KeyboardInterrupt; the recorded request is
    acted on at the next batch end (lstm_hist.interrupt)."""
    import keras

    from lstm_hist import interrupt

    class SwallowedSignal(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 1:
                interrupt.request(15)  # what the handler does, minus the raise native code swallowed

    try:
        result = run(with_callbacks(SwallowedSignal()), tmp_path)
    finally:
        interrupt.clear()
    assert result.status == "interrupted" and result.epochs_run == 0
    assert result.repeated_sequences == 2 * 32
    assert not interrupt.requested()


def test_nan_loss_gives_diverged(tmp_path):
    result = run(protocol(), tmp_path, task_cfg={"poison": True})
    assert result.status == "diverged"
    assert result.metrics()["epochs"] == 0 and "test_nll" not in result.metrics()


def test_early_stopping_stops_and_restores_the_best_epoch(tmp_path):
    # A huge step size makes the validation loss worse after the first epochs.
    result = run(protocol(optimizer="sgd", learning_rate=50.0, clipnorm=None, epochs=8, early_stopping_patience=1),
                 tmp_path)
    val = result.history["val_loss"]
    assert result.stopped_early and len(val) < 8
    assert result.best_epoch == int(np.nanargmin(val)) + 1


def test_weight_noise_is_applied_in_the_forward_pass_and_removed_after_each_update(tmp_path):
    tiny = dict(optimizer="sgd", learning_rate=1e-30, clipnorm=None, epochs=1, restore_best_weights=False)
    clean = run(protocol(**tiny), tmp_path / "clean")
    noisy = run(protocol(weight_noise=0.5, **tiny), tmp_path / "noisy")
    initial = MB.build_model(EXPERIMENT, {"units": 8}, protocol(), clean.seeds["init"]).get_weights()
    for start, end in zip(initial, final_weights(tmp_path / "noisy")):
        np.testing.assert_allclose(end, start, atol=1e-6)  # the noise did not leak into the weights
    assert abs(noisy.history["loss"][0] - clean.history["loss"][0]) > 1e-3  # but it changed the loss


def test_resume_needs_a_matching_checkpoint(tmp_path):
    with pytest.raises(UserError, match="nothing to resume"):
        run(protocol(), tmp_path, resume=True)
    run(protocol(epochs=1), tmp_path)
    with pytest.raises(UserError, match="different config"):
        run(protocol(epochs=1, learning_rate=0.5), tmp_path, resume=True)
    with pytest.raises(UserError, match="different config"):
        run(protocol(epochs=1), tmp_path, resume=True, seed=4)
    # Asking for more epochs is allowed: the fingerprint leaves out ``epochs`` and the patience.
    from lstm_hist.run_state import fingerprint

    assert fingerprint({}, {}, protocol(epochs=1), 3) == fingerprint({}, {}, protocol(epochs=9), 3)


@pytest.mark.parametrize("field, value", [("optimizer", "adagrad"), ("batch_size", 0), ("learning_rate", 0.0),
                                          ("loss", "hinge"), ("monitor", "val_acc"), ("weight_noise", -1.0),
                                          ("clipnorm_scope", "layer")])
def test_protocol_rejects_bad_fields(field, value):
    with pytest.raises(UserError, match=field):
        MinibatchProtocol(**{field: value})


def test_token_nll_reports_perplexity_and_bench_estimates(tmp_path):
    import keras

    vocab = 7
    rng = np.random.default_rng(0)
    context = rng.integers(0, vocab, size=(256, 2)).astype("int32")
    target = ((context[:, 0] + context[:, 1]) % vocab).astype("int32")

    def lm_task():
        return {"train": (context[:192], target[:192]), "valid": (context[192:224], target[192:224]),
                "test": (context[224:], target[224:])}

    def lm_model():
        inputs = keras.Input((2,), dtype="int32")
        features = keras.layers.Flatten()(keras.layers.Embedding(vocab, 4)(inputs))
        return keras.Model(inputs, keras.layers.Dense(vocab)(features))

    experiment = Experiment(task=lm_task, model=lm_model, protocol=MinibatchProtocol)
    proto = protocol(loss="token_nll", epochs=2)
    result = proto.run(experiment=experiment, task_cfg={}, model_cfg={}, seed=0, workdir=None, resume=False,
                       progress=None)
    metrics = result.metrics()
    assert metrics["test_perplexity"] == pytest.approx(np.exp(metrics["test_nll"]))
    assert metrics["test_tokens"] == 32 and metrics["test_perplexity"] < 2 * vocab
    bench = proto.bench(experiment=experiment, task_cfg={}, model_cfg={}, seed=0, updates=5)
    assert bench["batches_per_epoch"] == 6 and bench["steps_per_second"] > 0
    assert bench["estimated_wall_seconds"] == pytest.approx(bench["estimated_epoch_seconds"] * 2)


def test_learning_rate_search_keeps_the_best_validation_candidate_and_resumes(tmp_path, monkeypatch):
    """Chung et al. §4: one run per candidate; the lowest validation NLL wins; test plays no part."""
    from reproductions.chung2014 import lr_search
    from reproductions.chung2014.protocol import ChungProtocol

    proto = ChungProtocol(**{**dataclasses.asdict(protocol()), "lr_candidates": 3, "lr_log_range": (-9.0, -1.0),
                             "lr_sampling": "stratified", "epochs": 2})
    rates = lr_search.sample_learning_rates(proto, seed=3)
    seen: list[dict] = []
    result = run(proto, tmp_path, progress=seen.append)
    assert result.status == "completed"
    rows = result.per_trial()
    assert [r["learning_rate"] for r in rows] == rates and sorted({p["candidate"] for p in seen}) == ["1/3", "2/3",
                                                                                                      "3/3"]
    best = min(rows, key=lambda r: r["valid_nll"])
    assert best["chosen"] and sum(r["chosen"] for r in rows) == 1
    metrics = result.metrics()
    assert metrics["learning_rate"] == best["learning_rate"] and metrics["valid_nll"] == best["valid_nll"]
    assert metrics["lr_candidates_run"] == 3
    # The candidates differ only in the learning rate: the largest one (e^-1..e^-3.7) learns most in 2 epochs.
    assert best["learning_rate"] == max(rates)
    for k in range(3):
        assert (tmp_path / f"lr{k}" / MB.STATE_FILE).exists()
    # A resumed search reuses the finished candidates (no further training) and picks the same one.
    calls = []
    original = lr_search.train_minibatch
    monkeypatch.setattr(lr_search, "train_minibatch", lambda p, **kw: calls.append(kw["resume"]) or original(p, **kw))
    again = run(proto, tmp_path, resume=True)
    assert calls == [True, True, True] and again.metrics()["learning_rate"] == metrics["learning_rate"]
    assert again.metrics()["test_nll"] == pytest.approx(metrics["test_nll"])


def test_global_clipnorm_is_keras_global_clipnorm():
    per_var = MB.default_optimizer(protocol(clipnorm=1.0))
    whole = MB.default_optimizer(protocol(clipnorm=1.0, clipnorm_scope="global"))
    assert per_var.clipnorm == 1.0 and not per_var.global_clipnorm
    assert whole.global_clipnorm == 1.0 and not whole.clipnorm


def test_exploded_weights_with_a_finite_loss_give_diverged(tmp_path):
    # SGD at 1e8: the weights leave any sane range in one batch, while the loss of the saturated net stays finite;
    # only the weight check (lstm_hist.training.divergence) tells. It used to run all its epochs as "completed".
    result = run(protocol(optimizer="sgd", learning_rate=1e8, clipnorm=None, epochs=3), tmp_path)
    assert all(np.isfinite(result.history.get("loss", [0.0])))
    assert result.status == "diverged" and result.epochs_run <= 1


def test_progress_inside_an_epoch_reports_fractional_epochs(tmp_path, monkeypatch):
    """A long epoch (the NPLM's) reports before it ends: fractional epochs between the epoch-end reports."""
    from lstm_hist.training.minibatch import callbacks

    monkeypatch.setattr(callbacks, "PROGRESS_SECONDS", 0.0)
    seen: list[dict] = []
    result = run(protocol(), tmp_path, progress=seen.append)
    assert result.status == "completed"
    assert [p["epoch"] for p in seen if "batch" not in p] == [1, 2, 3]
    inside = [p for p in seen if "batch" in p]
    assert inside and all(0 < p["batch"] < p["batches"] and p["epochs"] == 3 for p in inside)
    epochs = [p["epoch"] for p in seen]
    assert epochs == sorted(epochs) and any(0 < e < 1 for e in epochs) and any(2 < e < 3 for e in epochs)
    assert all(not float(e).is_integer() for e in (p["epoch"] for p in inside))
