"""TFDS builders over the package's own parsers (piano rolls), for users who live in ``tfds.load``; Bengio et
al.'s Brown split is ``reproductions.bengio2003.tfds_brown.BrownBengio2003``.

Imports ``tensorflow_datasets`` at module import, so import this module only when you want TFDS; the rest of
``lstm_hist.data`` never imports it. Files are found with the package's own resolution
(``lstm_hist.data.resolution``, sha256-checked), not with TFDS's download manager.

Example::

    from lstm_hist.data.tfds_builders import PianoRoll
    builder = PianoRoll(config="jsb_chorales", data_dir="/tmp/tfds")
    builder.download_and_prepare()
    train = builder.as_dataset(split="train")   # elements {"roll": (T, 88) uint8, "length": int32}
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
