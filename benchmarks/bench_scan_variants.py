"""The 1997 cell's forward recurrence (``fast_jax._scan_states``) against variants of it that were tried to speed
up the long Exp 2c / Exp 3 rows and not kept, and the share of the recurrence in one 2c update. One process,
the variants interleaved round after round.

    KERAS_BACKEND=jax nice -n 10 python benchmarks/bench_scan_variants.py [--rounds 7]
        [--out benchmarks/results/cpu/scan_variants.json]

Variants: ``current`` (the fast path: trial axis major, packed [s, r] carry, recurrent product as multiply-and-sum),
``trial_minor`` (the same operations with the trial axis last), ``trial_minor_loop_sum`` (and the recurrent
product summed as a Python loop over the units: a different summation order, so not bit-identical), and
``numba_scalar`` (a compiled loop, one trial after another; only when numba is installed, which the package does
not require). ``max_abs_diff`` is against ``current``. The share: one jitted update of 2c q = p = 500 as built by
the protocol, with the recurrence as it is and replaced by a stub of the same shape.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

from reproductions.hochreiter1997 import fast_jax as F  # noqa: E402

SPEC_2C = (2, 1, True, True, "g2", "h1", 0.0)
SPEC_3 = (3, 1, True, True, "g2", "h1", 0.0)
SHAPES = {  # name: trials, sequences per trial, steps, spec
    "2c q=p=500 update": (20, 1, 603, SPEC_2C),
    "2c q=p=1000 update": (20, 1, 1103, SPEC_2C),
    "3a T=1000 update": (10, 1, 1100, SPEC_3),
    "3a T=1000 check (256 per trial)": (10, 256, 1100, SPEC_3),
}


def trial_minor(proj, rkernel, mask, spec, loop_sum=False):
    """``_scan_states`` with the trial axis last: (L, N, k, U) in and out."""
    blocks, size, output_gate, _, g_kind, h_kind, initial = spec
    cells, _, units = F._spec_sizes(spec)
    steps, n, k, _ = proj.shape
    rows = n * k
    p = jnp.transpose(proj.reshape(steps, rows, units), (0, 2, 1))
    rk = jnp.repeat(jnp.transpose(rkernel, (1, 2, 0)), k, axis=-1)  # (from, to, rows)
    keep = mask.reshape(steps, 1, rows)
    carry0 = jnp.concatenate([jnp.zeros((cells, rows), proj.dtype), jnp.full((units, rows), initial, proj.dtype)])

    def step(carry, xs):
        p_t, kp = xs
        s, r = carry[:cells], carry[cells:]
        if loop_sum:
            net = p_t
            for u in range(units):
                net = net + r[u] * rk[u]
        else:
            net = p_t + jnp.sum(r[:, None, :] * rk, axis=0)
        y_in = jax.nn.sigmoid(net[cells : cells + blocks])
        s = s + jnp.repeat(y_in, size, axis=0) * F._g_and_slope(net[:cells], g_kind)[0]
        h = F._h_and_slope(s, h_kind)[0]
        if output_gate:
            y_out = jax.nn.sigmoid(net[cells + blocks :])
            new = jnp.concatenate([s, jnp.repeat(y_out, size, axis=0) * h, y_in, y_out])
        else:
            new = jnp.concatenate([s, h, y_in])
        new = jnp.where(kp, new, carry)
        return new, new

    _, states = jax.lax.scan(step, carry0, (p, keep), unroll=F.UNROLL)
    return jnp.transpose(states, (0, 2, 1)).reshape(steps, n, k, cells + units)


def numba_scalar():
    """The recurrence as a compiled loop (output gates, g2, h1), or None without numba."""
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(cache=False)
    def scan(proj, rk, mask, cells, blocks, initial):
        steps, rows, units = proj.shape
        out = np.empty((steps, rows, cells + units), np.float32)
        carry = np.empty(cells + units, np.float32)
        net = np.empty(units, np.float32)
        for m in range(rows):
            carry[:cells] = 0.0
            carry[cells:] = initial
            for t in range(steps):
                if mask[t, m]:
                    for v in range(units):
                        a = proj[t, m, v]
                        for u in range(units):
                            a += carry[cells + u] * rk[m, u, v]
                        net[v] = a
                    for j in range(blocks):
                        y_in = 1.0 / (1.0 + math.exp(-net[cells + j]))
                        y_out = 1.0 / (1.0 + math.exp(-net[cells + blocks + j]))
                        s = carry[j] + y_in * (4.0 / (1.0 + math.exp(-net[j])) - 2.0)
                        carry[j] = s
                        carry[cells + j] = y_out * (2.0 / (1.0 + math.exp(-s)) - 1.0)
                        carry[2 * cells + j] = y_in
                        carry[2 * cells + blocks + j] = y_out
                out[t, m] = carry
        return out

    def run(proj, rkernel, mask, spec):
        steps, n, k, units = proj.shape
        cells = spec[0] * spec[1]
        rk = np.repeat(np.asarray(rkernel), k, axis=0)
        out = scan(np.asarray(proj).reshape(steps, n * k, units), rk, np.asarray(mask).reshape(steps, n * k),
                   cells, spec[0], np.float32(spec[6]))
        return out.reshape(steps, n, k, -1)

    return run


def _ms(fn, repeats):
    jax.block_until_ready(fn())
    start = time.perf_counter()
    for _ in range(repeats):
        out = fn()
    jax.block_until_ready(out)
    return (time.perf_counter() - start) / repeats * 1e3


def bench_shape(name, rounds) -> dict:
    n, k, steps, spec = SHAPES[name]
    units = F._spec_sizes(spec)[2]
    rng = np.random.default_rng(0)
    rkernel = jnp.asarray(rng.uniform(-1.5, 1.5, (n, units, units)), jnp.float32)
    proj = jnp.asarray(rng.uniform(-1, 1, (steps, n, k, units)), jnp.float32)
    mask = jnp.asarray(np.ones((steps, n, k, 1), bool))
    variants = {"current": jax.jit(lambda p, r, m: F._scan_states(p, r, m, spec)),
                "trial_minor": jax.jit(lambda p, r, m: trial_minor(p, r, m, spec)),
                "trial_minor_loop_sum": jax.jit(lambda p, r, m: trial_minor(p, r, m, spec, loop_sum=True))}
    scalar = numba_scalar()
    if scalar is not None and k == 1:
        variants["numba_scalar"] = lambda p, r, m: scalar(p, r, m, spec)
    reference = np.asarray(variants["current"](proj, rkernel, mask))
    repeats = 3 if k > 1 else 50
    timed = {v: [] for v in variants}
    for _ in range(rounds):
        for v, fn in variants.items():
            timed[v].append(_ms(lambda fn=fn: fn(proj, rkernel, mask), repeats))
    row = {"shape": name, "trials": n, "sequences_per_trial": k, "steps": steps}
    for v, times in timed.items():
        row[v] = {"ms": round(statistics.median(times), 3),
                  "current_over_this": round(statistics.median(c / t for c, t in zip(timed["current"], times)), 2),
                  "max_abs_diff": float(np.abs(np.asarray(variants[v](proj, rkernel, mask)) - reference).max())}
    return row


def scan_share(rounds) -> dict:
    """ms per jitted 2c q = p = 500 update, with the recurrence and with a stub in its place."""
    from lstm_hist import seeds
    from lstm_hist.registry import load
    from reproductions.hochreiter1997.symbols import task_for
    from reproductions.hochreiter1997.training.data import TrainingData
    from reproductions.hochreiter1997.training.online import build_learner

    _, _, experiment, cfg = load("hochreiter1997/long_lag_2c_q500_p500")
    protocol = experiment.protocol(**cfg["protocol"])
    real = F._scan_states

    def stub(proj, rkernel, mask, spec):
        cells = F._spec_sizes(spec)[0]
        return jnp.concatenate([proj[..., :cells] * 0.01, jnp.tanh(proj)], -1)

    steppers = {}
    for name, scan in (("with_recurrence", real), ("recurrence_stubbed", stub)):
        F._scan_states = scan
        try:
            model, _, stepper = build_learner(experiment, cfg["model"], protocol, 0)
            data = TrainingData(task_for(experiment.task, model), cfg["task"], protocol, 0,
                                seeds.trial_streams(0, "train", protocol.trials))
            x, mask, y = data.draw(1)
            active = np.ones(protocol.trials, dtype=bool)
            stepper(x[0], mask[0], y[0], active)  # compile with this scan
            steppers[name] = (stepper, x[0], mask[0], y[0], active)
        finally:
            F._scan_states = real
    timed = {name: [] for name in steppers}
    for _ in range(rounds):
        for name, (stepper, x, mask, y, active) in steppers.items():
            timed[name].append(_ms(lambda s=stepper, a=(x, mask, y, active): s(*a), 30))
    out = {name: round(statistics.median(t), 3) for name, t in timed.items()}
    out["recurrence_share"] = round(1 - out["recurrence_stubbed"] / out["with_recurrence"], 2)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--out", default="benchmarks/results/cpu/scan_variants.json")
    args = parser.parse_args(argv)
    from lstm_hist.records import provenance, utc_now, write_record

    start = utc_now()
    share = scan_share(args.rounds)
    print(json.dumps({"2c q=p=500 update": share}), flush=True)
    rows = []
    for name in SHAPES:
        rows.append(bench_shape(name, args.rounds))
        print(json.dumps(rows[-1]), flush=True)
    prov = provenance(" ".join(sys.argv), start, utc_now(), os.environ["KERAS_BACKEND"])
    write_record(Path(args.out), {"benchmark": "scan_variants", "update_share": share, "rows": rows,
                                  "provenance": prov})
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
