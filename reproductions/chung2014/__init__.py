"""Chung, Gulcehre, Cho & Bengio (2014), *Empirical Evaluation of Gated Recurrent Neural Networks on Sequence
Modeling*, arXiv:1412.3555 (NIPS 2014 DLRL workshop).

Reproduced here: the polyphonic-music rows of Table 2 (tanh / GRU / LSTM on Nottingham, JSB Chorales, MuseData,
Piano-midi; average negative log-probability per time step), with the units of §3 (GRU:
:class:`reproductions.cho2014.GRU2014Cell`; LSTM with peepholes: :class:`PeepholeLSTMCell`; :class:`TanhRNNCell`),
the sizes of Table 1 and the §4 protocol at the authors' settings (:class:`ChungProtocol`: RMSProp with momentum,
RMS floor and step-norm clip, :class:`RMSPropMomentum`; the learning rate decayed linearly over 500 epochs; weight
noise 0.075 on the recurrent layer; the learning rate chosen on validation among log-uniform candidates, the
``lr_*`` fields of :class:`ChungProtocol`, :mod:`reproductions.chung2014.lr_search`; the best-validation parameters
kept). The Ubisoft speech rows use non-public data and are not reproduced with their data: the ``speech``
experiment runs the same protocol on public recordings (FSDD, or a user's WAV folder;
:mod:`reproductions.chung2014.speech`) with a 20-component mixture-of-Gaussians output
(:mod:`reproductions.chung2014.mog`, registered as ``protocol.loss: mog_nll``). Choices the paper leaves open:
docs/deviations.md.
"""

from lstm_hist.experiment import Experiment
from lstm_hist.training.minibatch import register_loss

from .cells import PeepholeLSTMCell, TanhRNNCell
from .gradients import GRADIENT_UNITS  # lstm-hist gradients
from .losses import sequence_sum_loss, sequence_sum_totals
from .models import (TABLE1_PARAMETERS, TABLE1_SPEECH_PARAMETERS, TABLE1_SPEECH_UNITS, TABLE1_UNITS,
                     build_music_model, build_speech_model, make_cell, recurrent_parameters)
from .mog import mog_nll_loss, mog_nll_totals
from .optimizer import LinearDecayOverEpochs, RMSPropMomentum
from .protocol import ChungProtocol
from .speech import speech_task
from .curves import report_plots
from .summary import report_notes
from .tasks import music_task

register_loss("mog_nll", lambda protocol: mog_nll_loss(), mog_nll_totals)
register_loss("frame_nll_sequence_sum", sequence_sum_loss, sequence_sum_totals)

EXPERIMENTS = {
    "music": Experiment(
        task=music_task,
        model=build_music_model,
        protocol=ChungProtocol,
        description="Polyphonic music (§4, Table 2): next-frame NLL of binary piano rolls.",
    ),
    "speech": Experiment(
        task=speech_task,
        model=build_speech_model,
        protocol=ChungProtocol,
        description="Raw speech (§4, Table 2's Ubisoft rows, on public recordings): 20 samples in, a mixture of "
                    "20 Gaussians over the next 10; NLL per time step.",
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

__all__ = ["CITATION", "ChungProtocol", "EXPERIMENTS", "GRADIENT_UNITS", "LinearDecayOverEpochs", "PeepholeLSTMCell",
           "RMSPropMomentum", "TABLE1_PARAMETERS", "TABLE1_SPEECH_PARAMETERS",
           "TABLE1_SPEECH_UNITS", "TABLE1_UNITS", "TanhRNNCell", "build_music_model", "build_speech_model",
           "make_cell", "music_task", "recurrent_parameters", "speech_task"]
