"""``python -m lstm_hist`` — the same as the ``lstm-hist`` console script."""

import sys

from lstm_hist.cli import main

if __name__ == "__main__":
    sys.exit(main())
