"""Bengio, Ducharme, Vincent & Jauvin (2003), *A Neural Probabilistic Language Model*, JMLR 3:1137–1155.

Reproduced here: Table 1 (Brown corpus) — the network of §2 (eq. 1) trained as in §3–4, its 0.5/0.5 mixture with
the interpolated trigram, and the n-gram baselines of §4.1 (deleted interpolation, interpolated modified
Kneser–Ney n = 3, 4, 5). AP News (Table 2) n-gram rows run on a user-supplied folder (:mod:`.apnews`).
Class-based back-off rows: exchange-algorithm word classes and a Kneser–Ney class n-gram (:mod:`.classes`).
Data: :mod:`.data` (NLTK's Brown: 1,161,192 tokens, not the paper's 1,181,041). Open choices and departures:
docs/deviations.md (Bengio section).
"""

from lstm_hist.experiment import Experiment

from .apnews import apnews_stream
from .data import brown_stream, brown_windows, prepare_brown
from .model import build_nplm, nplm_parameter_count
from .ngram import DeletedInterpolation, KneserNey
from .protocol import NgramProtocol, NPLMProtocol, class_based, deleted_interpolation, kneser_ney
from .data_rule import record_label
from .summary import report_notes, report_plots, stand_in_record, summary_lines

EXPERIMENTS = {
    "nplm": Experiment(
        task=brown_windows,
        model=build_nplm,
        protocol=NPLMProtocol,
        description="Neural probabilistic LM (§2 eq. 1): y = b + W x + U tanh(d + H x); "
                    "parameters |V|(1+nm+h) + h(1+(n-1)m), minus |V|(n-1)m without direct connections.",
    ),
    "kneser_ney": Experiment(
        task=brown_stream, model=kneser_ney, protocol=NgramProtocol,
        description="Interpolated modified Kneser-Ney n-gram (§4.1), fitted on the training part.",
    ),
    "deleted_interpolation": Experiment(
        task=brown_stream, model=deleted_interpolation, protocol=NgramProtocol,
        description="Deleted-interpolation trigram, weights per context-frequency bin by EM on validation (§4.1).",
    ),
    "apnews_kneser_ney": Experiment(
        task=apnews_stream, model=kneser_ney, protocol=NgramProtocol,
        description="Interpolated modified Kneser-Ney on a user-supplied AP News folder (Table 2; licensed data).",
    ),
    "apnews_deleted_interpolation": Experiment(
        task=apnews_stream, model=deleted_interpolation, protocol=NgramProtocol,
        description="Deleted-interpolation trigram on a user-supplied AP News folder (Table 2; licensed data).",
    ),
    "class_based": Experiment(
        task=brown_stream, model=class_based, protocol=NgramProtocol,
        description="Class-based n-gram (§4.1): exchange-algorithm word classes (class-bigram likelihood on train), "
                    "P_KN(class | n-1 previous classes) * count(w)/count(class).",
    ),
}

CITATION = """@article{bengio2003nplm,
  author  = {Yoshua Bengio and R{\\'e}jean Ducharme and Pascal Vincent and Christian Jauvin},
  title   = {A Neural Probabilistic Language Model},
  journal = {Journal of Machine Learning Research},
  volume  = {3},
  pages   = {1137--1155},
  month   = feb,
  year    = {2003},
  url     = {https://jmlr.org/papers/v3/bengio03a.html}
}"""

__all__ = ["CITATION", "EXPERIMENTS", "DeletedInterpolation", "KneserNey", "apnews_stream", "NPLMProtocol", "NgramProtocol",
           "brown_stream", "brown_windows", "build_nplm", "nplm_parameter_count", "prepare_brown"]
