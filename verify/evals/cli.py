"""``verify eval`` sub-commands (filled in by the eval harness)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def add_eval_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = sub.add_parser("eval", help="measure judge accuracy on gold sets")
    parser.set_defaults(handler=lambda args, config: 2)
    common(parser)
