"""A TFDS builder of Brown split as Bengio et al. (2003, §4) split it, for users who live in ``tfds.load``.

Imports ``tensorflow_datasets`` at module import; nothing else in the package imports this module. The zip comes
from the package's own resolution (``lstm_hist.data.resolution``, sha256-checked), not TFDS's download manager.

Example::

    from reproductions.bengio2003.tfds_brown import BrownBengio2003
    builder = BrownBengio2003(data_dir="/tmp/tfds")
    builder.download_and_prepare()
    words = builder.info.metadata["vocab"]          # id -> word, id 0 = <unk>
    train = builder.as_dataset(split="train")       # chunks {"position", "tokens", "ids"} in corpus order
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from lstm_hist.data.brown import load_brown_tokens
from lstm_hist.data.datasets import DATASETS

from .vocab import brown_splits, build_vocab


class BrownBengio2003(tfds.core.GeneratorBasedBuilder):
    """NLTK's Brown corpus split as Bengio et al. (2003, §4) do: 800,000 / 200,000 / rest in corpus order.

    The data layer's parser (``lstm_hist.data.brown``). Each example is a chunk of ``CHUNK`` consecutive tokens
    with its offset in the split (``position``), so ``sorted by position`` and concatenated gives the split's
    stream back. ``ids`` use the training-counted vocabulary (frequency >= 4, id 0 =
    ``<unk>``), stored in ``info.metadata["vocab"]``.
    """

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "NLTK brown.zip, Bengio et al. 2003 split and rare-word rule."}
    CHUNK = 1000

    def _info(self) -> tfds.core.DatasetInfo:
        spec = DATASETS["brown"]
        return self.dataset_info_from_configs(
            description=spec.description,
            features=tfds.features.FeaturesDict(
                {
                    "position": tfds.features.Scalar(dtype=np.int64),
                    "tokens": tfds.features.Sequence(tfds.features.Text()),
                    "ids": tfds.features.Sequence(tfds.features.Scalar(dtype=np.int32)),
                }
            ),
            metadata=tfds.core.MetadataDict(),
            citation=spec.citation,
            license=spec.licence,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # the zip comes from lstm_hist.data.resolution (sha256-checked)
        train, valid, test = brown_splits(load_brown_tokens())
        vocab = build_vocab(train)
        self.info.metadata["vocab"] = list(vocab.words)
        return {name: self._generate_examples(part, vocab)
                for name, part in (("train", train), ("valid", valid), ("test", test))}

    def _generate_examples(self, tokens, vocab):
        for start in range(0, len(tokens), self.CHUNK):
            chunk = tokens[start : start + self.CHUNK]
            yield start, {"position": start, "tokens": chunk, "ids": vocab.encode(chunk)}
