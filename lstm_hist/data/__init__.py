"""Data sets: declarative specs, file resolution with sha256 checks, safe loading and plain-numpy parsers.

No module here imports TensorFlow or Keras at import time; ``batching.to_tf_dataset`` imports TensorFlow when
called, and ``tfds_builders`` (TFDS) is imported only on request. See docs/data.md.
"""

from lstm_hist.data.batching import (
    iterate_batches,
    next_step_arrays,
    next_step_pairs,
    next_step_tf_dataset,
    pad_sequences,
    to_tf_dataset,
)
from lstm_hist.data.brown import BROWN_TOKENS, load_brown_texts, load_brown_tokens
from lstm_hist.data.datasets import DATASETS, get_spec
from lstm_hist.data.fsdd import Recording, fsdd_split, list_fsdd, load_fsdd, load_wav
from lstm_hist.data.piano_roll import CHUNG_DIMS, SPLITS, load_jsb_pickle, load_piano_roll, note_range
from lstm_hist.data.resolution import cache_root, download_file, resolve, resolve_file, search_dirs, sha256_of
from lstm_hist.data.safe_load import load_mat, safe_pickle_load
from lstm_hist.data.spec import DataFile, DatasetSpec

__all__ = [
    "BROWN_TOKENS", "CHUNG_DIMS", "DATASETS", "SPLITS",
    "DataFile", "DatasetSpec", "Recording",
    "cache_root", "download_file", "fsdd_split", "get_spec", "iterate_batches",
    "list_fsdd", "load_brown_texts", "load_brown_tokens", "load_fsdd", "load_jsb_pickle", "load_mat", "load_piano_roll", "load_wav",
    "next_step_arrays", "next_step_pairs", "next_step_tf_dataset", "note_range",
    "pad_sequences", "resolve", "resolve_file", "safe_pickle_load", "search_dirs", "sha256_of", "to_tf_dataset",
]
