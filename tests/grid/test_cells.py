import numpy as np
import pytest

from tccas.grid import (
    CRSMismatchError,
    cell_of_xy,
    cell_to_lonlat,
    check_crs,
    eea_code,
    inspire_code,
    lonlat_to_cell,
    lonlat_to_xy,
    parse_eea_code,
    parse_inspire_code,
    xy_of_cell,
)


def _haversine_m(lon1, lat1, lon2, lat2):
    r = 6_371_008.8
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * r * np.arcsin(np.sqrt(a))


def test_known_inspire_code_parses_to_lower_left():
    assert parse_inspire_code("CRS3035RES100mN2691700E4341100") == (100, 4341100, 2691700)
    assert parse_inspire_code("CRS3035RES1000mN2689000E4337000") == (1000, 4337000, 2689000)
    assert inspire_code(43411, 26917, 100) == "CRS3035RES100mN2691700E4341100"


@pytest.mark.parametrize(
    "bad", ["CRS3035RES100mE4341100N2691700", "CRS4326RES100mN1E1", "CRS3035RES100mN2691750E4341100"]
)
def test_bad_inspire_codes_raise(bad):
    with pytest.raises(ValueError, match="code"):
        parse_inspire_code(bad)


def test_eea_codes_round_trip():
    assert eea_code(43, 26, 100_000) == "100kmE43N26"
    assert parse_eea_code("100kmE43N26") == (100_000, 43, 26)
    assert parse_eea_code("1kmE4402N3331") == (1000, 4402, 3331)
    assert eea_code(43411, 26917, 100) == "100mE43411N26917"


def test_lonlat_cell_code_round_trip_within_half_diagonal():
    rng = np.random.default_rng(3)
    lon = np.concatenate(
        [rng.uniform(-9.6, 3.4, 200), rng.uniform(15.5, 30.0, 200), rng.uniform(3.3, 7.3, 200)]
    )
    lat = np.concatenate(
        [rng.uniform(35.9, 43.9, 200), rng.uniform(65.0, 70.1, 200), rng.uniform(50.7, 53.6, 200)]
    )
    ix, iy = lonlat_to_cell(lon, lat)
    codes = [inspire_code(i, j) for i, j in zip(ix, iy, strict=True)]
    back = np.array([parse_inspire_code(c)[1:] for c in codes]) // 100
    np.testing.assert_array_equal(back[:, 0], ix)
    np.testing.assert_array_equal(back[:, 1], iy)
    clon, clat = cell_to_lonlat(back[:, 0], back[:, 1])
    dist = _haversine_m(lon, lat, clon, clat)
    assert dist.max() < 71.0  # half the diagonal of a 100 m cell (70.7 m) plus LAEA scale error


def test_cell_is_lower_left_referenced():
    ix, iy = cell_of_xy(4341100.0, 2691700.0)
    assert (ix, iy) == (43411, 26917)
    ix, iy = cell_of_xy(4341199.999, 2691799.999)
    assert (ix, iy) == (43411, 26917)
    x, y = xy_of_cell(43411, 26917, where="ll")
    assert (x, y) == (4341100, 2691700)
    x, y = xy_of_cell(43411, 26917)
    assert (x, y) == (4341150.0, 2691750.0)


def test_projection_is_laea_false_origin():
    # lon_0 = 10, lat_0 = 52 maps to the false origin (4321000, 3210000)
    x, y = lonlat_to_xy(10.0, 52.0)
    assert abs(x - 4321000.0) < 1e-6 and abs(y - 3210000.0) < 1e-6


def test_crs_mismatch_raises():
    check_crs("EPSG:3035")
    check_crs("+proj=laea +lat_0=52 +lon_0=10 +x_0=4321000 +y_0=3210000 +ellps=GRS80 +units=m +no_defs")
    with pytest.raises(CRSMismatchError, match=r"expected EPSG:3035"):
        check_crs("EPSG:4326", what="landcover.tif")
    with pytest.raises(CRSMismatchError, match="no CRS"):
        check_crs(None, what="dem.tif")
