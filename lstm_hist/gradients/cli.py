"""The ``lstm-hist gradients`` subcommand: its arguments and its (thin) command function."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lstm_hist.errors import UserError

FIGURE = "docs/img/vanishing_gradients.png"
PAGE = "docs/vanishing_gradients.md"

DESCRIPTION = """\
Measure how the error at a sequence's last step reaches earlier steps (Hochreiter & Schmidhuber 1997 §3):
the norms of dE(T)/d state(T-k) and dE(T)/d x(T-k) for every lag k, for the tanh RNN, the GRU, the peephole
LSTM, Keras's LSTM and the 1997 cell (truncated and full gradient), over many random initialisations, at
initialisation and after brief training. Writes a record, a figure and (with --docs) docs/vanishing_gradients.md.
The default takes about 2 minutes on 2 CPU cores (JAX).

examples:
  lstm-hist gradients                              # record in runs/gradients/, figure beside it
  lstm-hist gradients --out results --docs         # the committed record, figure and page
  lstm-hist gradients --unit tanh --unit lstm1997_truncated --inits 8
  lstm-hist gradients --render results/gradients/<record>.json --docs   # redraw only
"""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, received {value}")
    return value


def register(sub) -> None:
    p = sub.add_parser("gradients", help="measure the vanishing gradient of every unit (figure + record)",
                       formatter_class=argparse.RawDescriptionHelpFormatter, description=DESCRIPTION)
    p.add_argument("--task", action="append", metavar="ID",
                   help="experiment id whose task gives the sequences; repeatable; training uses the first "
                        "(default: hochreiter1997/adding_t100 and hochreiter1997/adding_t1000)")
    p.add_argument("--unit", action="append", metavar="NAME", help="only this unit (e.g. tanh, gru, keras/lstm); "
                   "repeatable (default: all)")
    p.add_argument("--inits", type=_positive, default=24, help="random initialisations per unit (default 24)")
    p.add_argument("--updates", type=_positive, default=100,
                   help="brief-training Adam updates per init (default 100)")
    p.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    p.add_argument("--out", default="runs", help="record folder; the record goes to <out>/gradients/ (default runs/)")
    p.add_argument("--docs", action="store_true", help=f"also write {FIGURE} and {PAGE} (else the figure goes "
                                                        "beside the record)")
    p.add_argument("--render", metavar="RECORD", help="only redraw the figure (and page) from this record")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_gradients)


def cmd_gradients(args: argparse.Namespace) -> int:
    from lstm_hist.gradients.render import write_docs

    if args.render:
        path = Path(args.render)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read gradients record {path}: {exc}") from None
        if record.get("kind") != "gradients":
            raise UserError(f"{path} is not a gradients record (no \"kind\": \"gradients\")")
    else:
        from lstm_hist.gradients.command import run_gradients
        from lstm_hist.gradients.train import BriefTraining

        path, record = run_gradients(args.task, args.unit, inits=args.inits, seed=args.seed,
                                     training=BriefTraining(updates=args.updates), out_dir=args.out,
                                     progress=not args.quiet)
        print(f"wrote {path} ({record['provenance']['wall_seconds']:.0f} s)")
        for key, unit in record["units"].items():
            if unit["training"]["diverged_inits"]:
                print(f"warning: {key}: {unit['training']['diverged_inits']} inits diverged in the brief training; "
                      "their trained curves are left out", file=sys.stderr)
    figure = FIGURE if args.docs else path.with_suffix(".png")
    for written in write_docs(record, path, figure, PAGE if args.docs else None):
        print(f"wrote {written}")
    return 0
