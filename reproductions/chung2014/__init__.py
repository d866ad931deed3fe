"""Chung, Gulcehre, Cho & Bengio (2014), *Empirical Evaluation of Gated Recurrent Neural Networks on Sequence
Modeling*, arXiv:1412.3555 (NIPS 2014 DLRL workshop).

Reproduced here: the polyphonic-music rows of Table 2 (tanh / GRU / LSTM on Nottingham, JSB Chorales, MuseData,
Piano-midi; average negative log-probability per time step), with the units of §3 (GRU:
:class:`reproductions.cho2014.GRU2014Cell`; LSTM with peepholes: :class:`PeepholeLSTMCell`; :class:`TanhRNNCell`),
the sizes of Table 1 and the §4 protocol (RMSProp, weight noise 0.075, gradient norm clipped to 1, learning rate
chosen on validation among log-uniform candidates, early stopping) — the ``lr_*`` fields of
:class:`lstm_hist.training.minibatch.MinibatchProtocol`. The Ubisoft speech rows use non-public data and are not
reproduced. Choices the paper leaves open: docs/deviations_chung2014.md.
"""

from lstm_hist.experiment import Experiment
from lstm_hist.training.minibatch import MinibatchProtocol

from .cells import PeepholeLSTMCell, TanhRNNCell
from .models import TABLE1_PARAMETERS, TABLE1_UNITS, build_music_model, make_cell, recurrent_parameters
from .tasks import music_task

EXPERIMENTS = {
    "music": Experiment(
        task=music_task,
        model=build_music_model,
        protocol=MinibatchProtocol,
        description="Polyphonic music (§4, Table 2): next-frame NLL of binary piano rolls.",
    ),
}

CITATION = """@misc{chung2014empirical,
  author = {Junyoung Chung and Caglar Gulcehre and KyungHyun Cho and Yoshua Bengio},
  title  = {Empirical Evaluation of Gated Recurrent Neural Networks on Sequence Modeling},
  year   = {2014},
  eprint = {1412.3555},
  archivePrefix = {arXiv},
  note   = {NIPS 2014 Deep Learning and Representation Learning Workshop}
}"""

__all__ = ["CITATION", "EXPERIMENTS", "PeepholeLSTMCell", "TABLE1_PARAMETERS", "TABLE1_UNITS", "TanhRNNCell",
           "build_music_model", "make_cell", "music_task", "recurrent_parameters"]
