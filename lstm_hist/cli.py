"""The ``lstm-hist`` command: list · describe · run · campaign · report · summary · cite · evaluate · bench · data ·
gradients.

The backend is selected (``KERAS_BACKEND``) before any command touches Keras, which is why every import of a
module that may pull in Keras happens inside the command functions. A :class:`UserError` becomes one
``error: ...`` line on stderr and exit status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Sequence

from lstm_hist import __version__
from lstm_hist.backend import BACKENDS, require_installed, select_backend
from lstm_hist.errors import UserError
from lstm_hist.quiet import silence

EXIT_USER_ERROR = 2
EXIT_DIVERGED = 3  # README "Records and results": 0 completed, 1 bug, 2 user error, 3 diverged, 130 interrupted
EXIT_INTERRUPTED = 130
SEED_LIMIT = 2**32  # NumPy's SeedSequence and the backends' seeds take 0 <= seed < 2**32

DESCRIPTION = """\
Reproduce historical sequence-model papers and put the paper's numbers beside ours.

examples:
  lstm-hist list                              # every reproducible table row
  lstm-hist describe adding_t100              # config, paper numbers, parameter count
  lstm-hist describe cho2014                  # a paper: its experiments, rows and citation
  lstm-hist run                               # the default: hochreiter1997/adding_t100, JAX on CPU
  lstm-hist run adding_t100 --smoke           # a seconds-long end-to-end check of the same config
  lstm-hist run adding_t100 --trials 3 --set protocol.max_sequences=100000
  lstm-hist campaign --paper chung2014 --seeds 0-4  # rows × seeds on Ray; run again to continue
  lstm-hist report                            # regenerate docs/results.md from results/
  lstm-hist cite hochreiter1997 --bibtex
  lstm-hist evaluate results/<paper>/<record>.json   # recompute its test metrics from the kept weights
