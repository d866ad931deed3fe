"""TFDS builders over the package's own parsers (piano rolls; the Brown corpus), for users who live in
``tfds.load``.

Imports ``tensorflow_datasets`` at module import, so import this module only when you want TFDS; the rest of
``lstm_hist.data`` never imports it. Files are found with the package's own resolution
(``lstm_hist.data.resolution``, sha256-checked), not with TFDS's download manager.

Example::

    from lstm_hist.data.tfds_builders import PianoRoll
    builder = PianoRoll(config="jsb_chorales", data_dir="/tmp/tfds")
    builder.download_and_prepare()
    train = builder.as_dataset(split="train")   # elements {"roll": (T, 88) uint8, "length": int32}

    from lstm_hist.data.tfds_builders import BrownBengio2003
    builder = BrownBengio2003(data_dir="/tmp/tfds")
    builder.download_and_prepare()
    words = builder.info.metadata["vocab"]          # id -> word, id 0 = <unk>
    train = builder.as_dataset(split="train")       # chunks {"position", "tokens", "ids"} in corpus order
"""

from __future__ import annotations

import numpy as np
import tensorflow_datasets as tfds

from lstm_hist.data.datasets import DATASETS
from lstm_hist.data.piano_roll import KEYS, MAT_FILES, SPLITS, load_piano_roll


class PianoRoll(tfds.core.GeneratorBasedBuilder):
    """Boulanger-Lewandowski et al. (2012) piano rolls, 88 keys (column j = MIDI 21 + j), one config per set."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "TCN .mat copies of the BL 2012 splits."}
    BUILDER_CONFIGS = [
        tfds.core.BuilderConfig(name=name, description=DATASETS[name].description) for name in MAT_FILES
    ]

    def _info(self) -> tfds.core.DatasetInfo:
        spec = DATASETS[self.builder_config.name]
        return self.dataset_info_from_configs(
            description=spec.description,
            features=tfds.features.FeaturesDict(
                {
                    "roll": tfds.features.Tensor(shape=(None, KEYS), dtype=np.uint8),
                    "length": tfds.features.Scalar(dtype=np.int32),
                }
            ),
            citation=spec.citation,
            license=spec.licence,
        )

    def _split_generators(self, dl_manager):
        del dl_manager  # files come from lstm_hist.data.resolution (sha256-checked)
        splits = load_piano_roll(self.builder_config.name)
        return {split: self._generate_examples(splits[split]) for split in SPLITS}

    def _generate_examples(self, rolls):
        for index, roll in enumerate(rolls):
            yield index, {"roll": roll.astype(np.uint8), "length": np.int32(len(roll))}


class BrownBengio2003(tfds.core.GeneratorBasedBuilder):
    """NLTK's Brown corpus split as Bengio et al. (2003, §4) do: 800,000 / 200,000 / rest in corpus order.

    The same parser as ``lstm-hist data stats brown`` (lstm_hist.data.brown). Each example is a chunk of
    ``CHUNK`` consecutive tokens with its offset in the split (``position``), so ``sorted by position`` and
    concatenated gives the split's stream back. ``ids`` use the training-counted vocabulary (frequency >= 4, id 0 =
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
        from lstm_hist.data.brown import brown_splits, build_vocab, load_brown_tokens

        train, valid, test = brown_splits(load_brown_tokens())
        vocab = build_vocab(train)
        self.info.metadata["vocab"] = list(vocab.words)
        return {name: self._generate_examples(part, vocab)
                for name, part in (("train", train), ("valid", valid), ("test", test))}

    def _generate_examples(self, tokens, vocab):
        for start in range(0, len(tokens), self.CHUNK):
            chunk = tokens[start : start + self.CHUNK]
            yield start, {"position": start, "tokens": chunk, "ids": vocab.encode(chunk)}
