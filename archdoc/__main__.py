"""``python -m archdoc``: the same as the ``archdoc`` command."""

from archdoc.cli import main

main(prog_name="archdoc")
