"""Run chosen trial indices of a 1997 online row alone (exploration only), optionally from a checkpoint.

    python tools/long_lag_2c_select_trials.py --indices 14,0,1 [--of 20] [--trace T.npz]
        [--from-checkpoint DIR] -- run hochreiter1997/long_lag_2c_q200_p200 --set ... --out DIR --fresh

Why a tool. A row's N trials are rows of one net (H12): trial b's data stream is ``SeedSequence(seed,
spawn_key=(purpose, b))`` (H10, independent of N), but its initial weights are slice b of one initialiser draw of
shape (N, …), which changes with N. So ``--set protocol.trials=3`` would not rerun trials 14, 0 and 1 of the
20-trial record. This tool builds the N-trial net under the run's seed exactly as the trainer does, keeps the
slices of ``--indices``, and gives the k-trial run the streams of those indices (train, check and test), then
hands the remaining arguments to ``lstm-hist`` unchanged: the package trains and writes the record. In that
record trial j is ``--indices[j]`` (its ``seeds`` block describes trials 0 … k−1). A chunk's sequences are drawn
in one vectorised call whose size the trainer derives from N, so the tool also keeps the N-trial chunk size
(``protocol.checkpoint_every`` must stay a multiple of it). The tool writes
``selection.yaml`` (JSON, which YAML reads; not ``.json``, which the record loader would take for a record) into
``--out`` (else beside the trace) saying which indices ran.

``--from-checkpoint DIR``: start from the weights and training-stream states of a run's checkpoint folder
(``checkpoint.npz`` and ``checkpoint.json``), i.e. continue those trials where that run stopped (a fresh
window and sequence count: the record counts the sequences after the checkpoint).

``--trace T.npz``: every checkpoint of the run (``protocol.checkpoint_every``) also appends the weights of every
trial and the window's mean error and fraction correct to T.npz, the initial weights first (seen = 0), so the
first tens of thousands of sequences can be replayed without rerunning (``long_lag_2c_stuck_profile.py``).

The training code is not changed: the tool wraps ``online.build_learner``, ``online.chunk_size``,
``lstm_hist.seeds.trial_streams`` and ``OnlineRun.checkpoint`` for this process only. Used for docs/deviations.md ("Table 3's rows with q ≥ 200").
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np


def _save_trace(path: Path, trace: dict) -> None:
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **{k: np.asarray(v) for k, v in trace.items()})
    tmp.replace(path)


def install(indices: list[int], of: int, trace_path: Path | None, start: Path | None):
    """Wrap the trainer's weight draw, streams, chunk size and checkpoint for the chosen ``indices`` of ``of``
    trials; returns a function that puts the originals back."""
    import keras

    from lstm_hist import seeds
    from lstm_hist.errors import UserError
    from reproductions.hochreiter1997.training import online

    original_streams, original_build, original_checkpoint = seeds.trial_streams, online.build_learner, None
    arrays = np.load(start / "checkpoint.npz") if start is not None else None
    state = json.loads((start / "checkpoint.json").read_text()) if start is not None else None
    trace: dict[str, list] = {"seen": [], "correct": [], "error": []}

    def trial_streams(seed, purpose, trials):
        if trials != len(indices):
            return original_streams(seed, purpose, trials)
        streams = [seeds.trial_rng(seed, purpose, b) for b in indices]
        if purpose == "train" and state is not None:  # continue each trial's stream where the checkpoint left it
            for rng, b in zip(streams, indices):
                rng.bit_generator.state = state["rng"][b]
        return streams

    def build_learner(experiment, model_cfg, protocol, seed):
        keras.utils.set_random_seed(seeds.weights_seed_online(seed))  # the trainer's draw for all `of` trials
        full = experiment.model(trials=of, **model_cfg)
        chosen = [np.asarray(v.numpy())[indices] for v in full.trainable_variables]
        if arrays is not None:
            chosen = [np.asarray(arrays[f"model_{k}"])[indices] for k in range(len(chosen))]
        model, optimizer, stepper = original_build(experiment, model_cfg, protocol, seed)
        for variable, value in zip(model.trainable_variables, chosen):
            variable.assign(value)
        stepper.pull()
        if trace_path is not None:
            for k, value in enumerate(chosen):
                trace[f"w{k}"] = [value]
            trace["seen"].append(0)
            trace["correct"].append(np.full(len(indices), np.nan))
            trace["error"].append(np.full(len(indices), np.nan))
        return model, optimizer, stepper

    def checkpoint(run):
        original_checkpoint(run)
        if trace_path is None:
            return
        run.stepper.push()
        for k, variable in enumerate(run.model.trainable_variables):
            trace[f"w{k}"].append(np.asarray(variable.numpy()))
        trace["seen"].append(run.seen)
        trace["correct"].append(run.window.correct_fraction())
        trace["error"].append(run.window.mean_error())
        _save_trace(trace_path, {**trace, "indices": indices})

    def chunk_size(task, task_cfg, protocol):
        # The generators draw a chunk's sequences in one vectorised call, so a trial's sequences depend on the
        # chunk size, which the trainer derives from the trial count: use the full run's.
        chunk = original_chunk(task, task_cfg, dataclasses.replace(protocol, trials=of))
        if protocol.checkpoint_every % chunk:
            raise UserError(f"protocol.checkpoint_every must be a multiple of the {of}-trial run's chunk of "
                            f"{chunk} updates")
        return chunk

    original_checkpoint, original_chunk = online.OnlineRun.checkpoint, online.chunk_size
    seeds.trial_streams = trial_streams
    online.chunk_size = chunk_size
    online.build_learner = build_learner
    online.OnlineRun.checkpoint = checkpoint

    def restore():
        seeds.trial_streams, online.build_learner = original_streams, original_build
        online.OnlineRun.checkpoint, online.chunk_size = original_checkpoint, original_chunk

    return restore


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--indices", required=True, help="comma-separated trial indices, e.g. 14,0,1")
    parser.add_argument("--of", type=int, default=20, help="the row's trial count the indices belong to")
    parser.add_argument("--trace", type=Path, help="write the weights at every checkpoint here (.npz)")
    parser.add_argument("--from-checkpoint", type=Path, help="a run's checkpoint folder to start from")
    parser.add_argument("lstm_hist_args", nargs=argparse.REMAINDER, help="-- run <row> ... (lstm-hist arguments)")
    args = parser.parse_args(argv)
    indices = [int(b) for b in args.indices.split(",")]
    if not indices or min(indices) < 0 or max(indices) >= args.of:
        parser.error(f"--indices must lie in 0 … {args.of - 1}")
    rest = [a for a in args.lstm_hist_args if a != "--"]
    if "--trials" in rest or any(a.startswith("protocol.trials=") for a in rest):
        parser.error("the trial count is len(--indices); do not pass --trials or protocol.trials")
    rest += ["--set", f"protocol.trials={len(indices)}"]
    out = rest[rest.index("--out") + 1] if "--out" in rest[:-1] else (args.trace.parent if args.trace else ".")
    note = Path(out) / "selection.yaml"
    note.parent.mkdir(parents=True, exist_ok=True)
    note.write_text(json.dumps({"indices": indices, "of": args.of, "from_checkpoint": str(args.from_checkpoint or ""),
                                "lstm_hist": rest}, indent=1) + "\n")

    from lstm_hist.backend import select_backend

    select_backend(None)
    restore = install(indices, args.of, args.trace, args.from_checkpoint)
    from lstm_hist.cli import main as lstm_hist_main

    try:
        return lstm_hist_main(rest)
    finally:
        restore()


if __name__ == "__main__":
    raise SystemExit(main())
