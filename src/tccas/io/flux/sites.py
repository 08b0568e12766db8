"""Flux-tower site table: location, local standard time, IGBP class and tccas PFT mix per site.

The table is the packaged card ``cards/flux_sites.yaml`` (its ``evidence`` says where each value comes
from). Site ids are FLUXNET ids (``CC-XXX``), matched case-insensitively.
"""

from __future__ import annotations

from tccas.io.cards import load_card


def known_sites() -> tuple[str, ...]:
    """The site ids of the table, sorted."""
    return tuple(sorted(load_card("flux_sites").extra["sites"]))


def site_info(site_id: str) -> dict:
    """Metadata of one site: ``site, name, lat, lon`` [deg], ``elevation`` [m], ``utc_offset_h`` [h] of local
    standard time, ``igbp``, ``pfts`` (list of ``(PFT name, cover fraction)``, fractions sum to 1),
    ``vegetation`` and ``reference``. An unknown id raises ``KeyError`` listing the known ones."""
    sites = load_card("flux_sites").extra["sites"]
    match = {k.lower(): k for k in sites}.get(str(site_id).lower())
    if match is None:
        raise KeyError(f"unknown flux site {site_id!r}; known sites: {', '.join(sorted(sites))}")
    raw = sites[match]
    pfts = [(str(name), float(frac)) for name, frac in raw["pfts"]]
    total = sum(f for _, f in pfts)
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"site table flux_sites: PFT fractions of {match} sum to {total}, not 1")
    return {
        "site": match,
        "name": str(raw["name"]),
        "lat": float(raw["lat"]),
        "lon": float(raw["lon"]),
        "elevation": float(raw["elevation"]),
        "utc_offset_h": float(raw["utc_offset_h"]),
        "igbp": str(raw["igbp"]),
        "pfts": pfts,
        "vegetation": " ".join(str(raw["vegetation"]).split()),
        "reference": str(raw["reference"]),
    }


def site_attrs(site_id: str | None) -> dict:
    """Global attributes ``site, lat, lon, elevation, utc_offset_h`` (None where the site is unknown)."""
    try:
        info = site_info(site_id) if site_id else None
    except KeyError:
        info = None
    if info is None:
        return {"site": site_id or "", "lat": None, "lon": None, "elevation": None, "utc_offset_h": None}
    return {k: info[k] for k in ("site", "lat", "lon", "elevation", "utc_offset_h")}
