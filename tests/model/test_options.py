import pytest

from tccas import model as M


def test_defaults_follow_spec_evidence():
    o = M.ModelOptions()
    assert (o.ra_scheme, o.wind, o.dalec_step, o.longwave) == ("bethy", "constant", "daily", "forcing")
    assert hash(o) == hash(M.ModelOptions())  # static jit argument


@pytest.mark.parametrize(("field", "value"), [("ra_scheme", "x"), ("wind", "x"), ("dalec_step", "x"),
                                              ("longwave", "x"), ("spinup_cycles", 0)])  # fmt: skip
def test_validation(field, value):
    with pytest.raises(ValueError, match=field):
        M.ModelOptions(**{field: value})


def test_from_config():
    assert M.ModelOptions.from_config({"ra_scheme": "fauto", "wind": "forcing"}).wind == "forcing"
    assert M.ModelOptions.from_config(None) == M.ModelOptions()
    with pytest.raises(ValueError, match="unknown model option"):
        M.ModelOptions.from_config({"ra_schema": "bethy"})
