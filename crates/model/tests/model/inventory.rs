use super::fixtures::inventory_levels;

#[test]
fn sellable_never_goes_below_zero_but_total_keeps_the_sign() {
    let levels = inventory_levels();
    assert_eq!(levels[0].sellable(), 120);
    assert_eq!(levels[0].total(), 177);
    assert_eq!(levels[1].sellable(), 0);
    assert_eq!(levels[1].total(), -3);

    let mut huge = levels[0].clone();
    huge.available = i64::MAX;
    huge.reserved = 1;
    assert_eq!(huge.sellable(), u32::MAX);
    assert_eq!(huge.total(), i64::MAX);
}
