"""``python -m kiosk``: the same as ``wathiq kiosk``, with the same options."""

from __future__ import annotations

import sys

from verify.cli import main

if __name__ == "__main__":
    sys.exit(main(["kiosk", *sys.argv[1:]]))
