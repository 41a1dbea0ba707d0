"""``python -m archdoc``: the same as the ``archdoc`` command."""

from archdoc.cli import run

if __name__ == "__main__":  # importing the module (documentation tools do) runs nothing
    run()
