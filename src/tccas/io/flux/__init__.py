"""Flux-tower and site-driver readers (site mode): FLUXNET2015, CalLMIP, CARDAMOM/DifferLand, SMEAR II.

Every reader returns an ``xarray.Dataset`` on ``time`` with the canonical variable names and units of
:mod:`tccas.io.flux._common` (``units`` and ``long_name`` on every variable) and the global attributes
``site, lat, lon, elevation, utc_offset_h, resolution`` ("HH", "HR" or "DD"), ``source`` (the file) and
``reader`` (NaN where the site is not in the site table). Sub-daily ``time`` is the record start in UTC;
daily ``time`` is the local day at 00:00. Site metadata (location, UTC offset of local standard time, IGBP
class, PFT mix) come from the packaged site table (:func:`site_info`). Readers never write files.
"""

from tccas.io.flux.aggregate import aggregate_daily
from tccas.io.flux.callmip import co2_daily, read_callmip_flux, read_co2_series
from tccas.io.flux.cardamom import read_cardamom_drivers
from tccas.io.flux.fluxnet import read_fluxnet
from tccas.io.flux.sites import known_sites, site_info
from tccas.io.flux.smear import read_smear_daily

__all__ = [
    "aggregate_daily",
    "co2_daily",
    "known_sites",
    "read_callmip_flux",
    "read_cardamom_drivers",
    "read_co2_series",
    "read_fluxnet",
    "read_smear_daily",
    "site_info",
]
