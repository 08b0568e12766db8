"""The ``tccas`` command line: argument parsing, logging set-up and exit codes, nothing else.

Each module of this package that defines ``register(subparsers)`` contributes subcommands; the
subcommand's handler (``args.func``) calls exactly one function of ``tccas.pipeline`` (or of
``tccas.grid`` / ``tccas.config`` for the planning helpers) and returns an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from tccas import __version__, enable_float64


class UserError(Exception):
    """An error caused by the user's input (bad config, bad file): printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tccas",
        description="Terrestrial Carbon Community Assimilation System: regional D&B assimilation on the "
        "EEA 100 m grid.",
    )
    parser.add_argument("--version", action="version", version=f"tccas {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument("--log-file", default=None, help="also write the log to this file")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(sub)
    return parser


def setup_logging(verbose: int, log_file: str | None) -> None:
    level = logging.WARNING if verbose < 0 else (logging.INFO if verbose <= 1 else logging.DEBUG)
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file))
    logging.basicConfig(
        level=level, handlers=handlers, force=True, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def main(argv: list[str] | None = None) -> int:
    enable_float64()  # before any subcommand imports the science packages
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.verbose, args.log_file)
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        print(f"tccas {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