"""


# ---------------------------------------------------------------------------------------------- commands


def cmd_list(args: argparse.Namespace) -> int:
    from lstm_hist.registry import list_experiments, papers

    entries = list_experiments(args.paper)
    if args.json:
        print(json.dumps(entries, indent=2, default=str, ensure_ascii=False))
        return 0
    # Papers are packages; one without configs (cho2014: a cell and a citation) is listed below the rows.
    rowless = [p for p in papers() if args.paper in (None, p) and not any(e["paper"] == p for e in entries)]
    if entries:
        _print_rows(entries, args.wide)
    elif not rowless:
        print("no experiments found (configs/<paper>/*.yaml)")
    for paper in rowless:
        print(f"{paper}: a paper without table rows (lstm-hist describe {paper})")
    return 0


def _print_rows(entries: list[dict], wide: bool) -> None:
    from lstm_hist.columns import fit_columns
    from lstm_hist.formatting import fmt, table_lines
    from lstm_hist.reported import paper_metrics

    rows = []
    for e in entries:
        reported = ", ".join(f"{k}={fmt(v)}" for k, v in paper_metrics(e["reported"]).items())
        rows.append([e["id"], e.get("table") or "", e.get("row") or "", e.get("title") or "", reported])
    headers = ["id", "table", "row", "title", "paper reports"]
    if not wide:  # the title mostly repeats table and row; `describe` and --wide show it
        headers, rows = ["id", "table", "row", "paper reports"], [r[:3] + r[4:] for r in rows]
        rows = fit_columns(headers, rows, LIST_WIDTH, shrink=(1, 2, 3))
    for line in table_lines(headers, rows):
        print(line)


LIST_WIDTH = 100


def cmd_describe(args: argparse.Namespace) -> int:
    from lstm_hist import describe
    from lstm_hist.registry import paper_info, papers

    paper = args.id in papers()  # a paper key: the paper, whether or not it has table rows
    data = paper_info(args.id) if paper else describe.describe_data(args.id)
    if args.json:
        print(json.dumps(data, indent=2, default=str, ensure_ascii=False))
    elif paper:
        describe.print_paper(data)
    else:
        describe.print_row(data)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import json as _json

    from lstm_hist.outputs import writable_dir
    from lstm_hist.runner import run_experiment

    writable_dir(args.out, "--out")  # before training: an hour's run must not fail at its record
    path = run_experiment(
        args.id,
        smoke=args.smoke,
        trials=args.trials,
        seed=args.seed,
        overrides=args.set,
        out_dir=args.out,
        resume=args.resume,
        fresh=args.fresh,
        progress=not args.quiet,
    )
    status = _json.loads(path.read_text()).get("status")
    return {"interrupted": EXIT_INTERRUPTED, "diverged": EXIT_DIVERGED}.get(status, 0)


def cmd_report(args: argparse.Namespace) -> int:
    from lstm_hist.outputs import writable_file
    from lstm_hist.report import write_report
    from lstm_hist.runs_dirs import resolve_runs_dirs

    runs = resolve_runs_dirs(args.runs)
    writable_file(args.out, "--out")
    out = write_report(runs, args.out, plots=not args.no_plots)
    print(f"records from {', '.join(str(r) for r in runs)}")
    print(f"wrote {out}")
    if not args.no_plots and (out.parent / "img").is_dir():
        print(f"plots in {out.parent / 'img'}/ (the img/ folder beside --out)")
    return 0


def cmd_cite(args: argparse.Namespace) -> int:
    from lstm_hist.cite import cite_result, find_record
    from lstm_hist.registry import citation, format_citation, papers

    record = None if args.paper in papers() else find_record(args.paper, args.runs)
    if record is not None:  # a result: both BibTeX entries and the sentence to paste
        print(cite_result(record))
        return 0
    if args.paper not in papers():
        print(f"(no completed record of {args.paper} under {args.runs}/: the paper's citation)", file=sys.stderr)
    _, bibtex = citation(args.paper)
    print(bibtex if args.bibtex else format_citation(bibtex))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from lstm_hist.bench import bench_experiment

    if args.save:
        from lstm_hist.outputs import writable_dir

        writable_dir(args.out, "--out")
    bench_experiment(args.id, updates=args.updates, trials=args.trials, seed=args.seed, overrides=args.set,
                     save_dir=args.out if args.save else None)
    return 0


def cmd_data_missing(args: argparse.Namespace) -> int:
    raise UserError(f"the data commands are not available in this install ({args._data_problem})")


# ------------------------------------------------------------------------------------------------- parser


def _trials(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None


def _seed(text: str) -> int:
    seed = _trials(text)
    if not 0 <= seed < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be 0 <= seed < 2**32 ({SEED_LIMIT:,}), got {seed}")
    return seed


class _Parser(argparse.ArgumentParser):
    """argparse with the package's error format: one ``error: ...`` line and exit 2 (no usage block)."""

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"error: {self.prog}: {message} (see `{self.prog} --help`)\n")


def _add_backend(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--backend", choices=BACKENDS, default=None,
                        help="Keras backend (default: $KERAS_BACKEND, else jax)")


def _add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", metavar="KEY=VALUE", action="append", default=[],
                        help="override a config value, parsed as YAML; repeatable "
                             "(e.g. --set protocol.max_sequences=100000 --set model.blocks=4)")


