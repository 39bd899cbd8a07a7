"""`python -m curate.cli`: the same as the `curate` command."""

import sys

from curate.cli import main

sys.exit(main())
