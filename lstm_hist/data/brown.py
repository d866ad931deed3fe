"""NLTK's Brown corpus read as words: the stream, its texts and their paragraphs (the ``brown`` data set's parser).

Generic reading only: which split, which vocabulary and which separator marks a paper uses is the paper's choice
(Bengio et al. 2003: ``reproductions/bengio2003/data.py`` and ``vocab.py``). NLTK's copy has 500 texts (one per
file) and 1,161,192 tokens; inside a file, blank lines separate 15,667 paragraphs (blocks of one or more sentence
lines).
"""

from __future__ import annotations

import os
import re
import zipfile

from lstm_hist.data.resolution import resolve_file
from lstm_hist.errors import DataError

BROWN_TOKENS = 1_161_192
_TEXT_FILE = re.compile(r"^brown/c[a-r]\d\d$")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
BROWN_TEXTS, BROWN_PARAGRAPHS = 500, 15_667


def split_paragraphs(text: str) -> list[list[str]]:
    """The paragraphs of one Brown file (blocks between blank lines), each a list of words with tags stripped."""
    blocks = (block.split() for block in _BLANK_LINES.split(text))
    return [[token.rsplit("/", 1)[0] for token in block] for block in blocks if block]


def load_brown_texts(data_dir: str | os.PathLike | None = None) -> list[list[list[str]]]:
    """Every text of ``brown.zip`` in sorted file-id order (ca01 … cr09), as paragraphs of words."""
    path = resolve_file("brown", "brown.zip", data_dir=data_dir)
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(name for name in archive.namelist() if _TEXT_FILE.match(name))
            if len(names) != BROWN_TEXTS:
                raise DataError(f"{path}: expected {BROWN_TEXTS} Brown text files, found {len(names)}")
            return [split_paragraphs(archive.read(name).decode("ascii")) for name in names]
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path} is not a zip file ({exc})") from None


def load_brown_tokens(data_dir: str | os.PathLike | None = None) -> list[str]:
    """Every word of ``brown.zip`` in sorted file-id order (ca01 … cr09), tags stripped (``rsplit('/', 1)``)."""
    return [token for text in load_brown_texts(data_dir) for paragraph in text for token in paragraph]
