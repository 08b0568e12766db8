"""SMEAR II Hyytiälä (FI-Hyy) daily text reader (``HydeDaily<start>-<end>.txt``, card ``smear_hyde_daily``).

Layout (``HydeDaily_readme.txt``; Kolari et al. 2009, Boreal Env. Res. 14, 761 for the gap-filling and the
NEE partitioning): no header, whitespace-separated, 38 numeric columns, one row per day, ``NaN`` = missing.
Conversions to the canonical variables:

- NEE, GPP, TER [gC m-2 d-1] → ``nee`` (positive = source), ``gpp``, ``reco``; ET [mm d-1] → ``et``;
  H (daily mean, W m-2; the readme's "W d-1" is a typo) → ``h``;
- the gap-fill fractions NEEflag, ETflag, Hflag f → ``nee_qc``, ``et_qc``, ``h_qc`` = 1 − min(max(f, 0), 1)
  (fraction of measured records; f exceeds 1 on 16 days of 2007 and is clipped);
- PAR [umol m-2 s-1, daily mean] → ``par``; ``sw_down`` [W m-2] = PAR / 2.04 umol J-1, the generalised
  PAR–global-radiation ratio of Meek et al. (1984, Agron. J. 76, 939), equivalent to a PAR energy fraction
  of 0.447 with 4.56 umol J-1 for daylight PAR (McCree 1972, Agric. Meteorol. 10, 443). Against the
  DifferLand SSRD of FI-Hyy (2006–2010) the site's PAR / SW ratio is 1.96 umol J-1, so this estimate is
  about 4 % low there;
- Rnet → ``rnet``; Tair → ``t_mean`` [degC] (no daily extremes in the file); VPD [kPa] × 1000 → ``vpd``
  [Pa]; CO2 → ``co2_local`` [ppm]; wind → ``wind``; column 21 pressure [hPa, although the readme says
  kPa] × 100 → ``pressure`` [Pa]; SWC of the A-horizon (the first mineral layer) → ``swc`` [m3 m-3];
- ``precip`` [mm d-1] = the SMEAR II gauge (column 18), on its missing days the FMI Hyytiälä station
  (column 19); ``precip_qc`` = 1 for the SMEAR II gauge, 0 where the FMI value is used.

``time`` is the day from columns 1–3 (DOY, column 4, is checked against it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tccas.io.cards import load_card
from tccas.io.errors import SchemaMismatchError
from tccas.io.flux._common import (
    build_dataset,
    check_range,
    convert,
    read_text,
    split_rows,
    to_numeric,
    var_attrs,
)
from tccas.io.flux.sites import site_attrs

PAR_PER_SW = 2.04  # umol J-1, PAR photons per joule of global radiation (Meek et al. 1984)


def _dates(values: np.ndarray, path: Path, lines: np.ndarray) -> np.ndarray:
    """Days from columns 1-3 (yyyy, mm, dd); invalid, non-increasing or DOY-inconsistent rows raise."""
    parts = pd.DataFrame({"year": values[:, 0], "month": values[:, 1], "day": values[:, 2]})
    stamps = pd.to_datetime(parts, errors="coerce")
    bad = stamps.isna().to_numpy()
    if bad.any():
        k = int(np.argmax(bad))
        raise SchemaMismatchError(
            path, "yyyy/mm/dd", f"invalid date {values[k, :3].tolist()} at line {int(lines[k])}"
        )
    out = stamps.to_numpy().astype("datetime64[D]")
    if out.size > 1 and np.any(np.diff(out) <= np.timedelta64(0, "D")):
        k = int(np.argmax(np.diff(out) <= np.timedelta64(0, "D"))) + 1
        raise SchemaMismatchError(path, "yyyy/mm/dd", f"dates not increasing at line {int(lines[k])}")
    doy = (out - out.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64) + 1
    if np.any(values[:, 3] != doy):
        k = int(np.argmax(values[:, 3] != doy))
        raise SchemaMismatchError(
            path, "doy", f"doy {values[k, 3]:g} does not match {out[k]} at line {int(lines[k])}"
        )
    return out


def read_smear_daily(path):
    """Read the SMEAR II ``HydeDaily`` file into a canonical daily dataset (module docstring)."""
    path = Path(path)
    card = load_card("smear_hyde_daily")
    table = card.extra["table"]
    columns = {int(k): v for k, v in table["columns"].items()}
    labels = [columns[k]["label"] for k in range(1, table["n_columns"] + 1)]
    rows, line_numbers = split_rows(read_text(path), labels, path, sep=None, first_line=1)
    values = to_numeric(rows, labels, path, line_numbers)
    days = _dates(values, path, line_numbers)

    raw: dict[str, np.ndarray] = {}
    for k, spec in columns.items():
        name = spec.get("name")
        if name is None:
            continue
        col = values[:, k - 1]
        if name.endswith("_qc"):
            raw[name] = 1.0 - np.clip(col, 0.0, 1.0)
            continue
        target = "mm d-1" if name == "precip_fmi" else var_attrs(name, daily=True)["units"]
        raw[name] = convert(col, spec["units"], target)
        if name in table["valid"]:
            check_range(raw[name], *table["valid"][name], path, spec["label"], line_numbers)

    gauge = np.isfinite(raw["precip"])
    raw["precip_qc"] = np.where(gauge, 1.0, np.where(np.isfinite(raw["precip_fmi"]), 0.0, np.nan))
    raw["precip"] = np.where(gauge, raw["precip"], raw.pop("precip_fmi"))
    raw["sw_down"] = raw["par"] / PAR_PER_SW
    notes = {
        "sw_down": "PAR / 2.04 umol J-1 (Meek et al. 1984, Agron. J. 76, 939)",
        "precip": "SMEAR II gauge; FMI Hyytiala station on the gauge's missing days (precip_qc = 0)",
        "precip_qc": "1 = SMEAR II gauge, 0 = FMI Hyytiala station value",
        "nee_qc": "1 - NEEflag (fraction gap-filled, clipped to 0..1)",
        "pressure": "column 21 in hPa (the readme says kPa) x 100",
        "swc": "A-horizon soil water content",
        "co2_local": "SMEAR II tower CO2, not the global background",
    }
    attrs = site_attrs(card.extra["site"])
    attrs.update(resolution="DD", source=str(path), reader="tccas.io.flux.read_smear_daily")
    return build_dataset(days, raw, daily=True, attrs=attrs, notes=notes)
