"""A pixel of a finished regional tile as a site (tccas.site.from_tile_pixel): prior run and an EO
assimilation from Python, with the regional settings."""

from __future__ import annotations

import numpy as np

from tccas import site
from tccas.config import load_config, planned_tiles
from tccas.pipeline.assimilate import assimilation_settings


def test_pixel_of_the_tiny_tile(tiny_run, tiny):
    root, _ = tiny_run
    config = load_config(tiny[1])
    config["outputs"]["root"] = str(root / "results")
    tile = planned_tiles(config, "netherlands")[0].name
    sd = site.from_tile_pixel(config, "netherlands", tile, 5.74, 52.17)
    assert abs(sd.attrs["lon"] - 5.74) < 0.01 and abs(sd.attrs["lat"] - 52.17) < 0.01
    assert sd.dates.size == 31 and sd.forcing.t_air.shape == (31, 24) and len(sd.pfts) >= 1
    settings = assimilation_settings(config)
    assert {"fapar", "sif"} <= set(sd.streams) and sum(float(o.mask.sum()) for o in sd.streams.values()) > 0
    prior = site.run(sd, settings, spinup_years=0)
    assert prior["gpp"].attrs["units"] == "gC m-2 d-1" and np.isfinite(prior["gpp"].values).all()
    fit = site.assimilate(sd, settings, calibration=(str(sd.dates[0]), str(sd.dates[-1])), spinup_years=0)
    assert fit.cost_post < fit.cost_prior and fit.n_obs["fapar"] + fit.n_obs["sif"] > 0
    assert fit.controls["name"].str.startswith("sif_scale").any()
