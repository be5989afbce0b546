"""Allow ``python -m sfrenew``."""

from sfrenew.cli import main

main()