def build_parser(with_data: bool) -> argparse.ArgumentParser:
    """The argument parser; the real ``data`` group is registered only when it is the command being run, so that
    other commands never import the data package (and what it imports)."""
    fmt_class = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog="lstm-hist", description=DESCRIPTION, formatter_class=fmt_class)
    parser.add_argument("--version", action="version", version=f"lstm-hist {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    _register_browse(sub, fmt_class)
    _register_run(sub, fmt_class)
    _register_results(sub, fmt_class)

    from lstm_hist.evaluate import register as register_evaluate

    register_evaluate(sub, fmt_class, _add_backend)

    _register_bench(sub, fmt_class)

    from lstm_hist.campaign.cli import register as register_campaign

    register_campaign(sub, _add_backend, _add_overrides)

    from lstm_hist.paper_summary import register as register_summary

    register_summary(sub, fmt_class)

    from lstm_hist.gradients.cli import register as register_gradients

    register_gradients(sub)

    if with_data:
        _register_data(sub)
    else:
        p = sub.add_parser("data", help="download, verify and locate data sets (lstm-hist data --help)",
                           add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=cmd_data_missing, _data_problem="not loaded")
    return parser


def _register_browse(sub: Any, fmt_class: Any) -> None:
    """``list`` and ``describe``."""
    p = sub.add_parser("list", help="list the experiments (one per paper table row)", formatter_class=fmt_class,
                       description="List the experiments.\n\nexamples:\n  lstm-hist list\n"
                                   "  lstm-hist list --paper hochreiter1997 --json")
    p.add_argument("--paper", help="only this paper (a package under reproductions/)")
    p.add_argument("--json", action="store_true", help="machine-readable output: a JSON array")
    p.add_argument("--wide", action="store_true",
                   help=f"print every column in full (default: fit {LIST_WIDTH} columns, cutting the text columns)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("describe", help="show one experiment (paper numbers, config, parameter count) or one paper",
                       formatter_class=fmt_class,
                       description="Show one experiment. Builds its model to count parameters (imports Keras). "
                                   "Given a paper key, show the paper: its experiments, rows and citation.\n\n"
                                   "examples:\n  lstm-hist describe adding_t100\n"
                                   "  lstm-hist describe hochreiter1997/adding_t100 --json\n"
                                   "  lstm-hist describe cho2014")
    p.add_argument("id", help="experiment id (paper/row), its unique row part, or a paper key")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _add_backend(p)
    p.set_defaults(func=cmd_describe)


def _register_run(sub: Any, fmt_class: Any) -> None:
    """``run``."""
    from lstm_hist.registry import DEFAULT_ID

    p = sub.add_parser("run", help="run an experiment and write its record", formatter_class=fmt_class,
                       description="Run an experiment, write a run record, print paper vs ours.\n\n"
                                   "examples:\n"
                                   "  lstm-hist run                               # " + DEFAULT_ID + "\n"
                                   "  lstm-hist run adding_t100 --smoke\n"
                                   "  lstm-hist run adding_t100 --backend tensorflow --trials 3\n"
                                   "  lstm-hist run adding_t100 --resume          # after Ctrl-C / SIGTERM\n"
                                   "  lstm-hist run adding_t100 --out results     # a record to commit")
    p.add_argument("id", nargs="?", default=DEFAULT_ID, help=f"experiment id (default: {DEFAULT_ID})")
    p.add_argument("--smoke", action="store_true",
                   help="apply the config's smoke: block (a short check, not comparable to the paper)")
    p.add_argument("--trials", type=_trials, help="number of independent trials (overrides protocol.trials)")
    p.add_argument("--seed", type=_seed, default=0,
                   help="base seed, 0 <= seed < 2**32; trial seeds are spawned from it (default 0)")
    _add_backend(p)
    _add_overrides(p)
    p.add_argument("--out", default="runs", help="where records and checkpoints go (default: runs/)")
    p.add_argument("--resume", action="store_true",
                   help="continue the checkpoint of this row, seed and config, or fail (a plain run resumes an "
                        "interrupted one by itself). The checkpoint lives in OUT/<paper>/<row>.work/ on this "
                        "machine only (git ignores it under runs/ and results/); for a run that may continue on another machine use "
                        "`lstm-hist campaign ROW --until HH:MM`, which keeps an archive beside the records")
    p.add_argument("--fresh", action="store_true", help="discard this row, seed and config's checkpoint, start over")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=cmd_run)


