"""``python -m desktop``: the window, or a command of the command line."""

import sys

from desktop.app.launch import main

sys.exit(main())
