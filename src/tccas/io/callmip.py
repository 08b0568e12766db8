"""CalLMIP Phase 1b site output files (CalLMIP Phase 1 protocol v2, §6.2–§7 and its template file).

One NetCDF file per site, calibration scenario, Cal/Val experiment and stage, named
``<model>.<version>_Phase1b_Scen<n>_<Site>_<Cal|Val>_<Prior|Posterior>.nc`` (protocol §7; template
``CLASSIC.v2_Phase1b_Scen1_DK-Sor_Cal_Prior.nc``). The model name and version are joined by the only dot of
the name, so the version token carries none: ``0.1.0`` is written ``v0-1-0`` (:func:`version_token`).

Layout (as the protocol's template file, checked by modelevaluation.org on upload):

- daily values on ``time`` = ``days since <first day> 00:00:00``, standard calendar, every day of the
  run including 29 February, stamped at mid-day (0.5, 1.5, …) with ``time_bnds`` [day start, day end];
- every variable ``float64 (time, lat, lon)`` with ``lat`` = ``lon`` = 1, ``_FillValue`` = 1e20 (the CMIP
  missing value) and ``coordinates = "latitude longitude"``; the site position twice, as the scalar
  variables ``lat`` and ``lon`` the protocol asks for and as ``latitude(lat)``, ``longitude(lon)``;
- classic NetCDF-3 format (as the template).

The scalar ``lat``/``lon`` share their names with the dimensions, which xarray refuses to open as is:
:func:`read_callmip` (or ``xarray.open_dataset(path, drop_variables=["lat", "lon"])``) reads the file.

Variables (protocol Table 3 names, long names and units spelt exactly; model_spec units in brackets) are
linear maps of the tccas site run (:data:`VARIABLES`): carbon fluxes [gC m-2 d-1] × 1e-3/86400 →
kgC m-2 s-1, water fluxes [mm d-1 = kg m-2 d-1] / 86400 → kg m-2 s-1, carbon pools [gC m-2] × 1e-3 →
kg m-2, soil water [mm] → kg m-2. Sign: ``nep = −NEE`` (positive into the land). The protocol's
``evspsblsoi`` includes sublimation: soil evaporation + snow sublimation. Above-ground live biomass
``cLiveBioAbove = C_fol + f_ag C_woo``: the DALEC wood pool holds stems, branches and coarse roots
(Williams et al. 2005, Glob. Change Biol. 11, 89–105), and ``f_ag = 1/(1 + R/S)`` with the mean forest
root:shoot ratio R/S = 0.26 (Cairns et al. 1997, Oecologia 111, 1–11) gives f_ag ≈ 0.79
(:data:`ABOVE_GROUND_WOOD_FRACTION`). ``mrso`` is the root-zone plus surface-layer water the model carries
(plant-available water, i.e. above the wilting point) and ``mrsos`` the model's surface layer (z_s = 5 cm,
model_spec §3.9), not the protocol's 10 cm. Not written, since the D&B model has no such output: ``ts``
(skin temperature) and ``hfg`` (ground heat flux, "only if your model outputs this variable").

Posterior files carry ``<name>_post_unc`` (protocol §6.2), the 1-σ of the run's ``<var>_sigma`` in the same
units, for every variable that maps one run variable (a sum of several has no σ without their covariance).
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import netCDF4
import numpy as np
import pandas as pd
import xarray as xr

import tccas
from tccas.io._util import atomic_path
from tccas.io.errors import CorruptFileError, MissingFieldError

PHASE = "Phase1b"
#: File-name token → ``Cal_Val`` attribute (protocol §6.3).
PERIODS: dict[str, str] = {"Cal": "Calibration", "Val": "Validation"}
KINDS: tuple[str, ...] = ("Prior", "Posterior")
FILL_VALUE = 1.0e20
#: Share of the DALEC wood pool above ground, 1/(1 + 0.26) (Cairns et al. 1997; module docstring).
ABOVE_GROUND_WOOD_FRACTION = 1.0 / 1.26
#: Global attributes the protocol requires (§6.3), checked by :func:`read_callmip`.
REQUIRED_ATTRS: tuple[str, ...] = (
    "Model",
    "CalLMIP_Phase",
    "Calibration_Scenario",
    "Calibration_stage",
    "Cal_Val",
)

_CARBON_FLUX = 1.0e-3 / 86400.0  # gC m-2 d-1 → kgC m-2 s-1
_WATER_FLUX = 1.0 / 86400.0  # mm d-1 = kg m-2 d-1 → kg m-2 s-1
_POOL = 1.0e-3  # gC m-2 → kg m-2
#: Units of the tccas site-run variables the writer reads (tccas.site.run.RUN_VARIABLES).
RUN_UNITS: dict[str, str] = {
    **dict.fromkeys(("gpp", "ra", "rh", "reco", "nee"), "gC m-2 d-1"),
    **dict.fromkeys(("et", "transpiration", "evap_soil", "evap_interception", "sublimation"), "mm d-1"),
    **dict.fromkeys(("le", "h"), "W m-2"),
    "lai": "m2 m-2",
    **dict.fromkeys(("c_lab", "c_fol", "c_roo", "c_woo", "c_lit", "c_som"), "gC m-2"),
    **dict.fromkeys(("w_root", "w_surface"), "mm"),
}
_TOKEN = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class CallmipVariable:
    """One output variable: ``Σ factor × run[var]`` over ``terms``, with its CF/CMIP metadata."""

    name: str
    terms: tuple[tuple[str, float], ...]
    units: str
    long_name: str
    standard_name: str | None = None
    comment: str | None = None
    flux: bool = True


def variables(above_ground_wood_fraction: float = ABOVE_GROUND_WOOD_FRACTION) -> tuple[CallmipVariable, ...]:
    """The output variables (module docstring); ``cLiveBioAbove`` with the given above-ground wood share."""
    if not 0.0 <= above_ground_wood_fraction <= 1.0:
        raise ValueError(f"above_ground_wood_fraction must lie in [0, 1], got {above_ground_wood_fraction}")
    f_ag = float(above_ground_wood_fraction)
    c, w = _CARBON_FLUX, _WATER_FLUX
    nep_std = (
        "surface_net_downward_mass_flux_of_carbon_dioxide_expressed_as_carbon_due_to_all_land_processes_"
        "excluding_anthropogenic_land_use_change"
    )
    return (
        CallmipVariable("nep", (("nee", -c),), "kgC m-2 s-1", "Net ecosystem productivity", nep_std,
                        "nep = -NEE = GPP - Ra - Rh; positive flux is into the land"),
        CallmipVariable("hfls", (("le", 1.0),), "W m-2", "Latent heat flux",
                        "surface_upward_latent_heat_flux"),
        CallmipVariable("hfss", (("h", 1.0),), "W m-2", "Sensible heat flux",
                        "surface_upward_sensible_heat_flux"),
        CallmipVariable("gpp", (("gpp", c),), "kgC m-2 s-1", "Gross primary production",
                        "gross_primary_productivity_of_biomass_expressed_as_carbon"),
        CallmipVariable("reco", (("reco", c),), "kgC m-2 s-1", "Total ecosystem respiration", None,
                        "reco = ra + rh"),
        CallmipVariable("ra", (("ra", c),), "kgC m-2 s-1", "Autotrophic respiration"),
        CallmipVariable("rh", (("rh", c),), "kgC m-2 s-1", "Heterotrophic respiration"),
        CallmipVariable("tran", (("transpiration", w),), "kg m-2 s-1", "Transpiration", "transpiration_flux"),
        CallmipVariable("evspsblsoi", (("evap_soil", w), ("sublimation", w)), "kg m-2 s-1",
                        "Evaporation from soil", "water_evaporation_flux_from_soil",
                        "soil evaporation + snow sublimation (includes sublimation, CalLMIP Table 3)"),
        CallmipVariable("evspsblveg", (("evap_interception", w),), "kg m-2 s-1", "Evaporation from canopy",
                        "water_evaporation_flux_from_canopy", "evaporation of intercepted water"),
        CallmipVariable("evspsbl", (("et", w),), "kg m-2 s-1",
                        "Evaporation including sublimation and transpiration",
                        "water_evapotranspiration_flux"),
        CallmipVariable("lai", (("lai", 1.0),), "1", "Leaf area index", "leaf_area_index", flux=False),
        CallmipVariable("cVeg", (("c_lab", _POOL), ("c_fol", _POOL), ("c_roo", _POOL), ("c_woo", _POOL)),
                        "kg m-2", "Carbon mass in vegetation", "vegetation_carbon_content",
                        "labile + foliage + fine roots + wood (DALEC2 pools)", flux=False),
        CallmipVariable("cLiveBioAbove", (("c_fol", _POOL), ("c_woo", _POOL * f_ag)), "kg m-2",
                        "Carbon mass in all aboveground live Biomass pools", None,
                        f"cLeaf + cStem = C_fol + {f_ag:.4f} C_woo (above-ground share of the DALEC wood "
                        "pool, 1/(1 + root:shoot 0.26), Cairns et al. 1997)", flux=False),
        CallmipVariable("cLitter", (("c_lit", _POOL),), "kg m-2", "Carbon mass in litter pool",
                        "litter_mass_content_of_carbon", flux=False),
        CallmipVariable("cSoil", (("c_som", _POOL),), "kg m-2", "Carbon mass in all soil pools",
                        "soil_mass_content_of_carbon", "soil organic matter pool (litter in cLitter)",
                        flux=False),
        CallmipVariable("mrso", (("w_root", 1.0), ("w_surface", 1.0)), "kg m-2",
                        "Total soil column moisture content", "mass_content_of_water_in_soil",
                        "root-zone + surface-layer water of the model (plant-available water, above the "
                        "wilting point)", flux=False),
        CallmipVariable("mrsos", (("w_surface", 1.0),), "kg m-2", "Moisture in upper portion of soil column",
                        "mass_content_of_water_in_soil_layer",
                        "the model's surface soil layer (0-5 cm), not 0-10 cm", flux=False),
    )  # fmt: skip


def version_token(version: str) -> str:
    """The dot-free ``<model_version>`` token of the file name and ``Model`` attribute: ``0.1.0`` → ``v0-1-0``
    (a leading ``v`` is kept once); letters, digits and hyphens only."""
    v = str(version).strip()
    token = "v" + (v[1:] if v[:1] in ("v", "V") else v).replace(".", "-")
    if not _TOKEN.match(token):
        raise ValueError(
            f"CalLMIP model version {version!r} gives the token {token!r}: use letters, digits, '.', '-'"
        )
    return token


def callmip_filename(model: str, version: str, scenario: int, site: str, period: str, kind: str) -> str:
    """``<model>.<version token>_Phase1b_Scen<n>_<Site>_<Cal|Val>_<Prior|Posterior>.nc`` (protocol §7)."""
    if not _TOKEN.match(model or ""):
        raise ValueError(f"CalLMIP model name {model!r}: letters, digits and '-' only (no '.' or '_')")
    if not _TOKEN.match(site or ""):
        raise ValueError(f"CalLMIP site {site!r}: a FLUXNET code such as 'FR-Pue' (letters, digits, '-')")
    if period not in PERIODS:
        raise ValueError(f"CalLMIP period {period!r} is not one of {tuple(PERIODS)}")
    if kind not in KINDS:
        raise ValueError(f"CalLMIP stage {kind!r} is not one of {KINDS}")
    if isinstance(scenario, bool) or not isinstance(scenario, int | np.integer) or scenario < 1:
        raise ValueError(f"CalLMIP calibration scenario must be a positive integer, got {scenario!r}")
    return f"{model}.{version_token(version)}_{PHASE}_Scen{int(scenario)}_{site}_{period}_{kind}.nc"


def _daily_axis(run: xr.Dataset) -> pd.DatetimeIndex:
    if "time" not in run.coords:
        raise ValueError("CalLMIP output: the site run has no 'time' coordinate")
    time = pd.DatetimeIndex(run["time"].values)
    if time.size == 0:
        raise ValueError("CalLMIP output: the site run has no day")
    if not (time == time.normalize()).all():
        raise ValueError(
            f"CalLMIP output: the run's time axis must hold whole days (00:00), got e.g. {time[0]}"
        )
    steps = np.diff(time.values).astype("timedelta64[D]").astype(np.int64)
    if steps.size and not (steps == 1).all():
        k = int(np.argmax(steps != 1))
        raise ValueError(
            f"CalLMIP output: the run must cover every day (leap days included); {time[k].date()} is "
            f"followed by {time[k + 1].date()}"
        )
    return time


def _site_attr(run: xr.Dataset, key: str) -> float:
    value = run.attrs.get(key)
    if value is None or not np.isfinite(float(value)):
        raise ValueError(f"CalLMIP output: the site run has no {key!r} attribute (site position)")
    return float(value)


def _check_units(run: xr.Dataset, names: set[str]) -> None:
    missing = sorted(n for n in names if n not in run)
    if missing:
        raise ValueError(f"CalLMIP output: the site run lacks the variables {missing}")
    for n in sorted(names):
        for var in (n, f"{n}_sigma"):
            if var in run and "units" in run[var].attrs and run[var].attrs["units"] != RUN_UNITS[n]:
                raise ValueError(
                    f"CalLMIP output: run variable {var!r} has units {run[var].attrs['units']!r}, "
                    f"expected {RUN_UNITS[n]!r}"
                )


def _values(run: xr.Dataset, terms, n: int) -> np.ndarray:
    total = np.zeros(n)
    for var, factor in terms:
        values = np.asarray(run[var].values, dtype=np.float64)
        if values.shape != (n,):
            raise ValueError(
                f"CalLMIP output: run variable {var!r} has shape {values.shape}, expected ({n},)"
            )
        total = total + factor * values
    return total


def _global_attrs(run, *, model, version, scenario, site, period, kind, contact, institution, time, now):
    token = version_token(version)
    first, last = time[0].date().isoformat(), time[-1].date().isoformat()
    history = (
        f"{now}: written by tccas.io.callmip.write_callmip (tccas {tccas.__version__}) from the "
        f"{run.attrs.get('run', kind.lower())} run of site {site}"
    )
    if run.attrs.get("history"):
        history += f"\n{run.attrs['history']}"
    attrs = {
        "Model": f"{model}.{token}",
        "CalLMIP_Phase": PHASE,
        "Calibration_Scenario": f"Scen{int(scenario)}",
        "Calibration_stage": kind,
        "Cal_Val": PERIODS[period],
        "title": f"{model} {kind.lower()} simulation of {site}, CalLMIP {PHASE} Scen{int(scenario)} "
        f"{PERIODS[period]}",
        "Conventions": "CF-1.8",
        "experiment": f"CalLMIP {PHASE} {PERIODS[period]}",
        "model_name": model,
        "model_version": str(version),
        "source": f"tccas {tccas.__version__}: D&B land model (DALEC2 carbon + BETHY water/energy) in JAX",
        "tccas_version": tccas.__version__,
        "institution": institution,
        "contact": contact,
        "site": site,
        "latitude": _site_attr(run, "lat"),
        "longitude": _site_attr(run, "lon"),
        "period": f"{first} to {last}",
        "time_coverage_start": first,
        "time_coverage_end": last,
        "frequency": "day",
        "creation_date": now,
        "history": history,
        "references": "CalLMIP Phase 1 protocol v2 (callmip-org/Phase1); https://tccas.inversion-lab.com",
    }
    if run.attrs.get("pft") is not None:
        pft = run.attrs["pft"]
        attrs["pft"] = pft if isinstance(pft, str) else ", ".join(str(p) for p in np.atleast_1d(pft))
    if run.attrs.get("elevation") is not None:
        attrs["elevation"] = float(run.attrs["elevation"])
    return {k: (v if isinstance(v, float) else str(v)) for k, v in attrs.items()}


def _write_variables(nc, fields: Mapping[str, tuple[np.ndarray, dict]]) -> None:
    for name, (values, attrs) in fields.items():
        var = nc.createVariable(name, "f8", ("time", "lat", "lon"), fill_value=FILL_VALUE)
        var.setncatts({**attrs, "missing_value": FILL_VALUE, "coordinates": "latitude longitude"})
        var[:] = np.ma.masked_invalid(values)[:, None, None]


def write_callmip(
    directory: str | Path,
    run: xr.Dataset,
    *,
    model: str = "tccas",
    version: str = tccas.__version__,
    scenario: int,
    site: str,
    period: str,
    kind: str,
    contact: str = "tccas developers (https://tccas.inversion-lab.com)",
    institution: str = "tccas developers",
    above_ground_wood_fraction: float = ABOVE_GROUND_WOOD_FRACTION,
) -> Path:
    """Write the CalLMIP Phase 1b file of one daily site ``run`` into ``directory`` and return its path.

    ``run``: the daily :class:`xarray.Dataset` of a site run (tccas names and units, :data:`RUN_UNITS`;
    attributes ``lat``, ``lon`` and optionally ``site``, ``pft``, ``elevation``, ``run``, ``history``), every
    day of the simulated period; ``period`` ``"Cal"``/``"Val"``; ``kind`` ``"Prior"``/``"Posterior"`` (must
    agree with the run's ``run`` attribute where it has one); ``scenario`` the calibration scenario number.
    The file (module docstring) is written atomically: a temporary sibling renamed into place when complete,
    nothing left behind on error.
    """
    name = callmip_filename(model, version, scenario, site, period, kind)
    if "site" in run.attrs and str(run.attrs["site"]) != site:
        raise ValueError(f"CalLMIP output: site {site!r} differs from the run's site {run.attrs['site']!r}")
    stage = str(run.attrs.get("run", kind)).lower()
    if stage != kind.lower():
        raise ValueError(f"CalLMIP output: a {kind} file cannot hold the {stage!r} run")
    specs = variables(above_ground_wood_fraction)
    _check_units(run, {var for spec in specs for var, _ in spec.terms})
    time = _daily_axis(run)
    n = time.size
    fields: dict[str, tuple[np.ndarray, dict]] = {}
    for spec in specs:
        attrs = {"long_name": spec.long_name, "units": spec.units}
        if spec.standard_name:
            attrs["standard_name"] = spec.standard_name
        if spec.flux:
            attrs["cell_methods"] = "time: mean"
        if spec.comment:
            attrs["comment"] = spec.comment
        attrs["tccas_source"] = " + ".join(f"{factor:.6g} {var}" for var, factor in spec.terms)
        fields[spec.name] = (_values(run, spec.terms, n), attrs)
    if kind == "Posterior":
        for spec in specs:
            (var, factor), *rest = spec.terms
            if rest or f"{var}_sigma" not in run:
                continue
            sigma = abs(factor) * _values(run, ((f"{var}_sigma", 1.0),), n)
            fields[f"{spec.name}_post_unc"] = (
                sigma,
                {
                    "long_name": f"Posterior uncertainty (1 sigma) of {spec.long_name.lower()}",
                    "units": spec.units,
                    "comment": "linear propagation of the posterior control covariance (tccas site mode)",
                },
            )
    now = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs = _global_attrs(
        run,
        model=model,
        version=version,
        scenario=scenario,
        site=site,
        period=period,
        kind=kind,
        contact=contact,
        institution=institution,
        time=time,
        now=now,
    )
    path = Path(directory) / name
    with atomic_path(path) as tmp, netCDF4.Dataset(tmp, "w", format="NETCDF3_CLASSIC") as nc:
        nc.setncatts(attrs)
        nc.createDimension("time", n)
        nc.createDimension("lat", 1)
        nc.createDimension("lon", 1)
        nc.createDimension("bnds", 2)
        t = nc.createVariable("time", "f8", ("time",))
        t.setncatts(
            {
                "standard_name": "time",
                "long_name": "time",
                "units": f"days since {time[0].date().isoformat()} 00:00:00",
                "calendar": "standard",
                "axis": "T",
                "bounds": "time_bnds",
            }
        )
        days = np.arange(n, dtype=np.float64)
        t[:] = days + 0.5
        nc.createVariable("time_bnds", "f8", ("time", "bnds"))[:] = np.stack([days, days + 1.0], axis=1)
        for scalar, dim, value, units, long in (
            ("lat", "latitude", attrs["latitude"], "degrees_north", "latitude"),
            ("lon", "longitude", attrs["longitude"], "degrees_east", "longitude"),
        ):
            v = nc.createVariable(scalar, "f8", ())
            v.setncatts({"units": units, "long_name": long, "standard_name": long})
            v.assignValue(value)
            c = nc.createVariable(dim, "f8", (scalar,))
            c.setncatts({"units": units, "long_name": long, "standard_name": long})
            c[:] = [value]
        _write_variables(nc, fields)
    return path


def read_callmip(path: str | Path) -> xr.Dataset:
    """Read a CalLMIP Phase 1b output file (this writer's or another model's with the template layout) into
    an :class:`xarray.Dataset` with decoded time, ``latitude``/``longitude`` coordinates and the scalar
    ``lat``/``lon`` dropped (module docstring); the required global attributes are checked."""
    path = Path(path)
    if not path.is_file():
        raise CorruptFileError(path, "", "file does not exist")
    with path.open("rb") as f:
        magic = f.read(4)
    # classic files through scipy, whose reader fails on a truncated file (netCDF-C reads zeros past the end)
    engine = "scipy" if magic[:3] == b"CDF" else "netcdf4"
    try:
        with xr.open_dataset(path, engine=engine, drop_variables=["lat", "lon"]) as ds:
            ds = ds.load()
    except Exception as err:  # any failure of the header or data parser: the file is unusable
        raise CorruptFileError(path, "", f"not a readable NetCDF file ({err})") from err
    for key in REQUIRED_ATTRS:
        if key not in ds.attrs:
            raise MissingFieldError(path, key, "global attribute required by the CalLMIP protocol (§6.3)")
    if "time" not in ds.coords:
        raise MissingFieldError(path, "time", "a CalLMIP output file needs a daily time axis")
    return ds
