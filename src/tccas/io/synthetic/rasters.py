"""Synthetic static rasters in the real layouts: CORINE CLC 2018 100 m, DEM, ESA WorldCover 10 m (§5).

- CORINE: uint8 grid codes 1..44, EPSG:3035, 100 m, origin on the 100 m grid, nodata 48 (§5.1).
- DEM: float32, EPSG:3035 100 m (EU-DEM-like; the reader also handles EPSG:4326 via average reprojection).
- WorldCover: uint8 classes, EPSG:4326, 1/12000° (≈10 m) pixels, nodata 0 (§5.2).
- :func:`demo_landscape` draws a plausible land-cover/elevation pattern for a site's region.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from affine import Affine

from tccas.io._util import atomic_path

CLC_GRID = {
    111: 1,
    112: 2,
    211: 12,
    231: 18,
    243: 21,
    244: 22,
    311: 23,
    312: 24,
    313: 25,
    321: 26,
    322: 27,
    323: 28,
    324: 29,
    412: 36,
    512: 41,
}
# Region land-cover palettes (CLC code: weight) and base elevation [m] of the demo sites [D].
PALETTES = {
    "lapland": ({312: 0.55, 313: 0.15, 324: 0.12, 412: 0.12, 322: 0.06}, 180.0, 40.0),
    "iberia": ({244: 0.6, 323: 0.2, 311: 0.1, 231: 0.1}, 260.0, 30.0),
    "netherlands": ({312: 0.5, 313: 0.15, 311: 0.1, 231: 0.15, 322: 0.1}, 25.0, 5.0),
}


def _write_gtiff(path, array: np.ndarray, transform: Affine, crs: str, nodata) -> Path:
    import rasterio

    path = Path(path)
    with atomic_path(path) as tmp:
        with rasterio.open(
            tmp,
            "w",
            driver="GTiff",
            height=array.shape[0],
            width=array.shape[1],
            count=1,
            dtype=array.dtype,
            crs=crs,
            transform=transform,
            nodata=nodata,
            compress="deflate",
        ) as dst:
            dst.write(array, 1)
    return path


def write_corine(path, grid_codes: np.ndarray, x0: float, y_top: float, res: int = 100) -> Path:
    """CLC raster with upper-left corner (x0, y_top) in EPSG:3035 metres (multiples of ``res``)."""
    return _write_gtiff(
        path, np.asarray(grid_codes, np.uint8), Affine(res, 0, x0, 0, -res, y_top), "EPSG:3035", 48
    )


def write_dem(
    path, elevation: np.ndarray, x0: float, y_top: float, res: int = 100, crs: str = "EPSG:3035"
) -> Path:
    return _write_gtiff(
        path, np.asarray(elevation, np.float32), Affine(res, 0, x0, 0, -res, y_top), crs, -9999.0
    )


def write_worldcover(
    path, classes: np.ndarray, lon0: float, lat_top: float, res_deg: float = 1 / 12000
) -> Path:
    return _write_gtiff(
        path, np.asarray(classes, np.uint8), Affine(res_deg, 0, lon0, 0, -res_deg, lat_top), "EPSG:4326", 0
    )


def _smooth_field(rng: np.random.Generator, shape, scale_cells: float) -> np.ndarray:
    """Gaussian random field (FFT-filtered white noise), unit variance."""
    noise = rng.normal(size=shape)
    ky = np.fft.fftfreq(shape[0])[:, None]
    kx = np.fft.fftfreq(shape[1])[None, :]
    field = np.real(
        np.fft.ifft2(np.fft.fft2(noise) * np.exp(-0.5 * (kx**2 + ky**2) * (2 * np.pi * scale_cells) ** 2))
    )
    return (field - field.mean()) / (field.std() + 1e-12)


def demo_landscape(region: str, shape: tuple[int, int], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """CLC grid codes and elevation [m] for a demo area of ``shape`` 100 m cells in ``region``.

    Land cover comes in patches (thresholded smooth fields) following the region palette; a few cells of
    water (CLC 512) make the water mask non-trivial.
    """
    palette, z0, relief = PALETTES[region]
    codes = np.array(list(palette))
    weights = np.array(list(palette.values()))
    field = _smooth_field(rng, shape, 2.0)
    ranks = np.argsort(np.argsort(field.ravel())) / field.size
    idx = np.searchsorted(np.cumsum(weights) / weights.sum(), ranks, side="right").clip(0, len(codes) - 1)
    clc = codes[idx].reshape(shape)
    clc[_smooth_field(rng, shape, 1.5) > 2.2] = 512
    grid = np.vectorize(CLC_GRID.get)(clc).astype(np.uint8)
    elevation = z0 + relief * _smooth_field(rng, shape, 4.0)
    return {"clc_grid": grid, "elevation": np.maximum(elevation, 0.0)}
