"""Map-product subcommands: ``overviews`` (the multiscale pyramid of a region store, rule ``overviews``)
and ``export-cog`` (Cloud-Optimised GeoTIFFs of its maps). Each handler parses arguments and calls one
function of :mod:`tccas.pipeline.overviews`.
"""

from __future__ import annotations

from tccas.cli import UserError


def _overviews(args) -> int:
    from tccas.io.overviews import OverviewError
    from tccas.pipeline.overviews import overviews

    try:
        overviews(args.store, args.output, max_pixels=args.max_pixels)
    except (FileNotFoundError, OverviewError) as err:
        raise UserError(str(err)) from None
    return 0


def _export_cog(args) -> int:
    from tccas.io.cog import CogError
    from tccas.pipeline.overviews import export_cogs

    try:
        export_cogs(args.store, args.outdir, variables=args.variable, blocksize=args.blocksize)
    except (FileNotFoundError, CogError) as err:
        raise UserError(str(err)) from None
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "overviews", help="multiscale overview pyramid of a region store (GeoZarr multiscales, block means)"
    )
    p.add_argument("--store", required=True, help="finalized region store, results/maps/{region}.zarr")
    p.add_argument("--output", required=True, help="overview store, results/maps/{region}.overviews.zarr")
    p.add_argument(
        "--max-pixels",
        type=int,
        default=512,
        help="the coarsest level's longer edge is at most this many cells (default 512)",
    )
    p.set_defaults(func=_overviews)

    p = subparsers.add_parser("export-cog", help="Cloud-Optimised GeoTIFFs of a region store's 2-D maps")
    p.add_argument("--store", required=True, help="region store, results/maps/{region}.zarr")
    p.add_argument("--outdir", required=True, help="folder of the GeoTIFFs, one {variable}.tif each")
    p.add_argument(
        "--variable",
        action="append",
        default=None,
        help="a 2-D map to export (repeat for several; default: every 2-D map of the store)",
    )
    p.add_argument(
        "--blocksize", type=int, default=512, help="internal tile edge [cells], multiple of 16 (default 512)"
    )
    p.set_defaults(func=_export_cog)
