"""The ``campaign`` subcommand's arguments (registered by lstm_hist.cli; imports nothing heavy)."""

from __future__ import annotations

import argparse

from lstm_hist.campaign.keep import DEFAULT_LIMIT

EXAMPLES = """\
examples:
  lstm-hist campaign --paper chung2014 --seeds 0-4             # embedded Ray on this machine, into results/
  lstm-hist campaign --paper chung2014 --seeds 0-4 --address auto   # the same on this node's Ray cluster
  lstm-hist campaign --paper chung2014 --seeds 0-4             # again: skips the done, resumes the interrupted
  lstm-hist campaign --table 7 --seeds 0-2 --dry-run          # what would run, skip and resume
  lstm-hist campaign 'hochreiter1997/adding_*' --smoke --seeds 0,1   # a seconds-long check, into runs/
  lstm-hist campaign --table 3 --until 17:30                  # every run checkpoints by 17:30; rerun tomorrow
"""


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _until(text: str) -> float:
    """--until as epoch seconds: '+SECONDS' from now, 'HH:MM[:SS]' (the next such local time) or an ISO date-time."""
    import datetime as dt
    import time

    text = text.strip()
    if text.startswith("+"):
        return time.time() + _non_negative(text[1:])
    try:
        clock = dt.time.fromisoformat(text)
    except ValueError:
        clock = None
    if clock is not None:
        now = dt.datetime.now()
        when = dt.datetime.combine(now.date(), clock)
        return (when if when > now else when + dt.timedelta(days=1)).timestamp()
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (use +SECONDS, HH:MM or an ISO date-time such as 2026-12-01T17:30)") from None
    if when.timestamp() <= time.time():
        raise argparse.ArgumentTypeError(f"{text!r} is in the past")
    return when.timestamp()


def _run(args: argparse.Namespace) -> int:
    from lstm_hist.campaign.driver import run_campaign  # here, so other commands never import it

    return run_campaign(args)


def register(sub, add_backend, add_overrides) -> None:
    p = sub.add_parser("campaign", help="run rows × seeds as Ray tasks; the same command continues a campaign",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Run a selection of rows, each with several seeds, as tasks on Ray (an embedded "
                                   "local Ray, or a cluster with --address/RAY_ADDRESS). Each task is one "
                                   "`lstm-hist run ID --seed S`. Running the same command again skips what is "
                                   "complete and resumes what was interrupted.\n\n" + EXAMPLES)
    p.add_argument("rows", nargs="*", metavar="ROW",
                   help="ids, unique row names or globs (e.g. 'hochreiter1997/adding_*'); with --paper/--table, "
                        "optional")
    p.add_argument("--paper", help="every row of this paper (or narrow the ROWs to it)")
    p.add_argument("--table", help="every row of this table, e.g. 7 or 'Table 7' (narrows like --paper)")
    p.add_argument("--seeds", default="0", help="seeds, e.g. 0-4 or 0,1,2 (default: 0)")
    p.add_argument("--smoke", action="store_true", help="every run with --smoke (default --out then runs/)")
    add_backend(p)
    add_overrides(p)
    p.add_argument("--out", default=None,
                   help="records, checkpoints, kept checkpoints (default: results/, or runs/ with --smoke)")
    p.add_argument("--address", default=None,
                   help="Ray cluster address (default: $RAY_ADDRESS; without either, an embedded local Ray)")
    p.add_argument("--engine", choices=("ray", "local"), default="ray",
                   help="ray (default), or local: a thread pool on this machine, where Ray cannot be installed")
    p.add_argument("--num-cpus", type=int, default=None,
                   help="CPUs the embedded Ray (or local pool) may use (default: all); a task's own CPUs and "
                        "threads are --cpus-per-task")
    p.add_argument("--num-gpus", type=float, default=None, help="GPUs the embedded Ray may use (default: all)")
    p.add_argument("--cpus-per-task", type=_non_negative, default=None,
                   help="CPU cores per run, also its thread count (default 1)")
    p.add_argument("--gpus-per-task", type=_non_negative, default=None,
                   help="GPUs per run; a fraction packs several runs on one GPU (default 0: CPU only)")
    p.add_argument("--memory-per-task", type=_non_negative, default=None, metavar="GIB",
                   help="memory reserved per run in GiB (default by paper: 1.5 for 1997, 3 Chung, 6 Bengio)")
    p.add_argument("--time-limit", type=_non_negative, default=None, metavar="SECONDS",
                   help="stop each run after this long (SIGTERM: it checkpoints; rerun the command to continue)")
    p.add_argument("--until", type=_until, default=None, metavar="WHEN",
                   help="a deadline for the whole campaign: runs still going then are stopped (they checkpoint), "
                        "queued ones are not started; +SECONDS, HH:MM (next such local time) or an ISO date-time. "
                        "Unlike --time-limit, a task queued behind others gets only what is left")
    p.add_argument("--keep-limit", type=int, default=DEFAULT_LIMIT, metavar="BYTES",
                   help=f"keep an unfinished run's checkpoint in OUT/checkpoints/ if at most this size "
                        f"(default {DEFAULT_LIMIT}; 0: never); a larger one resumes only on this machine, "
                        "and the campaign says so")
    p.add_argument("--status-every", type=_non_negative, default=30.0, metavar="SECONDS",
                   help="seconds between live status blocks (default 30)")
    p.add_argument("--dry-run", action="store_true", help="print what would be skipped, resumed and started")
    p.set_defaults(func=_run)
