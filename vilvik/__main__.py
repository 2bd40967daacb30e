"""`python -m vilvik ...`: the same as the `vilvik` command."""
from .cli import run

run()
