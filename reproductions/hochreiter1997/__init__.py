"""Hochreiter & Schmidhuber (1997), *Long Short-Term Memory*, Neural Computation 9(8):1735–1780.

Reproduced here: all six experiment groups of §5: Exp 1 embedded Reber grammar (Table 1), Exp 2a–2c long
time lags (Tables 2, 3), Exp 3a–3c two-sequence problem with noise (Tables 4–6), Exp 4 adding (Table 7),
Exp 5 multiplication (Table 8), Exp 6a/6b temporal order (Table 9); nets of Table 10. The cell is importable for use in any
Keras model: ``from reproductions.hochreiter1997 import LSTM1997``.
"""

from lstm_hist.experiment import Experiment

from .cell import LSTM1997Cell
from .layers import LSTM1997, TrialDense
from .gradients import GRADIENT_UNITS  # lstm-hist gradients
from .models import build_keras_lstm, build_network
from .symbols import with_symbol_inputs
from .summary import report_notes, table_notes  # lstm-hist report: does each table's claim hold?
from .readings import record_label  # lstm-hist report: a row run under a documented reading says so
from .tasks.adding import adding_problem
from .tasks.long_lag import long_lag, long_lag_2c
from .tasks.multiplication import multiplication_problem
from .tasks.reber import embedded_reber
from .tasks.temporal_order import temporal_order
from .tasks.two_sequence import two_sequence
from .training.protocol import OnlineProtocol
from .training.to_criterion import CriterionMinibatchProtocol

EXPERIMENTS = {
    "adding": Experiment(
        task=adding_problem,
        model=build_network,
        protocol=OnlineProtocol,
        description="Adding problem (§5.4): add the two marked values of a long sequence of pairs.",
    ),
    "embedded_reber": Experiment(
        task=embedded_reber,
        model=build_network,
        protocol=OnlineProtocol,
        description="Embedded Reber grammar (§5.1): predict the next symbol at every step of a grammar string.",
    ),
    "long_lag": Experiment(
        task=long_lag,
        model=with_symbol_inputs(build_network),  # one-hot inputs fed as indices
        protocol=OnlineProtocol,
        description="Long time lags, tasks 2a/2b (§5.2): predict the next symbol; the last one repeats the first.",
    ),
    "long_lag_2c": Experiment(
        task=long_lag_2c,
        model=with_symbol_inputs(build_network),  # one-hot inputs fed as indices
        protocol=OnlineProtocol,
        description="Very long time lags, task 2c (§5.2): after the trigger e, recall x/y from the start.",
    ),
    "two_sequence": Experiment(
        task=two_sequence,
        model=build_network,
        protocol=OnlineProtocol,
        description="Two-sequence problem, tasks 3a–3c (§5.3): noise and signal on the same input line.",
    ),
    "multiplication": Experiment(
        task=multiplication_problem,
        model=build_network,
        protocol=OnlineProtocol,
        description="Multiplication problem (§5.5): multiply the two marked values of a long sequence of pairs.",
    ),
    "temporal_order": Experiment(
        task=temporal_order,
        model=build_network,
        protocol=OnlineProtocol,
        description="Temporal order (§5.6): classify a long sequence by the order of widely separated X/Y symbols.",
    ),
}

# Modern baselines (not the paper's method): the same task and criterion, keras.layers.LSTM trained with Adam on
# minibatches (configs/hochreiter1997/*_keras_lstm.yaml; docs/deviations.md, "Modern baselines").
EXPERIMENTS.update({
    f"{name}_keras_lstm": Experiment(
        task=experiment.task,
        model=build_keras_lstm,
        protocol=CriterionMinibatchProtocol,
        description=f"{experiment.description} Modern baseline: Keras LSTM + Adam, not the paper's method.",
    )
    for name, experiment in list(EXPERIMENTS.items())
})

CITATION = """@article{hochreiter1997long,
  author={Hochreiter, Sepp and Schmidhuber, J{\\"u}rgen}, title={{Long Short-Term Memory}},
  journal={Neural Computation}, volume={9}, number={8}, pages={1735--1780}, year={1997},
  doi={10.1162/neco.1997.9.8.1735}}"""

__all__ = [
    "CITATION", "EXPERIMENTS", "LSTM1997", "LSTM1997Cell", "TrialDense", "adding_problem", "build_keras_lstm",
    "build_network",
    "embedded_reber", "long_lag", "long_lag_2c", "multiplication_problem", "temporal_order", "two_sequence",
]  # fmt: skip
