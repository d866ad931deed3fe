"""How often the authors' step-norm clip (``momentum_clipping: 1``) binds in a Chung et al. (2014) music run.

Why (docs/deviations.md, Chung section, "Nottingham at the full protocol"): with the summed training cost a long
Nottingham piece gives a large gradient; if the step norm ‖v‖ of RMSProp-with-momentum exceeded 1 on many updates,
the clip (not the learning rate) would set the step size, most on the longest pieces. This tool trains the row's
model exactly as the one-graph search does (``reproductions.chung2014.candidates.OneGraphTrainer``: same data order,
initialisation, per-epoch decayed rate and the same weight-noise stream), but computes the new velocity unclipped
(``jit_step.rmsprop_momentum`` with no clip), records its norm over all parameters, and then applies the clip as
the protocol does. Per member and epoch it reports the share of updates with ‖v‖ > clip, overall and for pieces
longer than ``--long`` steps, the quantiles of ‖v‖, and the mean training loss (to check against the record); also
the gradient's norm (what §4's text, "the norm of the gradient rescaled to 1", would clip) and the share of the
parameters whose RMS sits at the 0.01 floor.

Two starts:

* from the row's initialisation (``--epochs N``: epochs 1…N of the record's learning-rate candidates);
* from a record's kept weights (``--weights``, ``--start-epoch E``): the optimizer state is not saved, so epoch E
  (1-based, the decayed rate of epoch E) warms up the mean squares and velocities and only epoch E + 1 is counted.

    PYTHONPATH=$PWD python tools/chung_clip_fraction.py chung2014/nottingham_gru \
        --record results/chung2014/nottingham_gru-seed0-20261130T122825-754650.json --epochs 2 \
        --out results/explorations/chung_nottingham/clip_fraction_init.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

import numpy as np

from json_out import emit  # tools/json_out.py: run as `python tools/<name>.py`


def build_probe_step(model, loss, noisy: tuple[bool, ...], hyper):
    """``step(params, ms, vel, rates, key, epoch, step, x, y, w) -> (params, ms, vel, loss, norm, gnorm, floor)``
    for K members sharing one batch and one noise draw (the search's case); per member: ``norm`` the unclipped step
    norm, ``gnorm`` the gradient's norm over all parameters (what §4's text clips), ``floor`` the share of the
    parameters whose RMS sits at the ``stabilizer`` floor after the update."""
    import jax
    import jax.numpy as jnp

    from reproductions.chung2014.jit_step import rmsprop_momentum

    raw = dataclasses.replace(hyper, clip=None)
    non_trainable = [v.value for v in model.non_trainable_variables]
    dtype = model.trainable_variables[0].dtype

    def member_loss(params, x, y, w):
        pred, _ = model.stateless_call(params, non_trainable, x, training=True)
        return loss(y, pred, sample_weight=w)

    grad_fn = jax.value_and_grad(member_loss)

    def member(params, ms, vel, rate, eps, x, y, w):
        value, grads = grad_fn([p if e is None else p + e for p, e in zip(params, eps)], x, y, w)
        _, new_ms, new_v = rmsprop_momentum(params, grads, ms, vel, rate, raw)
        norm = jnp.sqrt(sum(jnp.sum(jnp.square(v)) for v in new_v))
        gnorm = jnp.sqrt(sum(jnp.sum(jnp.square(g)) for g in grads))
        floored = sum(jnp.sum(jnp.sqrt(m) < hyper.stabilizer) for m in new_ms) / sum(m.size for m in new_ms)
        scale = 1.0 if hyper.clip is None else hyper.clip / jnp.maximum(norm, hyper.clip)
        return [p + v * scale for p, v in zip(params, new_v)], new_ms, new_v, value, norm, gnorm, floored

    update = jax.vmap(member, in_axes=(0, 0, 0, 0, None, None, None, None))

    def step(params, ms, vel, rates, key, epoch, s, x, y, w):
        # The noise draw of jit_step: key folded with the epoch, the step, then the variable's index.
        k = jax.random.fold_in(jax.random.fold_in(key, epoch), s)
        eps = [hyper.noise_std * jax.random.normal(jax.random.fold_in(k, i), p.shape[1:], dtype)
               if flag and hyper.noise_std > 0 else None for i, (p, flag) in enumerate(zip(params, noisy))]
        return update(params, ms, vel, rates, eps, x, y, w)

    return jax.jit(step)


def summarise(norms: np.ndarray, lengths: np.ndarray, losses: np.ndarray, clip: float, long: int,
              gnorms: np.ndarray | None = None, floors: np.ndarray | None = None) -> dict:
    """One member's epoch: norms, losses (per update) and piece lengths (steps scored); gradient norms and the
    share of parameters at the RMS floor when given."""
    over = norms > clip
    is_long = lengths > long
    q = np.quantile(norms, [0.5, 0.9, 0.99, 1.0])
    return {"updates": int(len(norms)), "share_clipped": float(over.mean()),
            "share_clipped_long": float(over[is_long].mean()) if is_long.any() else None,
            "share_clipped_short": float(over[~is_long].mean()) if (~is_long).any() else None,
            "long_updates": int(is_long.sum()),
            "norm_median": float(q[0]), "norm_p90": float(q[1]), "norm_p99": float(q[2]), "norm_max": float(q[3]),
            "mean_loss": float(losses.mean()),
            **({} if gnorms is None else {
                "grad_norm_median": float(np.median(gnorms)), "grad_norm_p10": float(np.quantile(gnorms, 0.1)),
                "grad_norm_max": float(gnorms.max()), "share_grad_norm_over_1": float((gnorms > 1).mean())}),
            **({} if floors is None else {"share_params_at_rms_floor_mean": float(floors.mean())})}


def run_epochs(trainer, step_fn, epochs: list[int], counted: set[int], rates_of, clip: float, long: int) -> list:
    """Train the given 0-based epochs; summaries of the counted ones, one list of member rows per epoch."""
    import jax.numpy as jnp

    params, ms, vel = trainer.params, trainer.ms, trainer.vel
    key = trainer.keys[0]
    out = []
    for epoch in epochs:
        trainer.batches.set_epoch(epoch)
        rates = jnp.asarray(rates_of(epoch))
        norms, losses, lengths, gnorms, floors = [], [], [], [], []
        for s in range(trainer.batches.steps):
            _, (x, y, w) = trainer.batches.step(s)
            params, ms, vel, loss, norm, gnorm, floor = step_fn(params, ms, vel, rates, key, np.int32(epoch),
                                                                np.int32(s), x, y, w)
            norms.append(np.asarray(norm))
            gnorms.append(np.asarray(gnorm))
            floors.append(np.asarray(floor))
            losses.append(np.asarray(loss))
            lengths.append(int(np.asarray(w).sum()))
        if epoch in counted:
            n, l, ln, g, f = (np.stack(norms), np.stack(losses), np.asarray(lengths), np.stack(gnorms),
                              np.stack(floors))
            out.append({"epoch": epoch + 1, "rates": [float(r) for r in np.asarray(rates)],
                        "members": [summarise(n[:, k], ln, l[:, k], clip, long, g[:, k], f[:, k])
                                    for k in range(n.shape[1])]})
        print(f"epoch {epoch + 1} done", file=sys.stderr, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("row", help="experiment id, e.g. chung2014/nottingham_gru")
    parser.add_argument("--record", type=Path, required=True, help="the run record whose candidates to replay")
    parser.add_argument("--epochs", type=int, default=1, help="epochs from the initialisation (default 1)")
    parser.add_argument("--members", help="comma-separated trial indices of the record (default: all)")
    parser.add_argument("--weights", type=Path, help="start from these kept weights (.weights.npz) instead")
    parser.add_argument("--start-epoch", type=int, help="with --weights: the 1-based epoch to warm up with")
    parser.add_argument("--long", type=int, default=500, help="a piece longer than this many steps is long")
    parser.add_argument("--out", type=Path, help="write the measurements as JSON here")
    args = parser.parse_args(argv)
    if (args.weights is None) != (args.start_epoch is None):
        print("error: --weights and --start-epoch go together", file=sys.stderr)
        return 2
    record = json.loads(args.record.read_text())
    trials = record["trials"]
    picks = [int(i) for i in args.members.split(",")] if args.members else list(range(len(trials)))

    os.environ.setdefault("KERAS_BACKEND", "jax")  # the one-graph trainer is JAX only; set before Keras loads
    import jax.numpy as jnp

    from lstm_hist.runner import build_protocol, resolve
    from reproductions.chung2014.candidates import Member, OneGraphTrainer, epoch_rates

    full, path, experiment, cfg = resolve(args.row)
    protocol = build_protocol(experiment, cfg, path)
    members = [Member(seed=int(record["seed"]), learning_rate=float(trials[i]["learning_rate"])) for i in picks]
    trainer = OneGraphTrainer(protocol, experiment=experiment, task_cfg=cfg["task"], model_cfg=cfg["model"],
                              members=members)
    model = trainer.model
    noisy_ids = {id(v) for v in protocol.noisy_variables(model)} if protocol.weight_noise > 0 else set()
    noisy = tuple(id(v) in noisy_ids for v in model.trainable_variables)
    opt = model.optimizer
    from reproductions.chung2014.jit_step import StepHyper

    hyper = StepHyper(momentum=opt.momentum, averaging=opt.averaging_coeff, stabilizer=opt.stabilizer,
                      clip=opt.momentum_clipping, noise_std=float(protocol.weight_noise))
    step_fn = build_probe_step(model, model.loss, noisy, hyper)
    if args.weights is not None:
        with np.load(args.weights) as npz:  # keras get_weights order, saved as arr_0, arr_1, ...
            kept = [npz[f"arr_{i}"] for i in range(len(npz.files))]
        shapes = [tuple(v.shape) for v in model.trainable_variables]
        if [a.shape for a in kept] != shapes:
            print(f"error: {args.weights} holds shapes {[a.shape for a in kept]}, the model {shapes}", file=sys.stderr)
            return 2
        trainer.params = [jnp.asarray(np.stack([a] * len(members))) for a in kept]
        epochs = [args.start_epoch - 1, args.start_epoch]
    else:
        epochs = list(range(args.epochs))
    counted = set(epochs[1:]) if args.weights is not None else set(epochs)
    rows = run_epochs(trainer, step_fn, epochs, counted, lambda e: epoch_rates(protocol, members, e),
                      hyper.clip or float("inf"), args.long)
    result = {"row": full, "record": str(args.record), "trials": picks, "clip": hyper.clip,
              "weight_noise": protocol.weight_noise, "long_piece_steps": args.long,
              "start": "kept weights " + str(args.weights) if args.weights is not None else "initialisation",
              "epochs": rows}
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
