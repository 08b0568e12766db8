"""Quick-look PNGs: one per styled registry variable, NaN masked, NEE diverging centred at 0, colour-bar label
from long_name [units]."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib import colors

from tccas.io import quicklook as ql
from tccas.io.output_store import load_registry
from tccas.io.overviews import block_mean
from tccas.pipeline import quicklook as pipeline_quicklook

EXTENT = (5242000.0, 5243000.0, 4797000.0, 4798000.0)


def _field(seed=0, shape=(10, 10)):
    data = np.random.default_rng(seed).normal(size=shape)
    data[0, :3] = np.nan
    return data


def test_colour_label():
    assert ql.colour_label("leaf area index", "1") == "leaf area index [-]"
    assert ql.colour_label("GPP", "g m-2 d-1") == "GPP [g m-2 d-1]"


def test_diverging_norm_centred_and_nan_masked(monkeypatch, tmp_path):
    seen = {}
    real_savefig = plt.Figure.savefig

    def spy(fig, path, **kw):
        image = fig.axes[0].images[0]
        seen["norm"], seen["array"] = image.norm, image.get_array()
        seen["label"] = fig.axes[1].get_ylabel()
        return real_savefig(fig, path, **kw)

    monkeypatch.setattr(plt.Figure, "savefig", spy)
    data = _field() * 3 + 1  # mostly positive: the centre must still be 0
    path = ql.write_quicklook(
        tmp_path / "nee.png", data, EXTENT, "net ecosystem exchange", "g m-2 d-1", "diverging", "t"
    )
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    norm = seen["norm"]
    assert isinstance(norm, colors.TwoSlopeNorm) and norm.vcenter == 0.0
    assert norm.vmin == -norm.vmax == -np.nanmax(np.abs(data))
    assert seen["array"].mask[0, :3].all() and not seen["array"].mask[5, 5]
    assert seen["label"] == "net ecosystem exchange [g m-2 d-1]"


def test_styles_and_coarsening(tmp_path):
    for style in ("sequential", "uncertainty", "reduction"):
        ql.write_quicklook(tmp_path / f"{style}.png", _field(), EXTENT, "x", "1", style, "t")
    ql.write_quicklook(
        tmp_path / "status.png",
        np.array([[0, 1], [3, np.nan]]),
        EXTENT,
        "solver status",
        "1",
        "status",
        "t",
        flag_values=(0, 1, 2, 3, 4),
        flag_meanings=("converged", "max_iter", "ls", "no_obs", "padding"),
    )
    assert len(list(tmp_path.glob("*.png"))) == 4
    with pytest.raises(ValueError, match="style"):
        ql.write_quicklook(tmp_path / "x.png", _field(), EXTENT, "x", "1", "rainbow", "t")
    big = np.arange(25.0).reshape(5, 5)
    small = block_mean(big, 2)
    assert small.shape == (3, 3)
    assert small[0, 0] == np.mean([0, 1, 5, 6]) and small[2, 2] == 24.0


def test_quicklooks_of_a_store(tmp_path, monkeypatch):
    from tccas.io import output_store as store_io

    reg = [s for s in load_registry() if s.quicklook]
    ds = {s.name: type("A", (), {"values": _field(i)})() for i, s in enumerate(reg)}
    monkeypatch.setattr(store_io, "open_store", lambda path: ds)
    monkeypatch.setattr(
        store_io, "grid_of_store", lambda d: store_io.StoreGrid(5242000, 4797000, 10, 10, 100, 10)
    )
    cfg = {"period": {"start": "2018-01-01", "end": "2018-12-31"}, "run_id": "t"}
    paths = pipeline_quicklook.quicklooks(cfg, "netherlands", tmp_path / "s.zarr", tmp_path / "ql")
    names = {p.stem for p in paths}
    assert {"nee_mean", "nee_mean_sd", "nee_mean_ur", "sif743_mean", "status"} <= names
    assert "nee_mean_prior" not in names
    assert len(paths) == 6 * 3 + 1
