"""``python -m desktop`` runs the command-line interface."""

import sys

from desktop.cli import main

sys.exit(main())
