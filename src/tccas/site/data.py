"""One flux-tower site in memory: hourly model forcing, daily tower observations, PFT tiles, static site.

:class:`SiteData` is what every site run starts from (:mod:`tccas.site.run`); :func:`tccas.site.load_site`
builds it from the files of a site, :func:`tccas.site.from_tile_pixel` from one pixel of a regional tile.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from tccas import model


@dataclasses.dataclass(frozen=True)
class SiteData:
    """A site's inputs over its record of ``dates`` (consecutive UTC days).

    - ``forcing``: hourly :class:`tccas.model.Forcing` (NumPy arrays ``(n_days, 24)``);
    - ``obs``: daily tower observations on ``dates`` (any of nee, gpp, reco [gC m-2 d-1], le, h [W m-2],
      et [mm d-1], lai, each with ``<var>_unc``; NaN = no observation);
    - ``pfts`` / ``fractions``: the PFT tiles (codes of :data:`tccas.model.PFT_NAMES`, cover fractions);
    - ``site``: the static :class:`tccas.model.Site` (location, water capacity, soil);
    - ``attrs``: provenance (site id, files, PFT names) written into every output;
    - ``streams``: prepared :class:`tccas.da.ObsStream` records of streams that are not daily tower series
      (the EO streams of a regional pixel, :func:`tccas.site.from_tile_pixel`), their hour indices counted
      from the first day of ``dates``.
    """

    site_id: str
    dates: np.ndarray
    forcing: model.Forcing
    obs: xr.Dataset
    pfts: tuple[int, ...]
    fractions: tuple[float, ...]
    site: model.Site
    attrs: dict
    streams: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        n = self.dates.size
        if np.shape(self.forcing.t_air) != (n, 24):
            raise ValueError(
                f"site {self.site_id}: forcing has shape {np.shape(self.forcing.t_air)}, expected ({n}, 24)"
            )
        if self.obs.sizes.get("time", n) != n:
            raise ValueError(
                f"site {self.site_id}: observations have {self.obs.sizes['time']} days, forcing {n}"
            )
        if len(self.pfts) != len(self.fractions) or not 1 <= len(self.pfts) <= model.MAX_TILES:
            raise ValueError(
                f"site {self.site_id}: pfts {self.pfts} and fractions {self.fractions} do not match"
            )

    @property
    def pft_names(self) -> tuple[str, ...]:
        return tuple(model.PFT_NAMES[p] for p in self.pfts)

    def between(self, start, end) -> SiteData:
        """The site restricted to the days ``start`` … ``end`` (inclusive ISO dates)."""
        keep = (self.dates >= np.datetime64(start, "D")) & (self.dates <= np.datetime64(end, "D"))
        if not keep.any():
            raise ValueError(f"site {self.site_id}: no day between {start} and {end}")
        idx = np.flatnonzero(keep)
        sl = slice(int(idx[0]), int(idx[-1]) + 1)
        shift = 24 * int(idx[0])  # the cost masks hour indices outside the new window (common.window_mask)
        return dataclasses.replace(
            self,
            dates=self.dates[sl],
            forcing=model.Forcing(*(np.asarray(a)[sl] for a in self.forcing)),
            obs=self.obs.isel(time=sl),
            streams={k: o._replace(t_hour=o.t_hour - shift) for k, o in self.streams.items()},
        )


def calibration_period(sd: SiteData, years: int) -> tuple[str, str]:
    """The first ``years`` whole years of the site's record as inclusive ISO dates (the rest is withheld for
    validation). The record must be longer than that, so that a validation period remains or, at least, the
    calibration years exist."""
    start = sd.dates[0]
    y0 = start.astype("datetime64[Y]")
    end = (y0 + np.timedelta64(int(years), "Y")).astype("datetime64[D]") - np.timedelta64(1, "D")
    if end > sd.dates[-1]:
        raise ValueError(
            f"site {sd.site_id}: {years} calibration year(s) from {start} need days up to {end}, the record "
            f"ends {sd.dates[-1]}"
        )
    return str(start), str(end)
