from __future__ import annotations

import numpy as np
import pytest

from tccas.io.errors import CorruptFileError, SchemaMismatchError
from tccas.io.site import read_site_forcing, read_site_table


def test_real_loobos_forcing(real_data_dir):
    f = read_site_forcing(real_data_dir / "Loobos_1997.dat")
    assert f.t_air.shape == (365, 24) and f.day_number.shape == (365,)
    assert f.day_number[0] == (np.datetime64("1997-01-01") - np.datetime64("2015-01-01")).astype(int)
    raw = read_site_table(real_data_dir / "Loobos_1997.dat")
    # hour 0 is the mean of the first two half-hours; first record 259.8 K, 187.8 W m-2 (file header block)
    assert np.isclose(f.t_air[0, 0], (raw["t_air"][0] + raw["t_air"][1]) / 2 - 273.15)
    assert np.isclose(raw["t_air"][0], 259.8) and np.isclose(raw["lw_down"][0], 187.8)
    assert np.isclose(f.precip.sum() / 1.0, ((raw["rain"] + raw["snow"]) * 1800).sum())  # mm conserved
    assert 600 < f.precip.sum() < 1200  # Dutch annual precipitation [mm]
    assert f.sw_down[:, :4].max() < 5 and f.sw_down[172, 10:14].mean() > 200  # night / summer noon (UTC)
    assert 0 < f.vapour_pressure.min() and f.vapour_pressure.max() < 3500
    assert np.all(f.co2 == pytest.approx(364e-6))


def test_site_file_errors(tmp_path, real_data_dir):
    lines = (real_data_dir / "Loobos_1997.dat").read_text().splitlines()
    short = tmp_path / "Loobos_1997.dat"
    short.write_text("\n".join(lines[:5] + [" ".join(r.split()[:7]) for r in lines[5:53]]))
    with pytest.raises(SchemaMismatchError, match="7 columns"):
        read_site_table(short)
    odd = tmp_path / "odd.dat"
    odd.write_text("\n".join(lines[: 5 + 47]))
    with pytest.raises(SchemaMismatchError, match="whole days"):
        read_site_forcing(odd)
    bad = tmp_path / "bad.dat"
    rows = lines[: 5 + 48]
    rows[7] = rows[7].replace("259.", "159.")
    bad.write_text("\n".join(rows))
    with pytest.raises(SchemaMismatchError, match=r"t_air.*line 8"):
        read_site_table(bad)
    junk = tmp_path / "junk.dat"
    junk.write_text("# a\n# b\n# c\n# d\n# e\n1 2 x\n")
    with pytest.raises(CorruptFileError, match=r"junk.dat"):
        read_site_table(junk)
