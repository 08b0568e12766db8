"""Repeated-climate spin-up of the default (calibrated) prior of every PFT of the three regions, on real
tower forcing (issue #25 item 2; EDCs of Bloom & Williams 2015): after 200 years of one real year the LAI
has stopped drifting (relative trend of the annual mean < 0.5 % per year over the last 50 years), evergreen
PFTs keep at least 60 % of their peak LAI through every one of those years; and (a strict xfail, a known
defect) every canopy is alive, with a peak LAI of 0.2-8.

Each region's PFTs (the CORINE → PFT card, ``tccas/io/cards/clc_to_pft.yaml``) run on the first driver year
of the tower nearest in climate: Lapland on FI-Hyy (boreal), Iberia on FR-Pue (Mediterranean), the
Netherlands on NL-Loo (temperate maritime). The run is a fresh interpreter without ``TCCAS_PRIORS`` (the
default prior set, as a regional run uses it); all pairs run as one vmapped, jitted scan over years.
"""

from __future__ import annotations

import pytest

YEARS, LAST = 200, 50

_SCRIPT = f"""
import json
import numpy as np, jax, jax.numpy as jnp
import tccas; tccas.enable_float64()
from tccas import model as M, site
from tccas.io.cards import load_card
from tccas.model import edc
from tccas.model.prior_sets import active_prior_set

REGION_SITE = {{"lapland": "FI-Hyy", "iberia": "FR-Pue", "netherlands": "NL-Loo"}}
table = load_card("clc_to_pft").extra["regions"]
cfg = site.load_sites_config("config/sites.yaml")
pairs, years, sites = [], [], []
for region, sid in REGION_SITE.items():
    sd = site.load_configured_site(cfg, sid)
    year = M.first_years(sd.forcing, 1)
    for name in sorted({{p for entry in table[region].values() for p in entry if p != "NoVeg"}}):
        pairs.append((region, name))
        years.append(year)
        sites.append(sd.site)
stack = lambda xs: jax.tree_util.tree_map(lambda *a: jnp.stack([jnp.asarray(v) for v in a]), *xs)
pfts = jnp.asarray([M.PFT_NAMES.index(n) for _, n in pairs])
opts, gp = M.ModelOptions(), M.default_global_params()

def spin(pft, year, site_):
    tp = M.default_tile_params(pft)
    state = M.initial_state(M.default_pools(pft), tp, site_, year, gp)
    def one_year(st, _):
        _, daily, final = M.run_tile(tp, gp, st.pools, year, site_, pft, opts, state0=st)
        lai = daily["lai"]
        return final, jnp.stack([jnp.mean(lai), jnp.min(lai), jnp.max(lai)])
    return jax.lax.scan(one_year, state, None, length={YEARS})[1]

ys = np.asarray(jax.jit(jax.vmap(spin))(pfts, stack(years), stack(sites)))
out = {{"prior_set": active_prior_set()}}
for k, (region, name) in enumerate(pairs):
    last = ys[k, -{LAST}:]
    out[region + ":" + name] = {{
        # relative trend of the annual means, as tccas.model.edc.relative_trend defines it [yr-1]
        "trend": float(np.polyfit(np.arange({LAST}), last[:, 0], 1)[0] / max(last[:, 0].mean(), 0.01)),
        "min_over_peak": float(np.min(last[:, 1] / np.maximum(last[:, 2], 0.01))),
        "peak": float(last[-1, 2]),
        "evergreen": int(M.PFT_NAMES.index(name) in edc.EVERGREEN_PFTS),
    }}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def spun_up(real_data_dir, default_prior_run):
    res = default_prior_run(_SCRIPT, timeout=1500)
    assert len(res) >= 15  # every PFT of the three regions' CORINE mapping
    return res


@pytest.mark.slow
def test_200_year_spinup_reaches_steady_state_for_every_regional_pft(spun_up):
    bad = {k: v for k, v in spun_up.items() if not abs(v["trend"]) < 0.005}
    assert not bad, f"LAI still drifting after {YEARS} years (relative trend per year): {bad}"
    thin = {k: v for k, v in spun_up.items() if v["evergreen"] and v["min_over_peak"] < 0.6}
    assert not thin, f"evergreen PFTs losing their canopy: {thin}"


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="the grass (C3Gr, calibrated at the Mediterranean annual grassland US-Var only) and the "
    "deciduous shrubs (DShr) lose their canopy under a long repeated-climate spin-up: DALEC2's calendar "
    "phenology of one site does not transfer to other climates (docs/calibration.md)",
)
def test_every_regional_pft_keeps_a_canopy_after_the_spinup(spun_up):
    dead = {k: v["peak"] for k, v in spun_up.items() if not 0.2 <= v["peak"] <= 8.0}
    assert not dead, f"peak LAI outside 0.2-8 m2 m-2 after {YEARS} years: {dead}"
