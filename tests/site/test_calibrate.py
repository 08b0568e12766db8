"""Multi-site calibration (tccas.site.calibrate, issue #25 item 4): the joint layout shares PFT parameters
and keeps per-site controls apart; a two-site twin experiment recovers a shared parameter that neither site
alone pins down as well; the prior file and control table round-trip with provenance; bad files are refused
naming file and field; the site LAI stream keeps one day in eight."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from tccas import model
from tccas.io.errors import CorruptFileError
from tccas.io.priors import read_prior_file, write_control_table, write_prior_file
from tccas.model import prior_sets
from tccas.site import SiteData, run, settings, site_problem
from tccas.site import calibrate as C

C3GR, EVCN = model.PFT_NAMES.index("C3Gr"), model.PFT_NAMES.index("EvCn")


def synthetic_site(site_id, lat, lon, n_days, pfts, fractions, seed, start="2018-04-01") -> SiteData:
    forcing = model.synthetic_forcing(lat, lon, start, n_days, seed=seed)
    dates = np.datetime64(start, "D") + np.arange(n_days)
    return SiteData(
        site_id=site_id,
        dates=dates,
        forcing=forcing,
        obs=xr.Dataset(coords={"time": dates}),
        pfts=tuple(pfts),
        fractions=tuple(fractions),
        site=model.default_site(lat, lon),
        attrs={"site": site_id},
    )


def test_joint_layout_shares_pft_parameters_and_keeps_sites_apart():
    a = synthetic_site("A", 52.0, 5.0, 3, [C3GR], [1.0], 1)
    b = synthetic_site("B", 61.8, 24.3, 3, [EVCN, C3GR], [0.6, 0.4], 2)
    cal = C.CalibrationSettings(shared=("vcmax25", "lma", "f_rl"), per_site=("wmax_scale",))
    jp = C.joint_problem([a, b], settings(streams=("nee",)), cal, spinup_years=0)
    labels = jp.joint.labels(jp.site_ids)
    assert labels == [
        "vcmax25[C3Gr]",
        "lma[C3Gr]",
        "wmax_scale[A:0:C3Gr]",
        "f_rl",  # a global parameter: one entry for both sites
        "vcmax25[EvCn]",
        "lma[EvCn]",
        "wmax_scale[B:0:EvCn]",
        "wmax_scale[B:1:C3Gr]",
    ]
    names = jp.layout.names
    # site A's tile 0 and site B's tile 1 are both C3Gr: the same entry of z; A's padding tile is fixed
    i_v0, i_v1 = names.index("vcmax25"), (len(names) - 1) // 2 + names.index("vcmax25")
    assert jp.joint.index[0, i_v0] == jp.joint.index[1, i_v1] == 0
    i_rl = names.index("f_rl")
    assert jp.joint.index[0, i_rl] == jp.joint.index[1, i_rl] == labels.index("f_rl")
    assert jp.prior.x0[labels.index("f_rl")] == model.param_spec("f_rl").prior
    assert jp.joint.index[0, i_v1] == -1 and jp.problems.fractions[0, 1] == 0.0
    z = np.asarray(jp.prior.x0) * np.linspace(1.1, 1.7, jp.joint.size)
    xs = np.asarray(C.site_vectors(z, jp))
    assert xs[0, i_v0] == xs[1, i_v1] == z[0]
    assert xs[0, i_v1] == jp.x_fixed[0, i_v1]  # the padding tile keeps its prior
    assert xs[1, i_v0] == z[4]  # B's EvCn tile takes the EvCn entry
    # days padded to the longest site, the padding days' observations masked
    assert jp.problems.forcing.t_air.shape == (2, 3, 24)
    with pytest.raises(ValueError, match="both shared and per-site"):
        C.CalibrationSettings(shared=("vcmax25",), per_site=("vcmax25",))
    with pytest.raises(ValueError, match="not a per-PFT"):
        C.CalibrationSettings(per_site=("c_w",))
    with pytest.raises(KeyError):
        C.CalibrationSettings(shared=("no_such_parameter",))
    with pytest.raises(ValueError, match="distinct"):
        C.joint_problem([a, a], settings(streams=("nee",)), cal, spinup_years=0)


N_DAYS = 40
TWIN_SETTINGS = settings(streams=("nee", "lai"), steady_state=False, spinup_cycles=1)
TWIN_CAL = C.CalibrationSettings(shared=("vcmax25",), per_site=("c_som0",), max_iter=15, edc_weight=0.0)


def _twin_sites():
    """Two C3 grass sites whose NEE and LAI come from the model with V_m25 of C3Gr at +1.5 σ, plus noise."""
    sites = [
        synthetic_site("A", 40.0, -5.0, N_DAYS, [C3GR], [1.0], 3),
        synthetic_site("B", 52.0, 5.5, N_DAYS, [C3GR], [1.0], 4),
    ]
    spec = model.param_spec("vcmax25")
    truth = float(spec.prior[C3GR] + 1.5 * spec.sigma[C3GR])
    st = settings(streams=("nee", "lai"), steady_state=False, spinup_cycles=1, controls=("vcmax25", "c_som0"))
    rng = np.random.default_rng(7)
    out = []
    for sd in sites:
        x = np.array([truth, float(model.param_spec("c_som0").prior[C3GR])])
        ds = run(sd, st, x=x, spinup_years=0)
        nee = ds["nee"].values + 0.3 * rng.standard_normal(N_DAYS)
        obs = xr.Dataset(
            {
                "nee": ("time", nee),
                "nee_unc": ("time", np.full(N_DAYS, 0.3)),
                "lai": ("time", ds["lai"].values),
                "lai_unc": ("time", np.full(N_DAYS, 0.05)),
            },
            coords={"time": sd.dates},
        )
        out.append(dataclasses.replace(sd, obs=obs))
    return out, truth


@pytest.fixture(scope="module")
def twin():
    sites, truth = _twin_sites()
    result, jp = C.calibrate(sites, TWIN_SETTINGS, TWIN_CAL, spinup_years=0)
    return result, jp, truth


def test_two_site_twin_recovers_the_shared_parameter(twin):
    result, jp, truth = twin
    assert result.labels[0] == "vcmax25[C3Gr]" and jp.joint.size == 3
    assert result.cost_post < 0.5 * result.cost_prior
    assert result.status in (0, 1) and result.n_iter >= 2
    err_prior = abs(result.x_prior[0] - truth)
    err_post = abs(result.x_post[0] - truth)
    assert err_post < 0.3 * err_prior, (result.x_prior[0], result.x_post[0], truth)
    assert abs(result.x_post[0] - truth) < 3 * result.sd_post[0] + 0.02 * truth
    assert result.sd_post[0] < 0.5 * result.sd_prior[0]
    # the σ for the prior file: inflated by the reduced χ² and floored at 10 %, never above the old prior σ
    assert np.all(result.sd_calibrated <= result.sd_prior + 1e-12)
    assert result.sd_calibrated[0] >= max(result.sd_post[0], 0.1 * result.x_post[0]) - 1e-12
    assert result.n_obs["A"]["nee"] == N_DAYS and result.n_obs["A"]["lai"] == N_DAYS // 8
    # the per-site controls are the sites' own
    assert [result.site_ids[s] for s in result.joint.sites[1:]] == ["A", "B"]


def test_prior_file_and_control_table_round_trip(twin, tmp_path):
    result, _, _ = twin
    path = write_prior_file(tmp_path / "prior.yaml", result.shared_table(), result.provenance())
    doc = read_prior_file(path)
    entry = doc["parameters"]["vcmax25"]["C3Gr"]
    assert entry["value"] == pytest.approx(result.x_post[0]) and entry["sigma"] == pytest.approx(
        result.sd_calibrated[0]
    )
    prov = doc["provenance"]
    assert set(prov["sites"]) == {"A", "B"} and prov["cost_post"] < prov["cost_prior"]
    assert prov["tccas_version"] and prov["created"].endswith("Z")
    over = prior_sets.overrides_from_document(doc, str(path), model.PFT_NAMES, model.TILE_PARAM_NAMES)
    assert over == {"vcmax25": {C3GR: (entry["value"], entry["sigma"])}}
    # a global parameter has the single entry "all"
    doc["parameters"]["f_rl"] = {"all": {"value": 0.3, "sigma": 0.05}}
    over = prior_sets.overrides_from_document(
        doc, "x", model.PFT_NAMES, model.TILE_PARAM_NAMES, model.GLOBAL_PARAM_NAMES
    )
    assert over["f_rl"] == {prior_sets.GLOBAL_CODE: (0.3, 0.05)}
    table = write_control_table(tmp_path / "controls.csv", result)
    df = pd.read_csv(table)
    assert list(df["control"]) == list(result.labels)
    assert df.loc[0, "uncertainty_reduction"] > 0.5 and (df["site"].fillna("") == ["", "A", "B"]).all()


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d.update(format="other"), "format"),
        (lambda d: d["parameters"].update(c_w={"C3Gr": {"value": 1, "sigma": 1}}), "parameters.c_w.C3Gr"),
        (lambda d: d["parameters"].update(nope={"all": {"value": 1, "sigma": 1}}), "parameters.nope"),
        (lambda d: d["parameters"]["vcmax25"].update(Oak={"value": 1, "sigma": 1}), "parameters.vcmax25.Oak"),
        (lambda d: d["parameters"]["vcmax25"]["C3Gr"].pop("sigma"), "parameters.vcmax25.C3Gr"),
        (lambda d: d["parameters"]["vcmax25"]["C3Gr"].update(sigma=-1), "parameters.vcmax25.C3Gr"),
    ],
)
def test_bad_prior_files_are_refused_naming_file_and_field(tmp_path, edit, field):
    doc = {
        "format": prior_sets.FORMAT,
        "version": 1,
        "provenance": {},
        "parameters": {"vcmax25": {"C3Gr": {"value": 50.0, "sigma": 5.0}}},
    }
    edit(doc)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(CorruptFileError, match=rf"bad\.yaml.*{field}"):
        read_prior_file(path)
    path.write_text("parameters: [unclosed")
    with pytest.raises(CorruptFileError, match=r"bad\.yaml.*not valid YAML"):
        read_prior_file(path)


def test_site_lai_stream_keeps_one_day_in_eight():
    sd = synthetic_site("A", 52.0, 5.0, 20, [C3GR], [1.0], 1)
    lai = np.linspace(1.0, 2.0, 20)
    obs = xr.Dataset({"lai": ("time", lai), "lai_unc": ("time", np.full(20, 0.1))}, coords={"time": sd.dates})
    p = site_problem(dataclasses.replace(sd, obs=obs), settings(streams=("lai",)), spinup_years=0)
    kept = np.flatnonzero(p.obs["lai"].mask)
    np.testing.assert_array_equal(kept, [0, 8, 16])
    np.testing.assert_allclose(p.obs["lai"].value[kept], lai[[0, 8, 16]])
