"""The sets a 1997 run is judged on besides its training sequences: the periodic checks of criteria "check_set"
(Exp 3) and "legal_next" (Exp 1), and the final test on fresh sequences of each trial's own test stream."""

from __future__ import annotations

import numpy as np

from lstm_hist import seeds
from lstm_hist.errors import UserError

from .criteria import legal_next_correct, sequence_scores
from .data import concat, draw_chunk, predict_trials, stack_per_trial


SCREEN_FRACTION = 8  # the screen is the first 1/8 of each trial's check set (see make_checker)


def make_checker(task, task_cfg, protocol, seed, trials, data, screen: int | None = None):
    """The periodic check of criteria "check_set" (Exp 3) and "legal_next" (Exp 1), or None.

    Returns ``check(model, rows=None, active=None, at=0) -> (met (N,), st1 (N,) or None)``; the model must hold
    the current weights; ``at`` is the training sequences seen, which keys the sets of ``check_draw: fresh``
    (deviations E3.7). With ``rows`` (trial indices), the model's trial axis holds those trials (:mod:`.compact`)
    and the results are theirs, in that order. ``active`` (one flag per trial checked) names the trials whose results
    the caller reads; only they can make the check run its full set (below).

    Exp 3's ST1 allows at most ``st1_max_wrong`` misclassified sequences, so its check first runs the first
    ``screen`` sequences of each set (default: 1/8 of it): a trial that fails there fails ST1, and so ST2, whatever
    the rest hold, and when that is every active trial the full set is not run (a solved, frozen trial would pass
    the screen at every check). The decision is the full set's: Exp 3's net computes a sequence's outputs the
    same, bit for bit, in a batch of ``screen`` rows as in the full batch (tests/test_h97_check_screen.py). An
    unsolved T = 1000 net fails the screen at every check, and there the full check was half of a run's time
    (docs/performance.md). ``screen=0`` runs the full set. Exp 1's check is not screened: its net's one-hot input
    product changes in the last bit with the batch size (1 ulp on ~1 % of the outputs, measured), which could flip
    a near-tie of its legal-next criterion and so a reported count.
    """
    if protocol.criterion == "check_set":
        cfg = {**task_cfg, **protocol.test_task}
        fixed = None
        if protocol.check_draw == "fixed":
            streams = seeds.trial_streams(seed, "check", trials)
            fixed = stack_per_trial([task(rng, protocol.check_sequences, **cfg) for rng in streams])
        head = protocol.check_sequences // SCREEN_FRACTION if screen is None else screen

        def sets(rows, at):
            if fixed is not None:
                return (a if rows is None else a[rows] for a in fixed)
            return stack_per_trial([task(seeds.check_draw_rng(seed, int(b), at), protocol.check_sequences, **cfg)
                                    for b in (range(trials) if rows is None else rows)])

        def st1_of(model, xs, ms, ys):
            _, correct, absolute, count = sequence_scores(ys, predict_trials(model, xs, ms), ms, protocol.threshold,
                                                          protocol.every_step, protocol.criterion_steps)  # fmt: skip
            return (~correct).sum(axis=1) <= protocol.st1_max_wrong, absolute, count

        def check(model, rows=None, active=None, at=0):
            xs, ms, ys = sets(rows, at)
            if 0 < head < protocol.check_sequences:
                passed = st1_of(model, xs[:, :head], ms[:, :head], ys[:, :head])[0]
                if not (passed if active is None else passed & active).any():
                    return np.zeros(len(xs), dtype=bool), np.zeros(len(xs), dtype=bool)
            st1, absolute, count = st1_of(model, xs, ms, ys)
            return st1 & (absolute.sum(axis=1) / count.sum(axis=1) < protocol.st2_error), st1

        return check
    if protocol.criterion == "legal_next":
        legal_of = getattr(task, "legal_next", None)
        if legal_of is None:
            raise UserError("protocol.criterion 'legal_next' needs a task with a legal_next(x, lengths) function")
        both = [concat(list(data.pair_of(b))) for b in range(trials)]
        legal_by_pair = [legal_of(concat(list(pair)).x, concat(list(pair)).lengths) for pair in data.pairs]
        x, mask, _ = stack_per_trial(both)
        legal = np.stack([legal_by_pair[b % len(data.pairs)] for b in range(trials)])

        def check(model, rows=None, active=None, at=0):
            xs, ms, legal_s = (a if rows is None else a[rows] for a in (x, mask, legal))
            return legal_next_correct(predict_trials(model, xs, ms), legal_s, ms).all(axis=1), None

        return check
    return None


def check_streams(protocol) -> tuple[str, ...]:
    """The names (:data:`lstm_hist.seeds.STREAMS`) of the streams the periodic check draws from, for a record."""
    if protocol.criterion != "check_set":
        return ()  # Exp 1's legal-next check reads its fixed sets' strings; the window criteria draw nothing
    return ("check_fresh",) if protocol.check_draw == "fresh" else ("check_streams",)


def evaluate_trials(model, task, task_cfg, seed, trials, protocol, block: int = 256) -> dict[str, np.ndarray]:
    """Each trial's ABS(threshold) errors and MSE on ``test_sequences`` fresh sequences of its own."""
    streams = seeds.trial_streams(seed, "test", trials)
    task_cfg = {**task_cfg, **protocol.test_task}  # e.g. 3c: judged against the noise-free target
    wrong = np.zeros(trials, dtype=np.int64)
    squared = np.zeros(trials)
    absolute = np.zeros(trials)
    values = np.zeros(trials)
    done = 0
    while done < protocol.test_sequences:
        count = min(block, protocol.test_sequences - done)
        x, mask, y = draw_chunk(task, task_cfg, streams, count)  # (count, N, ...)
        # Trial-major rows: trial b owns rows [b·count, (b+1)·count).
        x, mask, y = (np.swapaxes(a, 0, 1) for a in (x, mask, y))
        pred = predict_trials(model, x, mask)
        error, correct, abs_sum, n_values = sequence_scores(y, pred, mask, protocol.threshold, protocol.every_step,
                                                            protocol.criterion_steps)  # fmt: skip
        wrong += (~correct).sum(axis=1)
        squared += error.sum(axis=1)
        absolute += abs_sum.sum(axis=1)
        values += n_values.sum(axis=1)
        done += count
    # Means per output value: over sequences × outputs (end targets) or target steps × outputs (every step).
    return {
        "test_sequences": protocol.test_sequences,
        "test_wrong": wrong,
        "test_mse": squared / values,
        "test_mean_abs_error": absolute / values,
    }
