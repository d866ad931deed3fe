"""Chung et al. (2014) learning-rate candidates / seeds in one jitted JAX graph (reproductions/chung2014/candidates.py):
each member's numbers do not depend on the others, the jitted step agrees with the generic Keras path, a stopped
and resumed run equals an uninterrupted one, and the protocol hook selects as the generic search does."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lstm_hist.backend import current_backend

pytestmark = pytest.mark.skipif(current_backend() != "jax", reason="the one-graph trainer is JAX only")

from lstm_hist import interrupt  # noqa: E402
from lstm_hist.data.batching import next_step_arrays  # noqa: E402
from lstm_hist.experiment import Experiment  # noqa: E402
from reproductions.chung2014 import ChungProtocol, build_music_model  # noqa: E402
from reproductions.chung2014.candidate_search import search_in_one_graph  # noqa: E402
from reproductions.chung2014.candidates import Member, OneGraphTrainer, epoch_rates  # noqa: E402

DIM = 6


def _task():
    rng = np.random.default_rng(5)

    def rolls(n):  # two lengths: batches are cut to 5 or 9 steps (few shapes to compile), padding still exercised
        return [(rng.random((int(rng.choice([6, 10])), DIM)) < 0.3).astype(np.float32) for _ in range(n)]

    splits = {"train": rolls(7), "valid": rolls(3), "test": rolls(2)}
    return {name: next_step_arrays(r) for name, r in splits.items()}


DATA = _task()
EXPERIMENT = Experiment(task=lambda: DATA, model=build_music_model, protocol=ChungProtocol)


def _protocol(**changes):
    base = ChungProtocol(optimizer="rmsprop_momentum", momentum=0.9, rho=0.95, stabilizer=0.01,
                         momentum_clipping=1.0, lr_decay_factor=0.01, lr_decay_epochs=3, weight_noise=0.075,
                         weight_noise_scope="recurrent", batch_size=1, epochs=3, early_stopping_patience=None,
                         restore_best_weights=True, loss="frame_nll_sequence_sum", from_logits=True,
                         eval_batch_size=2, lr_candidates=None, candidates_in_one_graph=True)
    return dataclasses.replace(base, **changes)


def _model_cfg(unit):
    return {"unit": unit, "units": 5, "dim": DIM, "recurrent_init": "orthogonal"}


def _train(protocol, unit, members, workdir=None, resume=False, on_step=None):
    trainer = OneGraphTrainer(protocol, experiment=EXPERIMENT, task_cfg={}, model_cfg=_model_cfg(unit),
                              members=members, workdir=workdir, resume=resume)
    if on_step is not None:
        original = trainer.batches.step

        def step(s):
            on_step(trainer.state["epoch"], s)
            return original(s)

        trainer.batches.step = step
    status = trainer.run()
    return status, trainer, trainer.results(status)


def _assert_same(a, b, rtol=2e-5, atol=1e-6):
    assert a.status == b.status and a.epochs_run == b.epochs_run and a.best_epoch == b.best_epoch
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(a.history[key], b.history[key], rtol=rtol, atol=atol)
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(wa, wb, rtol=rtol, atol=atol)


# The members' independence is the vmap's, not the unit's: one unit in the default suite, the others with -m slow.
@pytest.mark.parametrize("unit", ["gru", pytest.param("lstm", marks=pytest.mark.slow),
                                  pytest.param("tanh", marks=pytest.mark.slow)])
def test_member_numbers_do_not_depend_on_the_other_members(unit):
    # Three rates of seed 0 (shared batches) and one of seed 1 (its own order: batches padded to a common length).
    members = [Member(0, 3e-3), Member(0, 2e-4), Member(1, 1e-3), Member(0, 8e-4)]
    _, _, together = _train(_protocol(), unit, members)
    for k in (1, 2):
        _, _, alone = _train(_protocol(), unit, [members[k]])
        _assert_same(together[k], alone[0])
    # The members really differ: other rates, other seeds give other weights.
    assert not np.allclose(together[0].weights[0], together[1].weights[0])
    assert not np.allclose(together[1].weights[0], together[2].weights[0])


@pytest.mark.parametrize("unit, clipnorm_scope", [("gru", None), ("lstm", None), ("gru", "per_variable"),
                                                   ("gru", "global")])
def test_jitted_step_agrees_with_the_generic_keras_path(unit, clipnorm_scope):
    # With clipnorm (§4's text, a gradient-norm clip) the generic path is Keras's own clipnorm/global_clipnorm.
    from lstm_hist.training.minibatch import train_minibatch

    protocol = _protocol(weight_noise=0.0, learning_rate=2e-3)
    if clipnorm_scope is not None:
        protocol = dataclasses.replace(protocol, clipnorm=0.5, clipnorm_scope=clipnorm_scope)
    generic = train_minibatch(protocol, experiment=EXPERIMENT, task_cfg={}, model_cfg=_model_cfg(unit), seed=0)
    _, trainer, (ours,) = _train(protocol, unit, [Member(0, 2e-3)])
    assert generic.status == ours.status == "completed"
    assert generic.best_epoch == ours.best_epoch and generic.epochs_run == ours.epochs_run == 3
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(generic.history[key], ours.history[key], rtol=2e-5)
    trainable = [id(v) for v in trainer.model.trainable_variables]
    generic_trainable = [w for w, v in zip(generic.final_weights, trainer.model.weights) if id(v) in trainable]
    assert len(generic_trainable) == len(ours.weights)
    for a, b in zip(generic_trainable, ours.weights):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)
    if clipnorm_scope is not None:  # the clip bound: without it the same run ends elsewhere
        _, _, (unclipped,) = _train(_protocol(weight_noise=0.0), unit, [Member(0, 2e-3)])
        assert not np.allclose(unclipped.history["loss"], ours.history["loss"], rtol=1e-3)


def test_linear_decay_per_epoch_matches_the_keras_schedule():
    from reproductions.chung2014 import LinearDecayOverEpochs

    protocol = _protocol(lr_decay_epochs=4)
    schedule = LinearDecayOverEpochs(1e-3, steps_per_epoch=7, saturate=4, decay_factor=0.01)
    for epoch in range(6):
        ours = epoch_rates(protocol, [Member(0, 1e-3)], epoch)[0]
        assert ours == pytest.approx(float(np.asarray(schedule(7 * epoch + 3))), rel=1e-6)


def test_stopped_and_resumed_run_equals_an_uninterrupted_one(tmp_path):
    members = [Member(0, 3e-3), Member(0, 5e-4)]
    protocol = _protocol(epochs=4)
    _, _, straight = _train(protocol, "gru", members, workdir=tmp_path / "a")

    def stop(epoch, step):
        if epoch == 2 and step == 3:
            interrupt.request(15)  # the next check (step 4) raises, as after SIGTERM

    status, trainer, _ = _train(protocol, "gru", members, workdir=tmp_path / "b", on_step=stop)
    assert status == "interrupted" and trainer.state["epoch"] == 2
    assert [m["repeated"] for m in trainer.state["members"]] == [4, 4]  # steps 0..3 of the unfinished epoch
    status, trainer, resumed = _train(protocol, "gru", members, workdir=tmp_path / "b", resume=True)
    assert status == "completed" and trainer.state["epoch"] == 4
    for a, b in zip(straight, resumed):
        _assert_same(a, b, rtol=1e-6, atol=1e-7)


def test_protocol_hook_selects_the_lowest_validation_nll():
    protocol = _protocol(lr_candidates=3, lr_log_range=(-9.0, -5.0), epochs=2, lr_decay_epochs=2)
    result = protocol.run(experiment=EXPERIMENT, task_cfg={}, model_cfg=_model_cfg("gru"), seed=0)
    rows = result.per_trial()
    assert result.status == "completed" and len(rows) == 3
    chosen = [row for row in rows if row["chosen"]]
    assert len(chosen) == 1 and chosen[0]["valid_nll"] == min(row["valid_nll"] for row in rows)
    assert result.learning_rate == chosen[0]["learning_rate"]
    assert result.evaluation["valid_nll"] == pytest.approx(chosen[0]["valid_nll"], rel=1e-9)
    assert {"train_nll", "test_nll"} <= set(result.evaluation)
    direct = search_in_one_graph(protocol, experiment=EXPERIMENT, task_cfg={}, model_cfg=_model_cfg("gru"), seed=0)
    assert [r["valid_nll"] for r in direct.per_trial()] == pytest.approx([r["valid_nll"] for r in rows], rel=1e-6)


def test_protocol_hook_is_on_by_default_and_false_selects_the_generic_fit(monkeypatch):
    from reproductions.chung2014 import candidate_search

    def boom(*args, **kwargs):
        raise AssertionError("the one-graph search ran although switched off")

    monkeypatch.setattr(candidate_search, "search_in_one_graph", boom)
    assert ChungProtocol().candidates_in_one_graph is True
    protocol = dataclasses.replace(_protocol(lr_candidates=2, epochs=1, lr_decay_epochs=1),
                                   candidates_in_one_graph=False)
    result = protocol.run(experiment=EXPERIMENT, task_cfg={}, model_cfg=_model_cfg("tanh"), seed=0)
    assert result.status == "completed" and len(result.per_trial()) == 2


def test_progress_names_the_member_the_search_would_keep_now():
    # Member 0 peaked early and overfits (lowest best, not lowest now); member 1 is lowest at this epoch.
    from types import SimpleNamespace

    from reproductions.chung2014.candidates import OneGraphTrainer

    members = [{"history": {"loss": [5.0, 6.0], "val_loss": [3.0, 4.0]}, "best": 3.0, "best_epoch": 1, "epochs": 2},
               {"history": {"loss": [7.0, 5.5], "val_loss": [4.5, 3.5]}, "best": 3.5, "best_epoch": 2, "epochs": 2}]
    stub = SimpleNamespace(state={"epoch": 2, "members": members}, protocol=SimpleNamespace(epochs=10), k=2,
                           members=[Member(0, 1e-3), Member(0, 1e-4)])
    info = OneGraphTrainer._progress_info(stub)
    assert info["leader"] == 0 and info["learning_rate"] == 1e-3
    assert info["best_val_loss"] == 3.0 and info["val_loss"] == 4.0 and info["best_epoch"] == 1


def test_interrupted_search_headlines_the_leader_not_the_last_member():
    # All members stop together in one graph: the headline is the one the search would keep now, none is chosen.
    from types import SimpleNamespace

    from reproductions.chung2014.candidate_search import select
    from reproductions.chung2014.candidates import MemberResult

    def member(rate, val_loss, best_epoch):
        return MemberResult(member=Member(0, rate), status="interrupted", epochs_run=len(val_loss),
                            best_epoch=best_epoch, history={"loss": [9.0] * len(val_loss), "val_loss": val_loss},
                            stopped_early=False, repeated_sequences=0, weights=[],
                            best_val_loss=val_loss[best_epoch - 1])

    results = [member(1e-5, [5.0, 4.0, 3.5], 3), member(1e-4, [4.0, 3.0, 3.2], 2), member(1e-3, [3.8, 6.0, 7.0], 1)]
    out = select(_protocol(lr_candidates=3), SimpleNamespace(trainable_variables=[]), {}, results, "interrupted", 1.0)
    assert out.status == "interrupted" and out.evaluation == {}
    assert out.learning_rate == 1e-4 and out.best_epoch == 2
    assert not any(row["chosen"] for row in out.per_trial())
