"""Bridge io → da (contract C5): a tile's regridded inputs → padded ``tccas.da.PixelProblem`` batches.

:func:`build_tile_problem` reads the five per-tile stores and returns a :class:`TileProblem` that holds them
lazily: forcing stays at native ERA5 resolution with per-pixel bilinear weights and lapse-rate elevation
offsets (data_formats.md §4.3) and is downscaled only for the pixels of a batch.

Decisions (documented here because the pipeline depends on them):

- Pixels: land cells (CLC not water/no-data) with at least one vegetated PFT tile; row-major order.
- PFT tiles: the ``assimilation.max_tiles`` largest tiles of the landcover store; padding slots get PFT 0 and
  fraction 0 (harmless in the model, contract C1).
- Window: ``period.start`` … ``period.end`` (inclusive). Spin-up forcing recycles the first
  ``spinup_years`` × 365 window days (tiled if the window is shorter); its ``day_number`` counts back from the
  window start so the calendar stays monotonic [D]. ``spinup_years: 0`` still gives one spin-up day (the
  model initialises its state from the first spin-up day; ``PixelProblem`` always carries a spin-up Forcing).
- Observations: a pixel receives every observation whose footprint membership contains its cell
  (``footprint_mode: per_pixel``); ``t_hour`` = floor of hours since window start 00 UTC; observations
  outside the window are dropped. SM and L-VOD use the SMOS pass of ``streams.vod.pass`` (ascending 06:00 by
  default, obs_da_spec). ``sigma_repr`` is 0 here — the pipeline fills it from footprint means of prior
  equivalents (obs_da_spec §7.3) using ``footprint_ids`` (the observation keys, −1 = padding).
- Observation slots: :func:`padded_length` (a whole number per window day, so all tiles share one
  compilation); a stream disabled in the config is all-masked with n_max = 1.
- Streams: the registered streams (``tccas.obs.STREAMS``) that have a regional product
  (:data:`STREAM_PRODUCTS`: the four EO streams); the tower streams of site mode are not carried (they cost
  nothing) and enabling one in a regional config is an error (:func:`regional_streams`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tccas.grid import Tile, cell_to_lonlat
from tccas.io.era5 import co2_mole_fraction
from tccas.io.regrid import downscale
from tccas.io.tilestore import read_tile_store, time_index_hours
from tccas.obs import STREAMS, stream_module

#: Regridded product store of each stream the regional workflow observes (contract C4), registry order.
STREAM_PRODUCTS = {"fapar": "fapar", "sif": "sif", "vod": "smos", "sm": "smos"}
FORCING_KEYS = ("sw_down", "lw_down", "t_air", "precip", "vapour_pressure", "pressure", "wind")


@dataclass
class StreamTable:
    """Per-pixel padded observations of one stream, arrays ``(n_pixels, n_max)``."""

    t_hour: np.ndarray
    value: np.ndarray
    sigma_obs: np.ndarray
    mask: np.ndarray
    obs_key: np.ndarray


@dataclass
class TileProblem:
    """The regridded inputs of one tile, ready to be cut into padded pixel batches (contract C5)."""

    tile: Tile
    region: str
    dates: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    pfts: np.ndarray
    fractions: np.ndarray
    elevation: np.ndarray
    w_max: np.ndarray
    native: dict[str, np.ndarray]
    src_index: np.ndarray
    weight: np.ndarray
    dz: np.ndarray
    streams: dict[str, StreamTable]
    spinup_days: int
    footprint_ids: dict[str, np.ndarray] = field(init=False)

    def __post_init__(self):
        self.footprint_ids = {
            s: np.where(t.mask > 0, t.obs_key, -1).astype(np.int64) for s, t in self.streams.items()
        }

    @property
    def n_pixels(self) -> int:
        return int(self.rows.size)

    @property
    def n_days(self) -> int:
        return int(self.dates.size)

    def lonlat(self, idx=None) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre lon/lat of pixels ``idx`` (all if None)."""
        idx = np.arange(self.n_pixels) if idx is None else np.asarray(idx)
        ix = self.tile.ix0 + self.cols[idx]
        iy = self.tile.iy0 + self.tile.ny - 1 - self.rows[idx]
        lon, lat = cell_to_lonlat(ix, iy, self.tile.res)
        return np.asarray(lon), np.asarray(lat)

    def forcing_arrays(self, idx) -> dict[str, np.ndarray]:
        """Downscaled hourly window forcing ``(len(idx), n_days, 24)`` per variable (§4.3)."""
        idx = np.asarray(idx)
        fields = downscale(self.native, self.src_index[idx], self.weight[idx], self.dz[idx])
        return {k: v.T.reshape(idx.size, self.n_days, 24) for k, v in fields.items()}

    def batch(self, idx: np.ndarray):
        """``tccas.da.PixelProblem`` with NumPy leaves of leading axis ``len(idx)`` (float64; obs padded to
        the
        tile-wide per-stream n_max, so every batch has the same shapes)."""
        from tccas.da.pixel import ObsStream, PixelProblem
        from tccas.model import Forcing, Site

        idx = np.asarray(idx, dtype=np.int64)
        n = idx.size
        f = self.forcing_arrays(idx)
        years = self.dates.astype("datetime64[Y]").astype(int) + 1970
        co2 = np.broadcast_to(
            np.repeat(co2_mole_fraction(years), 24).reshape(self.n_days, 24), (n, self.n_days, 24)
        )
        day_number = (self.dates - np.datetime64("2015-01-01", "D")).astype(np.float64)
        forcing = Forcing(
            **f, co2=co2.copy(), day_number=np.broadcast_to(day_number, (n, self.n_days)).copy()
        )
        reps = -(-self.spinup_days // self.n_days)
        sel = np.tile(np.arange(self.n_days), reps)[: self.spinup_days]
        spin_days = day_number[0] - self.spinup_days + np.arange(self.spinup_days, dtype=np.float64)
        spinup = Forcing(
            **{k: getattr(forcing, k)[:, sel] for k in (*FORCING_KEYS, "co2")},
            day_number=np.broadcast_to(spin_days, (n, self.spinup_days)).copy(),
        )
        lon, lat = self.lonlat(idx)
        f64 = np.float64
        site = Site(
            lat=lat.astype(f64),
            lon=lon.astype(f64),
            elevation=self.elevation[idx].astype(f64),
            w_max=self.w_max[idx].astype(f64),
            soil_albedo_wet=np.full(n, 0.15),
            soil_albedo_dry=np.full(n, 0.30),
            theta_sat=np.full(n, 0.45),
            z_surface=np.full(n, 0.05),
        )
        obs = {
            s: ObsStream(
                t_hour=t.t_hour[idx].astype(np.int32),
                value=t.value[idx].astype(f64),
                sigma_obs=t.sigma_obs[idx].astype(f64),
                sigma_repr=np.zeros(t.value[idx].shape),
                mask=t.mask[idx].astype(f64),
            )
            for s, t in self.streams.items()
        }
        return PixelProblem(
            forcing=forcing,
            spinup_forcing=spinup,
            site=site,
            pfts=self.pfts[idx].astype(np.int32),
            fractions=self.fractions[idx].astype(f64),
            obs=obs,
            valid=np.ones(n),
        )


def _stream_table(
    obs_time,
    value,
    sigma,
    obs_key,
    members,
    tile: Tile,
    pixel_index: np.ndarray,
    n_pixels: int,
    start,
    n_days: int,
    enabled: bool,
) -> StreamTable:
    """Scatter observations to the pixels of their footprints and pad to the tile-wide n_max.

    Vectorised join of the membership table (footprint → cells → pixels) with the observations (footprint →
    observations): every (pixel, observation) pair, ordered per pixel by time then key.
    """
    t_hour = time_index_hours(obs_time, start) if len(obs_time) else np.zeros(0, np.int64)
    ok = (t_hour >= 0) & (t_hour < n_days * 24) & np.isfinite(value) & np.isfinite(sigma)
    pair_pix = pair_obs = np.zeros(0, np.int64)
    if enabled and ok.any() and len(members["fp_key"]):
        obs_idx = np.nonzero(ok)[0]
        order = np.argsort(members["fp_obs"][obs_idx], kind="stable")
        sorted_fp = members["fp_obs"][obs_idx][order]
        row, col = tile.rowcol(members["ix"], members["iy"])
        pix = pixel_index[row, col]
        keep = pix >= 0
        m_fp, m_pix = np.asarray(members["fp_key"])[keep], pix[keep]
        lo = np.searchsorted(sorted_fp, m_fp, "left")
        cnt = np.searchsorted(sorted_fp, m_fp, "right") - lo
        total = int(cnt.sum())
        within = np.arange(total) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        pair_obs = obs_idx[order[np.repeat(lo, cnt) + within]]
        pair_pix = np.repeat(m_pix, cnt)
        uniq = np.unique(np.stack([pair_pix, pair_obs]), axis=1)
        pair_pix, pair_obs = uniq[0], uniq[1]
        srt = np.lexsort((obs_key[pair_obs], t_hour[pair_obs], pair_pix))
        pair_pix, pair_obs = pair_pix[srt], pair_obs[srt]
    counts = np.bincount(pair_pix, minlength=n_pixels)
    n_max = padded_length(int(counts.max(initial=0)), n_days, enabled)
    slot = np.arange(pair_pix.size) - np.repeat(np.cumsum(counts) - counts, counts)
    out = {k: np.zeros((n_pixels, n_max)) for k in ("value", "sigma", "mask")}
    th = np.zeros((n_pixels, n_max), np.int32)
    keys = np.full((n_pixels, n_max), -1, np.int64)
    th[pair_pix, slot] = t_hour[pair_obs]
    out["value"][pair_pix, slot] = value[pair_obs]
    out["sigma"][pair_pix, slot] = sigma[pair_obs]
    out["mask"][pair_pix, slot] = 1.0
    keys[pair_pix, slot] = obs_key[pair_obs]
    return StreamTable(th, out["value"], out["sigma"], out["mask"], keys)


def _window(period: dict) -> tuple[np.datetime64, np.datetime64, np.ndarray, int]:
    """Start, end, dates (inclusive) and spin-up days of the config's ``period`` (module docstring: one
    spin-up day even with ``spinup_years: 0``)."""
    start, end = np.datetime64(period["start"], "D"), np.datetime64(period["end"], "D")
    return start, end, np.arange(start, end + 1), max(1, 365 * int(period.get("spinup_years", 1)))


def _masked_table(n_pixels: int, n_days: int, enabled: bool) -> StreamTable:
    """A stream without observations: :func:`padded_length` slots per pixel, all masked (keys −1)."""
    n_max = padded_length(0, n_days, enabled)
    shape = (n_pixels, n_max)
    return StreamTable(
        t_hour=np.zeros(shape, np.int32),
        value=np.zeros(shape),
        sigma_obs=np.zeros(shape),
        mask=np.zeros(shape),
        obs_key=np.full(shape, -1, np.int64),
    )


def stream_enabled(config: dict, stream: str) -> bool:
    """``streams.<stream>.enabled`` of the config (the stream module's ``DEFAULT_ENABLED`` if absent)."""
    return bool(
        config.get("streams", {}).get(stream, {}).get("enabled", stream_module(stream).DEFAULT_ENABLED)
    )


def regional_streams(config: dict) -> tuple[str, ...]:
    """The registered streams with a regional product (:data:`STREAM_PRODUCTS`), in registry order.

    ``ValueError`` naming the config key if the config enables a stream without one (the tower streams have
    daily site data only: site mode)."""
    orphans = [s for s in STREAMS if s not in STREAM_PRODUCTS and stream_enabled(config, s)]
    if orphans:
        keys = ", ".join(f"streams.{s}.enabled" for s in orphans)
        raise ValueError(
            f"config {keys}: the regional workflow has no observations of {orphans} (site mode only)"
        )
    return tuple(s for s in STREAMS if s in STREAM_PRODUCTS)


def padded_length(count_max: int, n_days: int, enabled: bool) -> int:
    """Observation slots per pixel of an enabled stream: a whole number of slots per window day,
    ``n_days · ceil(count_max / n_days)`` (at least one per day); 1 for a disabled stream.

    The solver is compiled for its input shapes, so a length that depends only on the window (one slot per
    day covers FAPAR, SMOS passes and a daily SIF overpass) gives every tile of a run the same shapes and
    one compilation, shared through the persistent JAX cache [D]; a tile with more observations per day
    (overlapping TROPOSIF orbits at high latitude) gets the next whole number of slots per day. Padding slots
    are masked and cost a gather each.
    """
    if not enabled:
        return 1
    return n_days * max(1, -(-count_max // n_days))


def build_tile_problem(tile_inputs: dict[str, Path], config: dict, region: str, tile: Tile) -> TileProblem:
    """Read the tile's stores (keys ``forcing``, ``landcover``, ``fapar``, ``sif``, ``smos``) →
    :class:`TileProblem`."""
    missing = [k for k in ("forcing", "landcover", "fapar", "sif", "smos") if k not in tile_inputs]
    if missing:
        raise KeyError(f"tile {tile.name}: missing regridded inputs {missing}")
    stores = {k: read_tile_store(tile_inputs[k], k) for k in ("forcing", "landcover", "fapar", "sif", "smos")}
    return assemble_tile_problem(stores, config, region, tile, source=str(tile_inputs["forcing"]))


def assemble_tile_problem(
    stores: dict, config: dict, region: str, tile: Tile, source: str = "forcing"
) -> TileProblem:
    """:class:`TileProblem` from in-memory store Datasets; absent observation stores give all-masked streams
    (used by the demo-data truth run, which has no observations yet)."""
    lc, fo = stores["landcover"], stores["forcing"]
    start, end, dates, spinup_days = _window(config["period"])
    n_days = dates.size
    max_tiles = int(config.get("assimilation", {}).get("max_tiles", 2))

    frac = lc["fraction"].values[:max_tiles]
    pft = lc["pft"].values[:max_tiles]
    use = lc["land"].values & (frac.sum(0) > 0)
    rows, cols = np.nonzero(use)
    pixel_index = np.full(tile.shape, -1, np.int64)
    pixel_index[rows, cols] = np.arange(rows.size)

    t_native = fo["time"].values
    first = np.searchsorted(t_native, start.astype("datetime64[ns]"))
    if first >= t_native.size or t_native[first] != start or first + n_days * 24 > t_native.size:
        raise ValueError(
            f"{source}: forcing {t_native[0]}..{t_native[-1]} does not cover the window {start}..{end}"
        )
    window = slice(first, first + n_days * 24)
    native = {k: fo[k].values[window] for k in FORCING_KEYS}

    streams_cfg = config.get("streams", {})
    pass_id = 0 if streams_cfg.get("vod", {}).get("pass", "ascending") == "ascending" else 1
    tables: dict[str, StreamTable] = {}

    def members_of(ds):
        return {
            "fp_key": ds["fp_key_m"].values,
            "ix": ds["ix"].values,
            "iy": ds["iy"].values,
            "fp_obs": ds["fp_key"].values,
        }

    for stream in regional_streams(config):
        on = stream_enabled(config, stream)
        ds = stores.get(STREAM_PRODUCTS[stream])
        if ds is None:
            tables[stream] = _masked_table(rows.size, n_days, on)
            continue
        if STREAM_PRODUCTS[stream] == "smos":  # L-VOD and SM share the SMOS store: pass and QC per variable
            on_pass = (ds["obs_key"].values // 1_000_000) % 10 == pass_id
            qc = ds[f"qc_{stream}"].values & on_pass
            cols4 = (
                ds["time"].values,
                np.where(qc, ds[stream].values, np.nan),
                ds[f"{stream}_sigma"].values,
                ds["obs_key"].values,
            )
        else:
            cols4 = (ds["time"].values, ds["value"].values, ds["sigma"].values, ds["obs_key"].values)
        tables[stream] = _stream_table(
            *cols4, members_of(ds), tile, pixel_index, rows.size, start, n_days, on
        )
    return TileProblem(
        tile=tile,
        region=region,
        dates=dates,
        rows=rows.astype(np.int64),
        cols=cols.astype(np.int64),
        pfts=np.where(pft[:, rows, cols] >= 0, pft[:, rows, cols], 0).T.astype(np.int32),
        fractions=frac[:, rows, cols].T.astype(np.float64),
        elevation=lc["elevation"].values[rows, cols],
        w_max=lc["w_max"].values[rows, cols],
        native=native,
        src_index=fo["src_index"].values[rows, cols],
        weight=fo["weight"].values[rows, cols],
        dz=fo["dz"].values[rows, cols],
        streams=tables,
        spinup_days=spinup_days,
    )


def template_problem(config: dict) -> TileProblem:
    """A one-pixel :class:`TileProblem` with the run's batch shapes and constant inputs, for compiling the
    batched programs before any data exist (:mod:`tccas.pipeline.precompile`).

    Its batches have the structure, shapes and dtypes of every tile's batches (window and spin-up days from
    ``period``, ``assimilation.max_tiles`` PFT slots, the all-masked observation slots of a stream without
    data, :func:`padded_length`: one per window day); the values only need to be finite.
    """
    from tccas.config import planned_tiles

    _, _, dates, spinup_days = _window(config["period"])
    n_days = dates.size
    max_tiles = int(config["assimilation"]["max_tiles"])
    region = next(iter(config["regions"]))
    tables = {s: _masked_table(1, n_days, stream_enabled(config, s)) for s in regional_streams(config)}
    typical = {"t_air": 10.0, "pressure": 100_000.0, "vapour_pressure": 1_000.0, "lw_down": 300.0}
    return TileProblem(
        tile=planned_tiles(config, region)[0],
        region=region,
        dates=dates,
        rows=np.zeros(1, np.int64),
        cols=np.zeros(1, np.int64),
        pfts=np.zeros((1, max_tiles), np.int32),
        fractions=np.full((1, max_tiles), 1.0 / max_tiles),
        elevation=np.zeros(1),
        w_max=np.full(1, 100.0),
        native={k: np.full((n_days * 24, 1, 1), typical.get(k, 1.0)) for k in FORCING_KEYS},
        src_index=np.zeros((1, 4), np.int64),
        weight=np.full((1, 4), 0.25),
        dz=np.zeros(1),
        streams=tables,
        spinup_days=spinup_days,
    )
