"""``lstm-hist data``: list the data sets, show where their files resolve, verify them, fetch them, print statistics.

``stats NAME`` prints rows ``(quantity, ours, paper)`` from a function registered in :data:`STATS` under the data
set's name (``"module:function"``, imported only when asked, taking ``data_dir``); a data set plugs in by adding
one entry.

Registered by ``lstm_hist.cli`` only when the command is ``data`` (``register(subparsers)``).
"""

from __future__ import annotations

import argparse
import importlib
import json

from lstm_hist.data.datasets import DATASETS, get_spec
from lstm_hist.data.resolution import resolve, search_dirs


# data set name → "module:function" returning [(quantity, ours, paper-or-None), ...]; takes data_dir=. Brown's
# figures are those of the paper that prepares it (Bengio et al. 2003), so its function lives in that paper's package.
STATS = {
    "brown": "reproductions.bengio2003.stats:brown_stats",
    "fsdd": "lstm_hist.data.fsdd:fsdd_stats",
}
# data set name → "module:function(data_dir=)" run by ``verify`` after the per-file sha256 checks, for data sets
# whose checksums live outside the spec (FSDD: MANIFEST.tsv or one digest over the whole set); returns a message.
VERIFIERS = {
    "fsdd": "lstm_hist.data.fsdd:verify_fsdd",
}


def register(sub) -> None:
    parser = sub.add_parser("data", help="download, verify and locate data sets",
                            description="Data sets: list, where, fetch (download if missing), verify (sha256).")
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")

    p = actions.add_parser("list", help="the known data sets, their files and licences")
    p.set_defaults(func=cmd_list)

    p = actions.add_parser("stats", help="sizes and vocabulary of a data set as the papers prepare it, "
                                         "beside the paper's figures")
    p.add_argument("name", choices=sorted(STATS), metavar="NAME", help=", ".join(sorted(STATS)))
    p.add_argument("--data-dir", default=None, help="a folder to search first (else $LSTM_HIST_DATA)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=cmd_stats)

    for name, helptext, func in (
        ("where", "the folders searched for a data set, in order, and where each file resolves", cmd_where),
        ("verify", "check every file of a data set against its sha256 (no download)", cmd_verify),
        ("fetch", "resolve every file, downloading missing ones into the cache", cmd_fetch),
    ):
        p = actions.add_parser(name, help=helptext)
        p.add_argument("name", choices=sorted(DATASETS), metavar="NAME", help=", ".join(sorted(DATASETS)))
        p.add_argument("--data-dir", default=None, help="a folder to search first (else $LSTM_HIST_DATA)")
        if name == "fetch":
            p.add_argument("--accept-licence", action="store_true",
                           help="fetch a data set that is not downloaded by default because of its licence")
        p.set_defaults(func=func)


def cmd_list(args: argparse.Namespace) -> int:
    for spec in DATASETS.values():
        size = spec.size()
        shown = f"{size / 1e6:8.2f} MB" if size is not None else "  size ? "
        auto = "" if spec.auto_download else "  [fetched only with --accept-licence]"
        print(f"{spec.name:13s} {len(spec.files):5d} file(s) {shown}  {spec.description}{auto}")
        print(f"{'':13s} licence: {spec.licence}")
    return 0


def cmd_where(args: argparse.Namespace) -> int:
    spec = get_spec(args.name)
    for folder in search_dirs(spec.name, args.data_dir):
        print(f"{'found ' if folder.is_dir() else 'absent'}  {folder}")
    return cmd_verify(args)


def cmd_verify(args: argparse.Namespace) -> int:
    paths = resolve(args.name, data_dir=args.data_dir, download=False)
    folders = sorted({str(p.parent) for p in paths.values()})
    print(f"{args.name}: {len(paths)} file(s) ok in {', '.join(folders)}")
    if args.name in VERIFIERS:
        module, _, func = VERIFIERS[args.name].partition(":")
        print(f"{args.name}: {getattr(importlib.import_module(module), func)(data_dir=args.data_dir)}")
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    spec = get_spec(args.name)
    download = True if (spec.auto_download or args.accept_licence) else None
    paths = resolve(spec.name, data_dir=args.data_dir, download=download)
    print(f"{spec.name}: {len(paths)} file(s) ok")
    return 0


def stats_rows(name: str, data_dir: str | None = None) -> list[tuple[str, object, object]]:
    """The ``(quantity, ours, paper)`` rows of a data set's registered statistics function."""
    module, _, func = STATS[name].partition(":")
    return list(getattr(importlib.import_module(module), func)(data_dir=data_dir))


def cmd_stats(args: argparse.Namespace) -> int:
    rows = stats_rows(args.name, args.data_dir)
    if args.json:
        print(json.dumps([{"quantity": q, "ours": o, "paper": p} for q, o, p in rows], indent=2))
        return 0

    def show(value) -> str:
        if value is None:
            return ""
        return f"{value:,}" if isinstance(value, int) else str(value)

    width = max(len(q) for q, _, _ in rows)
    print(f"{'quantity':{width}s}  {'ours':>12s}  {'paper':>12s}")
    for quantity, ours, paper in rows:
        print(f"{quantity:{width}s}  {show(ours):>12s}  {show(paper):>12s}")
    return 0
