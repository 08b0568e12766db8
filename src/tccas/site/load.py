"""Building a :class:`~tccas.site.data.SiteData` from a site's files (through :mod:`tccas.io.flux`).

- **Drivers** (meteorology) by file type: ``*.csv`` FLUXNET2015/ONEFlux FULLSET (HH, HR or DD),
  ``*.txt`` SMEAR II daily, ``*_Flux.nc`` CalLMIP flux files (no meteorology: refused as drivers), any other
  ``*.nc`` CARDAMOM/DifferLand daily drivers. Sub-daily drivers become hourly forcing by hour means
  (:func:`tccas.site.forcing.hourly_forcing`); daily drivers are disaggregated
  (:func:`tccas.site.forcing.disaggregate_daily`).
- **CO2**: the annual global series (CalLMIP / TRENDY) interpolated to days — tower CO2 is a local
  concentration with a diurnal and seasonal cycle that the model's leaf-level CO2 should not see (NL-Loo
  winter values reach 540 ppm), so the readers keep it as ``co2_local`` and it is never used.
- **Observations**: each daily variable (nee, gpp, reco, le, h, et, lai and their ``_unc``) comes, day by
  day, from the first of ``fluxes`` that has a value that day, then from the drivers file (e.g. FR-Pue: the
  CalLMIP measured NEE where it exists, DifferLand's gap-filled tower NEE on the other days; the
  ``observation_sources`` attribute counts the days of each source); sub-daily files are aggregated to
  local days first (:func:`tccas.io.flux.aggregate_daily`). Where a site reports ET but no LE (the
  DifferLand drivers), LE = λ(T̄) ET / 86 400 s on the days without a measured LE, with the model's λ
  (``tccas.model.met.latent_heat``), so the LE stream and the model's LE use one conversion; ET from LE the
  same way.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from tccas import __version__, model
from tccas.io import flux
from tccas.model.met import latent_heat
from tccas.site.data import SiteData
from tccas.site.forcing import disaggregate_daily, hourly_forcing

#: Daily observation variables a site may carry (each with ``<var>_unc``).
OBS_VARIABLES = ("nee", "gpp", "reco", "le", "h", "et", "lai")
SECONDS_PER_DAY = 86_400.0


def read_site_file(path) -> xr.Dataset:
    """Read a driver or flux file with the reader its type names (module docstring)."""
    path = Path(path)
    name = path.name
    if name.endswith(".csv"):
        return flux.read_fluxnet(path)
    if name.endswith(".txt"):
        return flux.read_smear_daily(path)
    if name.endswith("_Flux.nc"):
        return flux.read_callmip_flux(path)
    if name.endswith(".nc"):
        return flux.read_cardamom_drivers(path)
    raise ValueError(f"{path}: unknown site file type (expected .csv, .txt or .nc)")


def _daily(ds: xr.Dataset) -> xr.Dataset:
    return ds if ds.attrs.get("resolution") == "DD" else flux.aggregate_daily(ds)


def _observations(
    dates: np.ndarray, sources: list[xr.Dataset], t_mean: np.ndarray
) -> tuple[xr.Dataset, dict]:
    """Daily observations on ``dates`` from the first source that has each variable (module docstring)."""
    time = dates.astype("datetime64[ns]")
    on_dates = [
        ds.assign_coords(time=ds["time"].values.astype("datetime64[D]").astype("datetime64[ns]")).reindex(
            time=time
        )
        for ds in sources
    ]
    data, origin = {}, {}
    for var in OBS_VARIABLES:
        value = np.full(dates.size, np.nan)
        unc = np.full(dates.size, np.nan)
        for ds, d in zip(sources, on_dates, strict=True):
            if var not in d:
                continue
            take = ~np.isfinite(value) & np.isfinite(d[var].values)
            if take.any():
                value[take] = d[var].values[take]
                if f"{var}_unc" in d:
                    unc[take] = d[f"{var}_unc"].values[take]
                origin.setdefault(var, []).append(f"{ds.attrs.get('source', '')} ({int(take.sum())} d)")
        if np.isfinite(value).any():
            data[var], data[f"{var}_unc"] = value, unc
            origin[var] = " + ".join(origin[var])
    lam = np.asarray(latent_heat(t_mean))
    _fill_from(data, origin, "le", "et", lam / SECONDS_PER_DAY, "ET × λ(T)")
    _fill_from(data, origin, "et", "le", SECONDS_PER_DAY / lam, "LE / λ(T)")
    units = {"nee": "gC m-2 d-1", "gpp": "gC m-2 d-1", "reco": "gC m-2 d-1", "le": "W m-2", "h": "W m-2"}
    units.update(et="mm d-1", lai="m2 m-2")
    obs = xr.Dataset(
        {k: ("time", v, {"units": units[k.removesuffix("_unc")]}) for k, v in data.items()},
        coords={"time": dates},
    )
    return obs, origin


def _fill_from(data: dict, origin: dict, var: str, other: str, factor, how: str) -> None:
    """Fill the days of ``var`` without a value from ``other`` × ``factor`` (LE ↔ ET)."""
    if other not in data:
        return
    value = data.get(var, np.full(data[other].shape, np.nan))
    unc = data.get(f"{var}_unc", np.full(data[other].shape, np.nan))
    take = ~np.isfinite(value) & np.isfinite(data[other])
    if take.any():
        value, unc = value.copy(), unc.copy()
        value[take] = data[other][take] * factor[take]
        unc[take] = data[f"{other}_unc"][take] * factor[take]
        data[var], data[f"{var}_unc"] = value, unc
        origin[var] = " + ".join(p for p in (origin.get(var), f"{how} ({int(take.sum())} d)") if p)


def load_site(
    site_id: str,
    drivers,
    *,
    co2,
    fluxes=(),
    pfts=None,
    w_max: float | None = None,
    start: str | None = None,
    end: str | None = None,
) -> SiteData:
    """Load a flux-tower site (module docstring).

    ``site_id`` must be in the site table (:func:`tccas.io.flux.site_info`: location, UTC offset, default
    PFT mix); ``drivers`` the meteorology file; ``co2`` the CO2 series file
    (:func:`tccas.io.flux.read_co2_series`); ``fluxes`` tower flux files in order of preference; ``pfts``
    ``[(name, fraction), …]`` (default the site table's); ``w_max`` the plant-available water capacity
    [mm] (default 225 mm, model_spec §4.4); ``start``/``end`` restrict the record (inclusive ISO dates).
    """
    info = flux.site_info(site_id)
    met = read_site_file(drivers)
    co2_series = flux.read_co2_series(co2)
    if met.attrs.get("resolution") == "DD":
        forcing = disaggregate_daily(met, co2_ppm=co2_series)
    else:
        forcing = hourly_forcing(met, co2_ppm=co2_series)
    dates = (model.forcing.EPOCH + np.asarray(forcing.day_number).astype(np.int64)).astype("datetime64[D]")
    sources = [_daily(read_site_file(f)) for f in fluxes] + [_daily(met)]
    obs, origin = _observations(dates, sources, np.mean(np.asarray(forcing.t_air), axis=1))
    mix = list(pfts) if pfts else list(info["pfts"])
    site = model.default_site(info["lat"], info["lon"], info["elevation"])
    if w_max is not None:
        site = site._replace(w_max=np.float64(w_max))
    attrs = {
        "site": site_id,
        "lat": float(info["lat"]),
        "lon": float(info["lon"]),
        "elevation": float(info["elevation"]),
        "igbp": str(info.get("igbp", "")),
        "pft": ",".join(name for name, _ in mix),
        "pft_fractions": ",".join(f"{f:g}" for _, f in mix),
        "drivers": str(drivers),
        "fluxes": ";".join(str(f) for f in fluxes),
        "co2": str(co2),
        "observation_sources": "; ".join(f"{k}: {v}" for k, v in origin.items()),
        "tccas_version": __version__,
    }
    sd = SiteData(
        site_id=site_id,
        dates=dates,
        forcing=forcing,
        obs=obs,
        pfts=tuple(model.PFT_NAMES.index(name) for name, _ in mix),
        fractions=tuple(float(f) for _, f in mix),
        site=site,
        attrs=attrs,
    )
    if start is not None or end is not None:
        sd = sd.between(start or str(dates[0]), end or str(dates[-1]))
    return sd


def load_configured_site(config: dict, site_id: str) -> SiteData:
    """:func:`load_site` for ``site_id`` of a validated site config (paths relative to ``data_root``)."""
    root = Path(config["data_root"])
    entry = config["sites"][site_id]

    def resolve(p):
        return p if Path(p).is_absolute() else root / p

    return load_site(
        site_id,
        resolve(entry["drivers"]),
        fluxes=[resolve(f) for f in entry.get("fluxes", [])],
        co2=resolve(config["co2"]),
        pfts=[tuple(p) for p in entry["pfts"]] if entry.get("pfts") else None,
        w_max=entry.get("w_max"),
        start=entry.get("start"),
        end=entry.get("end"),
    )


def from_tile_pixel(config: dict, region: str, tile: str, lon: float, lat: float) -> SiteData:
    """The pixel of a regional tile nearest to (``lon``, ``lat``) [deg] as a :class:`SiteData`, from the
    tile's regridded inputs of a finished (or partly finished) regional run of the validated ``config``
    (``outputs.root/regrid/<region>/<tile>/``): its downscaled hourly forcing, PFT tiles, site and EO
    observation streams (no tower data). Run it with the regional settings,
    ``tccas.pipeline.assimilate.assimilation_settings(config)``. Differences from the tile job, by design: the
    footprint representativeness error σ_repr of coarse observations is 0 (the tile job estimates it from
    the prior equivalents of the footprint's other pixels), and the spin-up recycles the first
    ``spinup_years`` of the window like every site run.
    """
    from tccas.grid import tile_from_name
    from tccas.pipeline.assimilate import tile_input_paths
    from tccas.pipeline.problem import build_tile_problem

    tp = build_tile_problem(
        tile_input_paths(config["outputs"]["root"], region, tile),
        config,
        region,
        tile_from_name(tile, config["grid"]["resolution_m"]),
    )
    plon, plat = tp.lonlat()
    coslat = np.cos(np.deg2rad(lat))
    idx = int(np.argmin(((plon - lon) * coslat) ** 2 + (plat - lat) ** 2))
    pp = tp.batch(np.array([idx]))

    def first(tree):
        return type(tree)(*(np.asarray(a)[0] for a in tree))

    n_fr = int(np.sum(pp.fractions[0] > 0))
    pfts = tuple(int(p) for p in pp.pfts[0][:n_fr])
    names = ",".join(model.PFT_NAMES[p] for p in pfts)
    attrs = {
        "site": f"{region}/{tile}/pixel{idx}",
        "lat": float(plat[idx]),
        "lon": float(plon[idx]),
        "elevation": float(tp.elevation[idx]),
        "pft": names,
        "pft_fractions": ",".join(f"{f:g}" for f in pp.fractions[0][:n_fr]),
        "region": region,
        "tile": tile,
        "tccas_version": __version__,
    }
    return SiteData(
        site_id=attrs["site"],
        dates=tp.dates.astype("datetime64[D]"),
        forcing=first(pp.forcing),
        obs=xr.Dataset(coords={"time": tp.dates.astype("datetime64[D]")}),
        pfts=pfts,
        fractions=tuple(float(f) for f in pp.fractions[0][:n_fr]),
        site=first(pp.site),
        attrs=attrs,
        streams={s: first(o) for s, o in pp.obs.items()},
    )
