"""``lstm-hist summary PAPER``: a paper's own summary of its records (e.g. Bengio's Table 1 with the caption's
ratios), from the paper's optional hook ``summary_lines(records, configs) -> list[str]``.

The shared layer reads the records (every record under ``<runs>/<paper>/``, as ``(path, record)``) and the
paper's config entries (``registry.list_experiments``) and hands both over, so the paper reads no file itself.
"""

from __future__ import annotations

import argparse
from typing import Any

from lstm_hist.errors import UserError


def summary(paper: str, runs: list[str] | None) -> list[str]:
    from lstm_hist import records, registry
    from lstm_hist.runs_dirs import resolve_runs_dirs

    if paper not in registry.papers():
        raise UserError(f"unknown paper {paper!r}; papers: {', '.join(registry.papers())}")
    hook = registry.paper_hook(paper, "summary_lines")
    if hook is None:
        raise UserError(f"reproductions.{paper} supplies no summary_lines; `lstm-hist report` shows its records")
    loaded = [item for d in resolve_runs_dirs(runs) for item in records.load_records(d / paper)]
    return list(hook(loaded, registry.list_experiments(paper)))


def cmd_summary(args: argparse.Namespace) -> int:
    print("\n".join(summary(args.paper, args.runs)))
    return 0


def register(sub: Any, formatter_class: Any) -> None:
    p = sub.add_parser("summary", help="a paper's own summary of its records (e.g. bengio2003's Table 1 ratios)",
                       formatter_class=formatter_class,
                       description="Print a paper's summary of its run records, where the paper supplies one.\n\n"
                                   "examples:\n  lstm-hist summary bengio2003\n"
                                   "  lstm-hist summary bengio2003 --runs results --runs runs")
    p.add_argument("paper", help="paper key (e.g. bengio2003)")
    p.add_argument("--runs", action="append", default=None, metavar="DIR",
                   help="a folder of run records; repeatable (default: the repository's results/)")
    p.set_defaults(func=cmd_summary)
