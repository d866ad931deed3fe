"""Cho et al. (2014), *Learning Phrase Representations using RNN Encoder–Decoder for Statistical Machine
Translation*, EMNLP 2014 (arXiv:1406.1078).

Reproduced here: the gated recurrent unit, eqs. (5)–(8), in both published forms (arXiv v3 = eq. 8, reset
before the recurrent product; arXiv v1, reset after it) and both update conventions (Cho eq. 7; Chung et al.
2014 §3.2). The paper's experiment (phrase-pair rescoring inside Moses, Table 1 BLEU) is not reproduced: it
needs Moses, WMT'14 and MERT (shared/papers/cho2014_chung2014.md A.4, A.5). The GRU is used by
``reproductions.chung2014`` for the polyphonic-music benchmark.
"""

from .cell import GRU2014Cell
from .gradients import GRADIENT_UNITS  # lstm-hist gradients

EXPERIMENTS: dict = {}  # no runnable experiment of this paper; the cell is exercised by reproductions.chung2014

CITATION = """@inproceedings{cho2014rnnencdec,
  author    = {Kyunghyun Cho and Bart van Merri{\\"e}nboer and Caglar Gulcehre and Dzmitry Bahdanau and Fethi Bougares and Holger Schwenk and Yoshua Bengio},
  title     = {Learning Phrase Representations using {RNN} Encoder--Decoder for Statistical Machine Translation},
  booktitle = {Proceedings of the 2014 Conference on Empirical Methods in Natural Language Processing (EMNLP)},
  pages     = {1724--1734},
  year      = {2014},
  eprint    = {1406.1078},
  archivePrefix = {arXiv}
}"""

__all__ = ["CITATION", "EXPERIMENTS", "GRADIENT_UNITS", "GRU2014Cell"]
