"""Data subcommands: ``make-demo-data`` (synthetic native-format inputs from a known truth) and ``regrid``
(native files → one per-tile analysis-ready store)."""

from __future__ import annotations

from tccas.cli import UserError


def _load(path):
    from tccas.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as err:
        raise UserError(str(err)) from None


def _check_region(config: dict, region: str) -> None:
    if region not in config["regions"]:
        raise UserError(f"region {region!r} is not configured; configured: {', '.join(config['regions'])}")


def _make_demo_data(args) -> int:
    from tccas.pipeline.cluster import use_worker_environment
    from tccas.pipeline.demo_data import make_demo_data

    config = _load(args.config)
    _check_region(config, args.region)
    use_worker_environment()
    try:
        path = make_demo_data(config, args.region)
    except (ValueError, FileNotFoundError) as err:
        raise UserError(str(err)) from None
    print(path)
    return 0


def _regrid(args) -> int:
    from tccas.io.errors import ProductError
    from tccas.pipeline.regrid import run_regrid

    config = _load(args.config)
    _check_region(config, args.region)
    try:
        path = run_regrid(config, args.region, args.tile, args.product, args.out)
    except (ProductError, ValueError, FileNotFoundError) as err:
        raise UserError(str(err)) from None
    print(path)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "make-demo-data",
        help="write synthetic native-format files (ERA5, CORINE, DEM, TROPOSIF, SMOS-IC, JRC-TIP) and "
        "the known truth for one region",
    )
    p.add_argument("--config", required=True, help="config YAML")
    p.add_argument("--region", required=True, help="region name (lapland, iberia, netherlands)")
    p.set_defaults(func=_make_demo_data)

    r = subparsers.add_parser(
        "regrid", help="regrid one product of one tile into its analysis-ready Zarr store"
    )
    r.add_argument("--config", required=True, help="config YAML")
    r.add_argument("--region", required=True)
    r.add_argument("--tile", required=True, help="EEA tile code, e.g. 1kmE4041N3234")
    r.add_argument("--product", required=True, choices=("forcing", "landcover", "fapar", "sif", "smos"))
    r.add_argument(
        "--out", default=None, help="output store (default results/regrid/{region}/{tile}/{product}.zarr)"
    )
    r.set_defaults(func=_regrid)
