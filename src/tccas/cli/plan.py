"""Planning helpers: ``validate-config``, ``plan-tiles`` and ``show-versions``."""

from __future__ import annotations

import importlib.metadata
import platform

from tccas.cli import UserError


def _validate_config(args) -> int:
    from tccas.config import ConfigError, load_config

    try:
        load_config(args.config)
    except ConfigError as err:
        raise UserError(str(err)) from None
    print(f"{args.config}: valid")
    return 0


def _plan_tiles(args) -> int:
    from tccas.config import ConfigError, load_config, planned_tiles
    from tccas.grid import get_region, tiles_for_region

    if args.config:
        try:
            config = load_config(args.config)
        except ConfigError as err:
            raise UserError(str(err)) from None
        plan = {name: planned_tiles(config, name) for name in config["regions"]}
    else:
        if not args.region:
            raise UserError("give --region NAME or --config FILE")
        try:
            get_region(args.region)
            plan = {args.region: tiles_for_region(args.region, args.tile_km)}
        except (KeyError, ValueError) as err:
            raise UserError(str(err).strip('"')) from None
    total = 0
    for name, tiles in plan.items():
        region = get_region(name)
        x0, y0, x1, y1 = region.extent
        km = tiles[0].size_m // 1000 if tiles else args.tile_km
        print(
            f"region {name} ({region.description}): extent EPSG:3035 x {x0}..{x1} y {y0}..{y1} m; "
            f"{len(tiles)} tiles of {km} km"
        )
        for tile in tiles:
            print(
                f"  {tile.name}  x {tile.x0}..{tile.x0 + tile.size_m}  y {tile.y0}..{tile.y0 + tile.size_m}"
                f"  {tile.nx}x{tile.ny} cells"
            )
        total += len(tiles)
    print(f"total: {total} tiles")
    return 0


def _show_versions(args) -> int:
    print(f"python: {platform.python_version()} ({platform.platform()})")
    for dist in (
        "tccas",
        "jax",
        "jaxlib",
        "numpy",
        "scipy",
        "dask",
        "distributed",
        "xarray",
        "zarr",
        "rioxarray",
        "rasterio",
        "pyproj",
        "odc-geo",
        "netCDF4",
        "h5netcdf",
        "snakemake",
    ):
        try:
            print(f"{dist}: {importlib.metadata.version(dist)}")
        except importlib.metadata.PackageNotFoundError:
            print(f"{dist}: not installed")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("validate-config", help="validate a config file against the schema")
    p.add_argument("config", help="YAML config file")
    p.set_defaults(func=_validate_config)

    p = subparsers.add_parser(
        "plan-tiles", help="print the tiles of a region (those holding land of it) or of a config's run"
    )
    p.add_argument("--region", help="lapland, iberia or netherlands")
    p.add_argument("--tile-km", type=int, default=100, help="tile edge in km (default 100)")
    p.add_argument("--config", help="print the tile plan of this config instead")
    p.set_defaults(func=_plan_tiles)

    p = subparsers.add_parser("show-versions", help="print versions of tccas and its key dependencies")
    p.set_defaults(func=_show_versions)
