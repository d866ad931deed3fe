"""``lstm-hist data``: list the data sets, show where their files resolve, verify them, fetch them.

Registered by ``lstm_hist.cli`` only when the command is ``data`` (``register(subparsers)``).
"""

from __future__ import annotations

import argparse

from lstm_hist.data.datasets import DATASETS, get_spec
from lstm_hist.data.resolution import resolve, search_dirs


def register(sub) -> None:
    parser = sub.add_parser("data", help="download, verify and locate data sets",
                            description="Data sets: list, where, fetch (download if missing), verify (sha256).")
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION")

    p = actions.add_parser("list", help="the known data sets, their files and licences")
    p.set_defaults(func=cmd_list)

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
        size = sum(f.size or 0 for f in spec.files)
        auto = "" if spec.auto_download else "  [fetched only with --accept-licence]"
        print(f"{spec.name:13s} {len(spec.files):5d} file(s) {size / 1e6:8.2f} MB  {spec.description}{auto}")
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
    return 0


def cmd_fetch(args: argparse.Namespace) -> int:
    spec = get_spec(args.name)
    download = True if (spec.auto_download or args.accept_licence) else None
    paths = resolve(spec.name, data_dir=args.data_dir, download=download)
    print(f"{spec.name}: {len(paths)} file(s) ok")
    return 0
