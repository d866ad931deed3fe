"""Hochreiter & Schmidhuber (1997), *Long Short-Term Memory*, Neural Computation 9(8):1735–1780.

Reproduced here: Experiment 4, the adding problem (§5.4, Table 7). The cell is importable for use in any
Keras model: ``from reproductions.hochreiter1997 import LSTM1997``.
"""

from lstm_hist.experiment import Experiment
from lstm_hist.training.online import OnlineProtocol

from .cell import LSTM1997, LSTM1997Cell, TrialDense
from .models import build_network
from .tasks.adding import adding_problem

EXPERIMENTS = {
    "adding": Experiment(
        task=adding_problem,
        model=build_network,
        protocol=OnlineProtocol,
        description="Adding problem (§5.4): add the two marked values of a long sequence of pairs.",
    ),
}

CITATION = """@article{hochreiter1997long,
  author={Hochreiter, Sepp and Schmidhuber, J{\\"u}rgen}, title={{Long Short-Term Memory}},
  journal={Neural Computation}, volume={9}, number={8}, pages={1735--1780}, year={1997},
  doi={10.1162/neco.1997.9.8.1735}}"""

__all__ = ["CITATION", "EXPERIMENTS", "LSTM1997", "LSTM1997Cell", "TrialDense", "adding_problem", "build_network"]
