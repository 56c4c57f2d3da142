import pytest

from temps import to_celsius, to_fahrenheit, to_kelvin


def test_freezing_point_in_kelvin():
    assert to_kelvin(0) == pytest.approx(273.15)


def test_boiling_point_in_fahrenheit():
    assert to_fahrenheit(100) == pytest.approx(212)


def test_body_temperature_round_trip():
    assert to_celsius(to_fahrenheit(37)) == pytest.approx(37)


@pytest.mark.parametrize("convert, value", [(to_kelvin, -274), (to_fahrenheit, -300), (to_celsius, -500)])
def test_below_absolute_zero_is_rejected(convert, value):
    with pytest.raises(ValueError, match="below absolute zero"):
        convert(value)