def _register_results(sub: Any, fmt_class: Any) -> None:
    """``report`` and ``cite``."""
    p = sub.add_parser("report", help="regenerate the results page from run records", formatter_class=fmt_class,
                       description="Write docs/results.md (paper vs ours) from the run records.\n\n"
                                   "examples:\n  lstm-hist report\n  lstm-hist report --runs runs --out /tmp/r.md\n"
                                   "  lstm-hist report --runs results --runs runs --out /tmp/mine.md")
    p.add_argument("--runs", action="append", default=None, metavar="DIR",
                   help="a folder of run records; repeatable (--runs results --runs runs) to include your own runs "
                        "(default: the repository's results/)")
    p.add_argument("--out", default="docs/results.md", help="markdown file to write (default: docs/results.md)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("cite", help="print a paper's citation, or a result's", formatter_class=fmt_class,
                       description="Print the citation of a paper; for a run record (or a row id with a completed "
                                   "record under --runs) the paper's and the package's BibTeX and one sentence "
                                   "with the number, the row, the record, the commit and the environment.\n\n"
                                   "examples:\n  lstm-hist cite hochreiter1997\n  lstm-hist cite adding_t100\n"
                                   "  lstm-hist cite results/hochreiter1997/adding_t100-20261127T051948.json")
    p.add_argument("paper", metavar="PAPER_ID_OR_RECORD",
                   help="paper key (e.g. hochreiter1997), experiment id, or a record file")
    p.add_argument("--runs", default="results", help="where a row id's latest record is looked up (default: results/)")
    p.add_argument("--bibtex", action="store_true", help="BibTeX instead of a one-line citation")
    p.set_defaults(func=cmd_cite)


def _register_bench(sub: Any, fmt_class: Any) -> None:
    """``bench``."""
    p = sub.add_parser("bench", help="time a few updates and estimate the full run", formatter_class=fmt_class,
                       description="Time a few updates of an experiment's protocol and print the estimate.\n\n"
                                   "examples:\n  lstm-hist bench adding_t100 --updates 200\n"
                                   "  lstm-hist bench adding_t100 --backend tensorflow --save")
    p.add_argument("id", help="experiment id")
    p.add_argument("--trials", type=_trials, help="number of trials in the graph (overrides protocol.trials)")
    p.add_argument("--updates", type=int, help="updates to time (default: the protocol's choice)")
    p.add_argument("--seed", type=_seed, default=0, help="seed, 0 <= seed < 2**32 (default 0)")
    _add_backend(p)
    _add_overrides(p)
    p.add_argument("--save", action="store_true", help="also write <out>/estimates/<paper>.<row>.json for the report")
    p.add_argument("--out", default="results", help="where --save writes (default: results/)")
    p.set_defaults(func=cmd_bench)


def _register_data(sub: Any) -> None:
    try:
        from lstm_hist.data import cli as data_cli
    except ImportError as exc:
        problem = "lstm_hist.data.cli is missing" if getattr(exc, "name", "") in (
            "lstm_hist.data.cli", "lstm_hist.data") else f"cannot import lstm_hist.data.cli: {exc}"
        p = sub.add_parser("data", help="data commands (unavailable)")
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=cmd_data_missing, _data_problem=problem)
        return
    data_cli.register(sub)


# --------------------------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``lstm-hist`` script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    silence()  # before anything imports TensorFlow: its start-up log lines are not the user's business
    try:
        parser = build_parser(with_data=bool(argv) and argv[0] == "data")
        args = parser.parse_args(argv)
        # Before anything imports Keras (the command functions import lazily).
        chosen = select_backend(getattr(args, "backend", None))
        if hasattr(args, "backend"):  # a command that imports Keras: a missing backend package is the user's to fix
            require_installed(chosen)
        func = getattr(args, "func", None)
        if func is None:  # a data subparser that set no handler
            parser.parse_args([*argv, "--help"])
            return EXIT_USER_ERROR
        return int(func(args) or 0)
    except UserError as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `lstm-hist list | head`: stop quietly, and keep Python's exit flush quiet too
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
