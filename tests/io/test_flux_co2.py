from __future__ import annotations

import numpy as np
import pytest

from tccas.io.errors import CorruptFileError, CoverageError, SchemaMismatchError
from tccas.io.flux import co2_daily, read_co2_series

TRENDY = "CO2_1700_2024_TRENDYv2025.txt"


@pytest.fixture(scope="module")
def series(real_data_dir):
    return read_co2_series(real_data_dir / "callmip" / TRENDY)


def test_real_trendy_series(series):
    assert series.index[0] == 1700 and series.index[-1] == 2024 and series.size == 325
    assert series[1700] == 277.57 and series[2014] == 397.34 and series[2024] == 422.77
    assert series.attrs["units"] == "ppm" and series.attrs["source"].endswith(TRENDY)
    assert np.all(np.diff(series.loc[1960:].values) > 0)  # the modern rise


def test_co2_daily_interpolates_between_mid_year_values(series):
    days = np.arange("2013-01-01", "2016-01-01", dtype="datetime64[D]")
    c = co2_daily(series, days)
    assert c.shape == days.shape and np.all(np.diff(c) > 0)
    # the annual value sits at mid-year (decimal year Y + 0.5 = 2 July 12:00 in 2014)
    assert co2_daily(series, np.array(["2014-07-02T12:00"], dtype="datetime64[s]"))[0] == pytest.approx(
        397.34
    )
    # 1 January 2014 is halfway between the 2013 and 2014 mid-year values
    jan1 = co2_daily(series, np.array(["2014-01-01"], dtype="datetime64[D]"))[0]
    assert jan1 == pytest.approx(0.5 * (series[2013] + series[2014]), abs=1e-9)
    # the annual mean of the daily values stays close to the annual value (the curve is piecewise linear)
    year = (days >= np.datetime64("2014-01-01")) & (days < np.datetime64("2015-01-01"))
    assert np.mean(c[year]) == pytest.approx(series[2014], abs=0.05)
    # the last half-year extrapolates the last segment
    dec31 = co2_daily(series, np.array(["2024-12-31T23:00"], dtype="datetime64[s]"))[0]
    assert series[2024] < dec31 < series[2024] + 0.6 * (series[2024] - series[2023])
    with pytest.raises(CoverageError, match=r"CO2_1700_2024.*1700\.\.2024"):
        co2_daily(series, np.array(["2025-03-01"], dtype="datetime64[D]"))


def test_bad_co2_files(tmp_path, real_data_dir):
    lines = (real_data_dir / "callmip" / TRENDY).read_text().splitlines()
    bad = tmp_path / TRENDY
    bad.write_text("\n".join([*lines[:5], "Annee_1705=abc", *lines[6:10]]))
    with pytest.raises(CorruptFileError, match=r"\[Annee\].*line 6"):
        read_co2_series(bad)
    bad.write_text("\n".join([*lines[:5], *lines[6:10]]))
    with pytest.raises(SchemaMismatchError, match=r"\[Annee_1706\].*not consecutive"):
        read_co2_series(bad)
    bad.write_text("\n".join([*lines[:5], "Annee_1705=27.76", *lines[6:10]]))
    with pytest.raises(SchemaMismatchError, match=r"\[Annee_1705\].*outside"):
        read_co2_series(bad)
    bad.write_text("")
    with pytest.raises(CorruptFileError, match="empty"):
        read_co2_series(bad)
