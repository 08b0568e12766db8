"""Workflow subcommands: ``precompile``, ``assimilate-tile``, ``init-store``, ``write-tile``,
``finalize-store``, ``quicklook`` and ``report-table``. One subcommand = one Snakemake rule = one
``tccas.pipeline`` function (ecosystem_aesthetics §4.1 rule 10); each handler only parses arguments, loads the
config and calls it.
"""

from __future__ import annotations

import argparse

from tccas.cli import UserError


def _config(path: str) -> dict:
    from tccas.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as err:
        raise UserError(str(err)) from None


def _region(config: dict, region: str) -> str:
    if region not in config["regions"]:
        raise UserError(f"region {region!r} is not configured; configured: {', '.join(config['regions'])}")
    return region


def _precompile(args) -> int:
    from tccas.pipeline.precompile import precompile

    precompile(_config(args.config), args.program, args.sentinel)
    return 0


def _assimilate_tile(args) -> int:
    from tccas.io.errors import CorruptFileError
    from tccas.pipeline.assimilate import assimilate_tile

    config = _config(args.config)
    try:
        assimilate_tile(
            config,
            _region(config, args.region),
            args.tile,
            args.output,
            n_workers=args.workers,
            batch_size=args.batch_size,
            report_path=args.performance_report,
        )
    except (FileNotFoundError, CorruptFileError) as err:
        raise UserError(str(err)) from None
    return 0


def _init_store(args) -> int:
    from tccas.pipeline.products import init_store

    config = _config(args.config)
    try:
        init_store(
            config,
            _region(config, args.region),
            args.store,
            args.sentinel,
            overwrite=args.overwrite,
            summary=args.summary,
        )
    except FileExistsError as err:
        raise UserError(str(err)) from None
    return 0


def _write_tile(args) -> int:
    from tccas.pipeline.products import write_tile

    config = _config(args.config)
    try:
        write_tile(
            config,
            _region(config, args.region),
            args.tile,
            args.result,
            args.store,
            args.sentinel,
            summary=args.summary,
        )
    except (FileNotFoundError, ValueError) as err:
        raise UserError(str(err)) from None
    return 0


def _finalize_store(args) -> int:
    from tccas.io.output_store import StoreValidationError
    from tccas.pipeline.products import finalize

    config = _config(args.config)
    try:
        finalize(config, _region(config, args.region), args.store, args.sentinels, args.summary)
    except (FileNotFoundError, StoreValidationError) as err:
        raise UserError(str(err)) from None
    return 0


def _quicklook(args) -> int:
    from tccas.io.overviews import OverviewError
    from tccas.pipeline.overviews import overview_quicklooks

    config = _config(args.config)
    try:
        overview_quicklooks(config, _region(config, args.region), args.overviews, args.outdir)
    except (FileNotFoundError, OverviewError) as err:
        raise UserError(str(err)) from None
    return 0


def _report_table(args) -> int:
    from tccas.pipeline.report import convergence_table

    try:
        convergence_table(args.summaries, args.output)
    except FileNotFoundError as err:
        raise UserError(str(err)) from None
    return 0


def _common(p: argparse.ArgumentParser, tile: bool = False) -> None:
    p.add_argument("--config", required=True, help="YAML config file (validated against the schema)")
    p.add_argument("--region", required=True, help="configured region name (lapland, iberia, netherlands)")
    if tile:
        p.add_argument("--tile", required=True, help="EEA tile code, e.g. 1kmE5242N4797")


def register(subparsers) -> None:
    from tccas.pipeline.precompile import PROGRAMS

    p = subparsers.add_parser(
        "precompile",
        help="build the run's batched JAX programs once (exported-program store + compilation cache)",
    )
    p.add_argument("--config", required=True, help="YAML config file (validated against the schema)")
    p.add_argument("--program", required=True, choices=PROGRAMS, help="which programs to build")
    p.add_argument("--sentinel", required=True, help="JSON written when the programs are built")
    p.set_defaults(func=_precompile)

    p = subparsers.add_parser(
        "assimilate-tile",
        help="assimilate every land pixel of one tile (Dask LocalCluster, padded vmapped batches; resumes "
        "from the batches a killed run stored)",
    )
    _common(p, tile=True)
    p.add_argument(
        "--output", required=True, help="per-tile result store, results/assimilate/{region}/{tile}.zarr"
    )
    p.add_argument("--workers", type=int, default=None, help="Dask process workers (default: dask.n_workers)")
    p.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="pixels per padded batch (default: assimilation.pixels_per_batch)",
    )
    p.add_argument("--performance-report", default=None, help="write a Dask performance report (HTML) here")
    p.set_defaults(func=_assimilate_tile)

    p = subparsers.add_parser("init-store", help="write the metadata-only template of a region's map store")
    _common(p)
    p.add_argument("--store", required=True, help="region store, results/maps/{region}.zarr")
    p.add_argument("--sentinel", required=True, help="JSON sentinel written after the template")
    p.add_argument(
        "--overwrite",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="replace an existing store (the workflow passes --overwrite; default: refuse)",
    )
    p.add_argument(
        "--summary",
        default=None,
        help="the region's finalize summary: removed before the store is written (a store being written is "
        "not final, so the workflow reruns the finalisation and any interrupted write)",
    )
    p.set_defaults(func=_init_store)

    p = subparsers.add_parser("write-tile", help="write one tile's assimilation result into the region store")
    _common(p, tile=True)
    p.add_argument("--result", required=True, help="per-tile result store from assimilate-tile")
    p.add_argument("--store", required=True, help="region store (template written by init-store)")
    p.add_argument("--sentinel", required=True, help="JSON sentinel written after the region write")
    p.add_argument(
        "--summary",
        default=None,
        help="the region's finalize summary: removed before the store is written (a store being written is "
        "not final, so the workflow reruns the finalisation and any interrupted write)",
    )
    p.set_defaults(func=_write_tile)

    p = subparsers.add_parser("finalize-store", help="validate and consolidate a region store")
    _common(p)
    p.add_argument("--store", required=True, help="region store")
    p.add_argument("--sentinels", nargs="+", required=True, help="the tile sentinels from write-tile")
    p.add_argument("--summary", required=True, help="summary JSON (per-tile convergence) to write")
    p.set_defaults(func=_finalize_store)

    p = subparsers.add_parser("quicklook", help="quick-look PNGs of a region store, from its overviews")
    _common(p)
    p.add_argument(
        "--overviews", required=True, help="the region's overview store, results/maps/{region}.overviews.zarr"
    )
    p.add_argument("--outdir", required=True, help="folder for the PNGs, results/quicklook/{region}")
    p.set_defaults(func=_quicklook)

    p = subparsers.add_parser(
        "report-table", help="HTML table of per-tile convergence from finalize summaries"
    )
    p.add_argument("--summaries", nargs="+", required=True, help="summary JSON files from finalize-store")
    p.add_argument("--output", required=True, help="HTML file to write")
    p.set_defaults(func=_report_table)
