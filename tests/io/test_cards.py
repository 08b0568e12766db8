from __future__ import annotations

import netCDF4
import numpy as np
import pytest

from tccas.io.cards import card_header, decode, load_card, open_netcdf, parse_card, validate
from tccas.io.errors import CorruptFileError, ImplausibleValueError, MissingFieldError, SchemaMismatchError
from tccas.io.synthetic._netcdf import write_netcdf

CARDS = [
    "troposif_l2b",
    "troposif_l2",
    "smos_ic",
    "catds_l3sm",
    "jrc_tip",
    "cgls_fapar",
    "era5_legacy",
    "era5_new",
    "corine",
    "worldcover",
    "dem",
    "loobos_site",
    "clc_to_pft",
]


@pytest.mark.parametrize("name", CARDS)
def test_every_card_loads_and_describes_its_variables(name):
    card = load_card(name)
    assert card.name == name
    for vs in card.variables.values():
        assert np.dtype(vs.dtype)  # a real numpy dtype
        for d in vs.dims:
            assert d in card.dims, f"{name}: {vs.path} uses undeclared dim {d}"
    assert card_header(card).startswith(f"card {name}")


def test_unknown_and_malformed_cards_raise():
    with pytest.raises(KeyError, match="available"):
        load_card("no_such_product")
    with pytest.raises(ValueError, match="malformed"):
        parse_card({"title": "x"})


def _mini_card(**var):
    base = {"path": "v", "dtype": "float32", "dims": ["n"], "fill": -999.0}
    base.update(var)
    return parse_card({"name": "mini", "format": "NETCDF4", "dims": {"n": 3}, "variables": {"v": base}})


def test_validate_catches_dtype_fill_packing_and_missing(tmp_path):
    card = _mini_card()
    p = write_netcdf(tmp_path / "a.nc", card, {"v": np.array([1.0, np.nan, 3.0])}, {"n": 3})
    ds = open_netcdf(p, card)
    assert set(validate(ds, card, p)) == {"v"}
    ds.close()
    for bad, match in [
        (_mini_card(dtype="float64"), "dtype"),
        (_mini_card(fill=-1.0), "_FillValue"),
        (_mini_card(scale_factor="file", add_offset="file"), "packing"),
        (_mini_card(path="w"), "variable not found"),
        (_mini_card(dims=["m"]), "dims"),
    ]:
        ds = open_netcdf(p, bad)
        with pytest.raises((SchemaMismatchError, MissingFieldError), match=match):
            validate(ds, bad, p)
        ds.close()


def test_validate_rejects_wrong_dim_length_and_format(tmp_path):
    card = _mini_card()
    p = write_netcdf(tmp_path / "a.nc", card, {"v": np.ones(3)}, {"n": 3})
    longer = parse_card(
        {
            "name": "m",
            "format": "NETCDF4",
            "dims": {"n": 4},
            "variables": {"v": {"path": "v", "dtype": "float32", "dims": ["n"], "fill": -999.0}},
        }
    )
    ds = open_netcdf(p, longer)
    with pytest.raises(SchemaMismatchError, match="length 3"):
        validate(ds, longer, p)
    ds.close()
    classic = parse_card({"name": "m", "format": "NETCDF4_CLASSIC", "variables": {}})
    with pytest.raises(SchemaMismatchError, match="NETCDF4_CLASSIC"):
        open_netcdf(p, classic)


def test_open_rejects_missing_and_non_netcdf_files(tmp_path):
    card = _mini_card()
    with pytest.raises(CorruptFileError, match="does not exist"):
        open_netcdf(tmp_path / "nope.nc", card)
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"this is not HDF5")
    with pytest.raises(CorruptFileError, match=r"junk.nc"):
        open_netcdf(junk, card)


def test_writer_is_atomic_on_error(tmp_path):
    card = _mini_card()
    with pytest.raises(ValueError, match="shape"):
        write_netcdf(tmp_path / "b.nc", card, {"v": np.ones(2)}, {"n": 3})
    assert list(tmp_path.iterdir()) == []


def test_written_file_has_declared_fill(tmp_path):
    card = _mini_card()
    p = write_netcdf(tmp_path / "a.nc", card, {"v": np.array([1.0, np.nan, 3.0])}, {"n": 3})
    with netCDF4.Dataset(p) as ds:
        assert ds["v"]._FillValue == np.float32(-999.0)
        assert ds["v"][:].mask.tolist() == [False, True, False]


def test_units_are_required_where_the_card_names_them(tmp_path):
    card = _mini_card(units="K")
    p = write_netcdf(tmp_path / "a.nc", card, {"v": np.array([280.0, 281.0, 282.0])}, {"n": 3})
    with netCDF4.Dataset(p, "a") as nc:
        nc["v"].delncattr("units")
    ds = open_netcdf(p, card)
    with pytest.raises(MissingFieldError, match=r"a\.nc \[v@units\]: missing field: no units attribute"):
        validate(ds, card, p)
    ds.close()
    with netCDF4.Dataset(p, "a") as nc:
        nc["v"].setncattr("units", "degC")
    ds = open_netcdf(p, card)
    with pytest.raises(SchemaMismatchError, match=r"units are 'degC', card says 'K'"):
        validate(ds, card, p)
    ds.close()


def test_values_outside_the_plausible_range_refuse_the_file(tmp_path):
    card = _mini_card(units="K", plausible_range=[170.0, 340.0], valid_range=[250.0, 400.0])
    p = write_netcdf(tmp_path / "a.nc", card, {"v": np.array([10.0, np.nan, 12.5])}, {"n": 3})
    ds = open_netcdf(p, card)
    handles = validate(ds, card, p)
    with pytest.raises(
        ImplausibleValueError,
        match=r"a\.nc \[v\]: physically implausible values: 2 of 2 values outside the plausible range "
        r"170\.\.340 K \(min 10, max 12\.5\); wrong units or scaling\?",
    ):
        decode(handles["v"], card.var("v"), p)
    ds.close()
    ok = write_netcdf(tmp_path / "b.nc", card, {"v": np.array([200.0, np.nan, 300.0])}, {"n": 3})
    ds = open_netcdf(ok, card)
    out = decode(validate(ds, card, ok)["v"], card.var("v"), ok)
    ds.close()
    np.testing.assert_array_equal(np.isnan(out), [True, True, False])  # 200 K: plausible, then masked


@pytest.mark.parametrize("bad", [[1.0], [5.0, 1.0], "wide"])
def test_malformed_plausible_range_is_refused(bad):
    with pytest.raises(ValueError, match="plausible_range"):
        _mini_card(plausible_range=bad)


@pytest.mark.parametrize("name", ["era5_new", "era5_legacy"])
def test_era5_cards_bound_every_forcing_variable(name):
    card = load_card(name)
    for key in ("t2m", "d2m", "sp", "u10", "v10", "ssrd", "strd", "tp", "z"):
        assert card.var(key).plausible_range is not None, key
        assert card.var(key).units is not None, key
    assert card.var("t2m").plausible_range[0] > 100.0  # a temperature in degC cannot pass as K
