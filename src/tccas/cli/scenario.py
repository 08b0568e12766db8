"""Scenario subcommands (obs_da_spec §8; workflow/rules/scenario.smk): ``intervention-tile`` (rule
``intervention_tile``, one tile) and ``intervention`` (rule ``intervention``, the region's maps).

The handlers only parse arguments, load the config and call :func:`tccas.pipeline.intervention.
intervention_tile` or :func:`~tccas.pipeline.intervention.intervention_region`.
"""

from __future__ import annotations

from tccas.cli import UserError


def _config_and_region(args):
    from tccas.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as err:
        raise UserError(str(err)) from None
    if args.region not in config["regions"]:
        raise UserError(
            f"region {args.region!r} is not configured; configured: {', '.join(config['regions'])}"
        )
    return config


def _intervention_tile(args) -> int:
    from tccas.pipeline.intervention import intervention_tile

    config = _config_and_region(args)
    point = None if args.pixel is None else (float(args.pixel[0]), float(args.pixel[1]))
    try:
        intervention_tile(
            config,
            args.region,
            args.tile,
            args.output,
            point=point,
            n_workers=args.workers,
            batch_size=args.batch_size,
            report_path=args.performance_report,
        )
    except (FileNotFoundError, KeyError, ValueError) as err:
        raise UserError(str(err).strip('"')) from None
    return 0


def _intervention(args) -> int:
    from tccas.pipeline.intervention import intervention_region

    config = _config_and_region(args)
    try:
        intervention_region(
            config,
            args.region,
            sentinel=args.out,
            store=args.store,
            quicklook_dir=args.quicklook_dir,
            overview_store=args.overviews,
        )
    except (FileNotFoundError, KeyError, ValueError) as err:
        raise UserError(str(err).strip('"')) from None
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "intervention-tile",
        help="grass-to-trees intervention scenario of one tile: per-tile effects with uncertainty",
    )
    p.add_argument("--config", required=True, help="YAML config file (section 'scenario')")
    p.add_argument("--region", required=True, help="configured region name")
    p.add_argument("--tile", required=True, help="tile code, e.g. 1kmE3154N1951")
    p.add_argument("--output", required=True, help="per-tile scenario result (Zarr store)")
    p.add_argument(
        "--pixel",
        nargs=2,
        type=float,
        metavar=("LON", "LAT"),
        default=None,
        help="pixel of the time-series panels (default: the region's first configured point)",
    )
    p.add_argument("--workers", type=int, default=None, help="Dask workers (default: dask.n_workers)")
    p.add_argument(
        "--batch-size", type=int, default=None, help="pixels per batch (default: scenario.pixels_per_batch)"
    )
    p.add_argument("--performance-report", default=None, help="Dask performance report (HTML)")
    p.set_defaults(func=_intervention_tile)

    p = subparsers.add_parser(
        "intervention",
        help="intervention scenario of one region: effect maps, overviews and quick-looks from its tiles",
    )
    p.add_argument("--config", required=True, help="YAML config file (section 'scenario')")
    p.add_argument("--region", required=True, help="configured region name")
    p.add_argument("--out", required=True, help="sentinel JSON written after a successful run (summary)")
    p.add_argument("--store", default=None, help="region map store (default: OUTPUTS/maps/REGION.zarr)")
    p.add_argument(
        "--quicklook-dir",
        default=None,
        help="folder of the PNGs (default: OUTPUTS/quicklook/scenario/REGION)",
    )
    p.add_argument(
        "--overviews",
        default=None,
        help="overview pyramid of the scenario maps (default: OUTPUTS/maps/REGION.scenario.overviews.zarr)",
    )
    p.set_defaults(func=_intervention)
