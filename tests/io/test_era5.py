from __future__ import annotations

import netCDF4
import numpy as np
import pytest

from tccas.io.era5 import (
    co2_mole_fraction,
    dewpoint_from_vapour_pressure,
    read_era5,
    vapour_pressure_from_dewpoint,
)
from tccas.io.errors import CoverageError, ImplausibleValueError, MissingFieldError, SchemaMismatchError
from tccas.io.synthetic.era5 import era5_filename, native_grid_for_point, write_era5


@pytest.fixture(scope="module")
def hourly():
    rng = np.random.default_rng(7)
    lat, lon = native_grid_for_point(5.74, 52.17, 0.1)
    shape = (48, lat.size, lon.size)
    hours = np.arange(48) % 24
    sw = np.maximum(0.0, 600 * np.sin(np.pi * (hours - 5) / 14))[:, None, None] * rng.uniform(0.5, 1.0, shape)
    fields = dict(
        t_air=rng.normal(10, 3, shape),
        vapour_pressure=rng.uniform(500, 1200, shape),
        pressure=rng.uniform(99000, 101000, shape),
        wind=rng.uniform(0, 8, shape),
        sw_down=sw,
        lw_down=rng.uniform(250, 380, shape),
        precip=np.maximum(rng.normal(0, 1, shape), 0),
    )
    return fields, lat, lon, rng.uniform(0, 50, (lat.size, lon.size))


@pytest.mark.parametrize("product", ["era5", "era5_land"])
@pytest.mark.parametrize("flavour", ["era5_legacy", "era5_new"])
def test_round_trip_both_flavours(tmp_path, hourly, product, flavour):
    fields, lat, lon, oro = hourly
    p = write_era5(
        tmp_path / era5_filename(product, "2018-01-01", "2018-01-02", flavour),
        "2018-01-01",
        fields,
        lat,
        lon,
        oro,
        product,
        flavour,
    )
    with netCDF4.Dataset(p) as nc:
        assert nc.data_model == ("NETCDF3_64BIT_OFFSET" if flavour == "era5_legacy" else "NETCDF4")
        assert ("valid_time" in nc.variables) == (flavour == "era5_new")
    ds = read_era5(p, product)
    assert ds.sizes == {"time": 48, "lat": 4, "lon": 4}
    assert np.all(np.diff(ds.lat.values) > 0)  # normalised to ascending
    assert str(ds.time.values[0])[:19] == "2018-01-01T00:00:00"
    tol = {
        "t_air": 0.01,
        "vapour_pressure": 0.1,
        "pressure": 1.0,
        "wind": 0.01,
        "sw_down": 0.5,
        "lw_down": 0.5,
        "precip": 0.01,
    }
    for k, t in tol.items():
        got = ds[k].values[:, ::-1, :]  # back to the written (descending) latitude order
        np.testing.assert_allclose(got, fields[k], atol=t if flavour == "era5_legacy" else t / 20, err_msg=k)
    np.testing.assert_allclose(ds.orography.values[::-1], oro, atol=0.01)
    # the accumulated fields were shifted: night hours have no sun
    assert np.all(ds.sw_down.values[:4] < 1.0)


def test_vapour_pressure_inverse_and_co2():
    e = np.array([300.0, 1000.0, 2500.0])
    np.testing.assert_allclose(vapour_pressure_from_dewpoint(dewpoint_from_vapour_pressure(e)), e)
    assert np.isclose(vapour_pressure_from_dewpoint(273.15), 611.2)
    assert 4.0e-4 < co2_mole_fraction(2018) < 4.2e-4
    assert co2_mole_fraction(2030) > co2_mole_fraction(2023)


def test_era5_errors(tmp_path, hourly):
    fields, lat, lon, oro = hourly
    p = write_era5(tmp_path / "era5-land_2018-01-01_2018-01-02_new.nc", "2018-01-01", fields, lat, lon, oro)
    with pytest.raises(CoverageError, match="not inside the grid"):
        read_era5(p, bbox=(26.6, 67.3, 26.7, 67.4))
    with netCDF4.Dataset(p, "a") as nc:
        nc["valid_time"][5] = nc["valid_time"][5] + 600
    with pytest.raises(SchemaMismatchError, match="contiguous hours"):
        read_era5(p)
    q = write_era5(
        tmp_path / "era5_2018-01-01_2018-01-02_legacy.nc",
        "2018-01-01",
        fields,
        lat,
        lon,
        oro,
        "era5",
        "era5_legacy",
    )
    with netCDF4.Dataset(q, "a") as nc:
        nc["t2m"].delncattr("scale_factor")
    with pytest.raises(MissingFieldError, match=r"t2m@scale_factor"):
        read_era5(q, "era5")
    with pytest.raises(ValueError, match="product must be"):
        read_era5(q, "merra2")


def test_bbox_keeps_bilinear_neighbours(tmp_path, hourly):
    fields, lat, lon, oro = hourly
    p = write_era5(tmp_path / "era5-land_2018-01-01_2018-01-02_new.nc", "2018-01-01", fields, lat, lon, oro)
    ds = read_era5(p, bbox=(5.73, 52.16, 5.75, 52.18))
    assert ds.sizes["lat"] == 2 and ds.sizes["lon"] == 2
    assert ds.lat.values[0] < 52.16 < 52.18 < ds.lat.values[1]


@pytest.mark.parametrize("flavour", ["era5_new", "era5_legacy"])
def test_temperature_in_celsius_is_refused(tmp_path, hourly, flavour):
    """Issue #29 (a): t2m written in degC. Without its units attribute the file is refused as a missing
    field; with a (wrong) K attribute its values fail the card's plausible range."""
    fields, lat, lon, oro = hourly
    p = write_era5(
        tmp_path / era5_filename("era5_land", "2018-01-01", "2018-01-02", flavour),
        "2018-01-01",
        {**fields, "t_air": fields["t_air"] - 273.15},  # the writer adds 273.15: t2m holds degC
        lat,
        lon,
        oro,
        "era5_land",
        flavour,
    )
    with pytest.raises(ImplausibleValueError, match=r"\[t2m\]: .* outside the plausible range 170\.\.340 K"):
        read_era5(p)
    with netCDF4.Dataset(p, "a") as nc:
        nc["t2m"].delncattr("units")
    with pytest.raises(MissingFieldError, match=r"\[t2m@units\]: missing field: no units attribute"):
        read_era5(p)
