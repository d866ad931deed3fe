"""Chung et al. (2014) §4 learning-rate search: one epoch of 10 candidates in one jitted graph, against one candidate
in that graph and against today's path (one Keras ``fit`` run per candidate).

    python benchmarks/bench_chung_candidates.py [--ids chung2014/jsb_gru chung2014/jsb_lstm chung2014/jsb_tanh]
        [--pieces 32] [--valid-pieces 16] [--candidates 10] [--repeat 3]
        [--out benchmarks/results/cpu/chung_candidates_jsb.json]

For each row, a fixed subset of the data (every len/pieces-th training piece and every len/valid-pieces-th
validation piece, short and long alike) and the row's full protocol (authors' optimizer, decay, weight noise,
validation after the epoch, batch size 1) are trained by:

* ``graph_K``: ``OneGraphTrainer`` with the seed's K candidate rates (``sample_learning_rates``), one epoch;
* ``graph_1``: the same trainer with one candidate (the first rate);
* ``today``: ``train_minibatch`` (Keras ``fit``, the weight-noise callback, validation) of one candidate: the CPU
  time of its second epoch (the first compiles); today's search runs it K times, so its epoch of K candidates
  is K × this.

The variants alternate for ``--repeat`` rounds after a warm-up epoch each (every shape compiled). Figures are the
process's CPU seconds (the machine is shared; wall seconds are recorded beside them); the best round per variant.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")


def _subset(split, count: int):
    n = len(split[0])
    rows = np.unique(np.linspace(0, n - 1, min(count, n)).round().astype(int))
    return tuple(a[rows] for a in split)


def _setup(exp_id: str, pieces: int, valid_pieces: int):
    from lstm_hist.experiment import Experiment
    from lstm_hist.registry import load

    _, _, experiment, cfg = load(exp_id)
    full = experiment.task(**cfg["task"])
    data = {"train": _subset(full["train"], pieces), "valid": _subset(full["valid"], valid_pieces)}
    sub = Experiment(task=lambda: data, model=experiment.model, protocol=experiment.protocol)
    protocol = experiment.protocol(**{**cfg["protocol"], "lr_candidates": None})
    return sub, protocol, cfg, data


def _graph(sub, protocol, cfg, rates):
    from reproductions.chung2014.candidates import Member, OneGraphTrainer

    trainer = OneGraphTrainer(dataclasses.replace(protocol, epochs=1), experiment=sub, task_cfg={},
                              model_cfg=cfg["model"], members=[Member(0, r) for r in rates])
    trainer.run()  # warm-up: compiles every bucket length of the subset

    def epoch():
        trainer.protocol = dataclasses.replace(trainer.protocol, epochs=trainer.state["epoch"] + 1)
        cpu, wall = time.process_time(), time.perf_counter()
        status = trainer.run()
        assert status == "completed"
        return time.process_time() - cpu, time.perf_counter() - wall

    return epoch


def _today(sub, protocol, cfg, rate):
    from lstm_hist.training.minibatch import train_minibatch

    marks = []
    single = dataclasses.replace(protocol, learning_rate=rate, epochs=2, candidates_in_one_graph=False)
    train_minibatch(single, experiment=sub, task_cfg={}, model_cfg=cfg["model"], seed=0,
                    progress=lambda info: marks.append((time.process_time(), time.perf_counter())))
    return marks[1][0] - marks[0][0], marks[1][1] - marks[0][1]


def bench_row(exp_id: str, pieces: int, valid_pieces: int, candidates: int, repeat: int) -> dict:
    from reproductions.chung2014.lr_search import sample_learning_rates

    sub, protocol, cfg, data = _setup(exp_id, pieces, valid_pieces)
    rates = sample_learning_rates(dataclasses.replace(protocol, lr_candidates=candidates), 0)
    runners = {f"graph_{candidates}": _graph(sub, protocol, cfg, rates),
               "graph_1": _graph(sub, protocol, cfg, rates[:1]),
               "today_1": lambda: _today(sub, protocol, cfg, rates[0])}
    rounds = []
    for _ in range(repeat):
        rounds.append({name: run() for name, run in runners.items()})
        print(f"  {exp_id} round: " + ", ".join(f"{k} {v[0]:.2f}s" for k, v in rounds[-1].items()), flush=True)
    best = {name: min(r[name][0] for r in rounds) for name in runners}
    graph_k, graph_1, today = best[f"graph_{candidates}"], best["graph_1"], best["today_1"]
    weight = data["train"][2]
    return {
        "id": exp_id, "train_pieces": len(data["train"][0]), "valid_pieces": len(data["valid"][0]),
        "real_train_steps": int(weight.sum()), "candidates": candidates, "learning_rates": rates,
        "rounds_cpu_wall_seconds": rounds, "best_epoch_cpu_seconds": best,
        "graph_k_over_graph_1": graph_k / graph_1,
        "graph_k_over_graph_1_per_round": [r[f"graph_{candidates}"][0] / r["graph_1"][0] for r in rounds],
        "today_k_over_graph_k": candidates * today / graph_k,
        "today_k_over_graph_k_per_round": [candidates * r["today_1"][0] / r[f"graph_{candidates}"][0]
                                           for r in rounds],
        "graph_1_speedup_over_today_1": today / graph_1,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", nargs="*", default=["chung2014/jsb_gru", "chung2014/jsb_lstm", "chung2014/jsb_tanh"])
    parser.add_argument("--pieces", type=int, default=32)
    parser.add_argument("--valid-pieces", type=int, default=16)
    parser.add_argument("--candidates", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/cpu/chung_candidates_jsb.json")
    args = parser.parse_args(argv)
    from lstm_hist.records import provenance, utc_now

    started, rows = utc_now(), []
    for exp_id in args.ids:
        rows.append(bench_row(exp_id, args.pieces, args.valid_pieces, args.candidates, args.repeat))
        doc = {"benchmark": "bench_chung_candidates", "load_average_at_end": list(os.getloadavg()),
               "provenance": provenance("python benchmarks/bench_chung_candidates.py " + " ".join(sys.argv[1:]),
                                        started, utc_now(), os.environ["KERAS_BACKEND"]), "rows": rows}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(doc, indent=1, default=str) + "\n")
        r = rows[-1]
        print(f"{exp_id}: {args.candidates} in one graph / 1 in one graph = {r['graph_k_over_graph_1']:.2f}x; "
              f"today x{args.candidates} / one graph = {r['today_k_over_graph_k']:.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
