"""Site forcing reader: the real JULES ``point_loobos`` 30-min file → hourly ``tccas.model.Forcing``.

Layout and units come from the ``loobos_site`` card (5 ``#`` header lines, 8 whitespace-separated
columns: SW↓, LW↓ [W m-2], rain and snow rates [kg m-2 s-1], air temperature [K], wind [m s-1],
pressure [Pa], specific humidity [kg kg-1]; 30-min records from 1997-01-01 00:00 UTC). Hourly values are
the means of the two half-hours ``[h, h+½)`` and ``[h+½, h+1)`` (the model's hour ``h``, model_spec Forcing):

- precipitation [mm h-1] = (rain + snow) rate × 3600 (1 kg m-2 = 1 mm);
- vapour pressure [Pa] = q·p / (0.622 + 0.378·q) (exact inversion of q = 0.622 e / (p − 0.378 e));
- t_air [°C] = T − 273.15; CO2 from the card (site-year global mean).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tccas.io.cards import load_card
from tccas.io.errors import CorruptFileError, SchemaMismatchError

EPS = 0.622  # ratio of molar masses water/dry air


def read_site_table(path, card_name: str = "loobos_site") -> dict[str, np.ndarray]:
    """Parse the 30-min table into ``{column: array}`` plus ``time`` (datetime64[s], record start, UTC)."""
    path = Path(path)
    card = load_card(card_name)
    table = card.extra["table"]
    if not path.is_file():
        raise CorruptFileError(path, "", "file does not exist")
    try:
        data = np.loadtxt(path, comments="#", dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise CorruptFileError(path, "", f"cannot be parsed as a numeric table ({err})") from err
    with path.open() as fh:
        header = [next(fh, "") for _ in range(table["header_lines"])]
    if not all(line.startswith("#") for line in header):
        raise SchemaMismatchError(path, "header", f"expected {table['header_lines']} '#' header lines")
    names = [c["name"] for c in table["columns"]]
    if data.shape[1] != len(names):
        raise SchemaMismatchError(
            path, "columns", f"{data.shape[1]} columns, card {card_name} says {len(names)}"
        )
    out = {name: data[:, k] for k, name in enumerate(names)}
    for name, (lo, hi) in table["valid"].items():
        bad = ~np.isfinite(out[name]) | (out[name] < lo) | (out[name] > hi)
        if bad.any():
            row = int(np.argmax(bad)) + table["header_lines"] + 1
            raise SchemaMismatchError(
                path, name, f"{int(bad.sum())} values outside {lo}..{hi} (first at line {row})"
            )
    step = np.timedelta64(int(table["step_s"]), "s")
    out["time"] = np.datetime64(table["start"], "s") + np.arange(data.shape[0]) * step
    return out


def read_site_forcing(path, card_name: str = "loobos_site"):
    """Hourly :class:`tccas.model.Forcing` of whole days from the 30-min site file (module docstring)."""
    from tccas.model import Forcing

    path = Path(path)
    card = load_card(card_name)
    t = read_site_table(path, card_name)
    per_hour = 3600 // int(card.extra["table"]["step_s"])
    n = t["time"].size
    if n % (24 * per_hour):
        raise SchemaMismatchError(path, "time", f"{n} records do not make whole days of {per_hour} per hour")
    n_days = n // (24 * per_hour)

    def hourly(a):
        return a.reshape(n_days, 24, per_hour).mean(-1)

    q, p = t["q"], t["pressure"]
    e = q * p / (EPS + (1.0 - EPS) * q)
    day0 = t["time"][0].astype("datetime64[D]")
    days = day0 + np.arange(n_days)
    return Forcing(
        sw_down=hourly(t["sw_down"]),
        lw_down=hourly(t["lw_down"]),
        t_air=hourly(t["t_air"]) - 273.15,
        precip=hourly((t["rain"] + t["snow"]) * 3600.0),
        vapour_pressure=hourly(e),
        pressure=hourly(p),
        wind=hourly(t["wind"]),
        co2=np.full((n_days, 24), float(card.extra["site"]["co2_ppm"]) * 1e-6),
        day_number=(days - np.datetime64("2015-01-01", "D")).astype(np.float64),
    )
