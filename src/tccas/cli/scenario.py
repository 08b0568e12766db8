"""Scenario subcommand ``intervention`` (obs_da_spec §8; rule ``intervention``, workflow/rules/scenario.smk).

The handler only parses arguments, loads the config and calls :func:`tccas.pipeline.intervention.
intervention_region`.
"""

from __future__ import annotations

from tccas.cli import UserError


def _intervention(args) -> int:
    from tccas.config import ConfigError, load_config
    from tccas.pipeline.intervention import intervention_region

    try:
        config = load_config(args.config)
    except ConfigError as err:
        raise UserError(str(err)) from None
    if args.region not in config["regions"]:
        raise UserError(
            f"region {args.region!r} is not configured; configured: {', '.join(config['regions'])}"
        )
    point = None
    if args.pixel is not None:
        point = (float(args.pixel[0]), float(args.pixel[1]))
    try:
        intervention_region(
            config,
            args.region,
            sentinel=args.out,
            store=args.store,
            quicklook_dir=args.quicklook_dir,
            point=point,
            n_workers=args.workers,
            batch_size=args.batch_size,
            report_path=args.performance_report,
        )
    except (FileNotFoundError, KeyError, ValueError) as err:
        raise UserError(str(err).strip('"')) from None
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "intervention",
        help="grass-to-trees intervention scenario of one region: extra carbon uptake maps with uncertainty",
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
    p.set_defaults(func=_intervention)
