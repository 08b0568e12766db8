"""Cloud-Optimised GeoTIFF export of region-store maps (one file per 2-D ``(y, x)`` variable).

A COG (OGC 21-026, "OGC Cloud Optimized GeoTIFF Standard"; GDAL's COG driver) is a tiled GeoTIFF whose
overviews and tile index come before the image data, so a viewer reads only the tiles and the overview
level it shows. Each file written here has: CRS EPSG:3035 and the region store's 100 m north-up transform;
internal tiles of ``blocksize × blocksize`` cells; overviews by factors of 2 until the image fits one tile,
averaged (the mode for flag variables such as the solver status); float32 cells with nodata NaN; DEFLATE
compression with the floating-point predictor; the variable's ``long_name``/``units`` as band description
and tags.

Streaming: the map is copied from the Zarr store one window of ``blocksize`` rows × ``blocksize`` columns at
a time into a tiled temporary GeoTIFF beside the output; GDAL's COG driver then builds the overviews and
writes the final layout from that file block by block (GDAL's block cache bounds its memory, not the
map's size). The temporary file is removed, and the COG is renamed into place only when complete.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import xarray as xr
from rasterio.windows import Window

from tccas.grid import CRS

COMPRESSION = "DEFLATE"


class CogError(ValueError):
    """A map that cannot be exported; the message names the store and the variable."""


def write_cog(
    var: xr.DataArray, transform, path: str | Path, blocksize: int = 512, source: str | Path = "store"
) -> Path:
    """Write the lazily read 2-D map ``var`` (dims ``y``, ``x``; ``y`` decreasing) with the affine
    ``transform`` [m] as a COG at ``path``; ``source`` names the store in error messages."""
    if var.dims != ("y", "x"):
        raise CogError(f"{source}: variable {var.name!r} has dims {var.dims}, a COG needs a (y, x) map")
    if blocksize < 16 or blocksize % 16:
        raise CogError(f"COG block size must be a multiple of 16 cells, got {blocksize}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ny, nx = var.shape
    flags = var.attrs.get("flag_values")
    profile = {
        "driver": "GTiff",
        "width": nx,
        "height": ny,
        "count": 1,
        "dtype": "float32",
        "crs": CRS,
        "transform": transform,
        "nodata": np.float32(np.nan),
        "tiled": True,
        "blockxsize": blocksize,
        "blockysize": blocksize,
        "compress": COMPRESSION,
        "predictor": 3,
        "BIGTIFF": "IF_SAFER",
    }
    staging = path.with_name(f".{path.name}.staging.tif")
    partial = path.with_name(f".{path.name}.partial")
    tags = {k: str(var.attrs[k]) for k in ("long_name", "units", "standard_name") if k in var.attrs}
    try:
        with rasterio.open(staging, "w", **profile) as dst:
            for row in range(0, ny, blocksize):
                for col in range(0, nx, blocksize):
                    block = var.isel(y=slice(row, row + blocksize), x=slice(col, col + blocksize)).values
                    window = Window(col, row, block.shape[1], block.shape[0])
                    dst.write(np.asarray(block, dtype=np.float32), 1, window=window)
            dst.update_tags(1, **tags)
            dst.set_band_description(1, str(var.attrs.get("long_name", var.name)))
        rasterio.shutil.copy(
            staging,
            partial,
            driver="COG",
            COMPRESS=COMPRESSION,
            PREDICTOR="FLOATING_POINT",
            BLOCKSIZE=blocksize,
            OVERVIEWS="AUTO",
            RESAMPLING="MODE" if flags is not None else "AVERAGE",
            BIGTIFF="IF_SAFER",
        )
        os.replace(partial, path)
    finally:
        staging.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return path
