use roman::to_roman;

#[test]
fn single_letters() {
    assert_eq!(to_roman(1), "I");
    assert_eq!(to_roman(5), "V");
    assert_eq!(to_roman(1000), "M");
}

#[test]
fn additive() {
    assert_eq!(to_roman(3), "III");
    assert_eq!(to_roman(2026), "MMXXVI");
}

#[test]
fn subtractive() {
    assert_eq!(to_roman(4), "IV");
    assert_eq!(to_roman(9), "IX");
    assert_eq!(to_roman(40), "XL");
    assert_eq!(to_roman(900), "CM");
}

#[test]
fn mixed() {
    assert_eq!(to_roman(1994), "MCMXCIV");
    assert_eq!(to_roman(3999), "MMMCMXCIX");
}

#[test]
fn out_of_range_is_empty() {
    assert_eq!(to_roman(0), "");
    assert_eq!(to_roman(4000), "");
}
