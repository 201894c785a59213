use proptest::prelude::*;
use time::macros::datetime;

use super::*;
use crate::money::Percentage;

fn scale() -> PayScale {
    PayScale::builtin().unwrap()
}

fn input(grade: &str, working_days: u32) -> SlipInput<'_> {
    SlipInput {
        emp_id: "01234",
        emp_code: "ENG",
        emp_name: "John Doe",
        emp_grade: grade,
        year: 2025,
        month: 5,
        working_days,
    }
}

fn amounts(items: &[LineItem]) -> Vec<(&str, &str)> {
    items.iter().map(|i| (i.code.as_str(), i.amount.as_str())).collect()
}

fn money(s: &str) -> Money {
    s.parse().unwrap()
}

#[test]
fn full_basis_pays_monthly_amounts() {
    let s = scale();
    for grade in s.grades() {
        let b = s.breakdown(grade, 2025, 5, 30).unwrap();
        assert_eq!(b.earnings, s.grades[grade].monthly, "grade {grade}");
    }
    let slip = s.compute(&input("7.1", 30), "id".into(), datetime!(2025-05-31 0:00 UTC)).unwrap();
    assert_eq!(
        amounts(&slip.earnings),
        [("BASIC", "41350.00"), ("HRA", "16540.00"), ("SPECIAL", "12875.00"), ("CONV", "1600.00")]
    );
    assert_eq!(slip.gross_earnings, "72365.00");
}

#[test]
fn prorates_grade_7_1_for_24_of_30_days() {
    let slip =
        scale().compute(&input("7.1", 24), "slip-1".into(), datetime!(2025-05-31 12:30:00 +05:30)).unwrap();
    assert_eq!(
        amounts(&slip.earnings),
        [("BASIC", "33080.00"), ("HRA", "13232.00"), ("SPECIAL", "10300.00"), ("CONV", "1280.00")]
    );
    assert_eq!(slip.gross_earnings, "57892.00");
    assert_eq!(amounts(&slip.deductions), [("PF", "3969.60"), ("PT", "200.00"), ("TDS", "2894.60")]);
    assert_eq!(slip.total_deductions, "7064.20");
    assert_eq!(slip.net_pay, "50827.80");
    assert_eq!(
        slip.net_pay_in_words,
        "Rupees Fifty Thousand Eight Hundred Twenty-Seven and Paise Eighty Only"
    );
    assert_eq!(slip.period, Period { month: "2025-05".into(), basis_days: 30, working_days: 24 });
    assert_eq!(slip.currency, "INR");
    assert_eq!(slip.generated_at, "2025-05-31T12:30:00+05:30");
    assert_eq!(slip.slip_id, "slip-1");
    assert_eq!(slip.employee.emp_grade, "7.1");
}

#[test]
fn rounds_prorated_amounts_half_up() {
    // The docs/pay-scale.md case: grade 7.1, 23 of 30 days.
    let b = scale().breakdown("7.1", 2025, 5, 23).unwrap();
    let shown: Vec<String> = b.earnings.iter().map(Money::to_string).collect();
    assert_eq!(shown, ["31701.67", "12680.67", "9870.83", "1226.67"]);
    assert_eq!(b.gross, money("55479.84"));
    assert_eq!(b.deductions, [money("3804.20"), money("200"), money("2773.99")]);
    assert_eq!(b.net, money("48701.65"));

    // An exact half paisa rounds up: 100.01 × 15 / 30 = 50.005 → 50.01.
    let half = PayScale::from_toml_str(
        r#"
        currency = "INR"
        [words]
        numbering = "indian"
        major_unit = "Rupees"
        minor_unit = "Paise"
        [[earnings]]
        code = "BASIC"
        label = "Basic"
        [grades.A]
        earnings = { BASIC = "100.01" }
        "#,
    )
    .unwrap();
    assert_eq!(half.breakdown("A", 2025, 5, 15).unwrap().gross, money("50.01"));
    assert_eq!(half.breakdown("A", 2025, 5, 14).unwrap().gross, money("46.67"));
}

#[test]
fn rejects_unknown_grade() {
    let e = scale().compute(&input("9.9", 10), "id".into(), datetime!(2025-05-31 0:00 UTC));
    assert_eq!(e, Err(ComputeError::UnknownGrade));
    assert_eq!(ComputeError::UnknownGrade.to_string(), "unknown grade");
}

#[test]
fn rejects_days_beyond_basis() {
    let e = scale().compute(&input("7.1", 31), "id".into(), datetime!(2025-05-31 0:00 UTC));
    assert_eq!(e, Err(ComputeError::DaysExceedBasis { basis: 30 }));
}

#[test]
fn rejects_invalid_period() {
    assert_eq!(scale().breakdown("7.1", 2025, 13, 1), Err(ComputeError::InvalidPeriod));
    assert_eq!(scale().breakdown("7.1", 2025, 0, 1), Err(ComputeError::InvalidPeriod));
}

#[test]
fn calendar_basis_limits_days_to_month_length() {
    let text = include_str!("../../pay-scale.toml").replace("basis = 30", "basis = \"calendar\"");
    let s = PayScale::from_toml_str(&text).unwrap();
    assert_eq!(s.breakdown("7.1", 2025, 2, 29), Err(ComputeError::DaysExceedBasis { basis: 28 }));
    let b = s.breakdown("7.1", 2025, 2, 28).unwrap();
    assert_eq!(b.gross, money("72365.00"));
}

#[test]
fn zero_days_pays_nothing_and_deducts_nothing() {
    let b = scale().breakdown("8.1", 2025, 5, 0).unwrap();
    assert_eq!(b.gross, Money::ZERO);
    assert_eq!(b.total_deductions, Money::ZERO);
    assert_eq!(b.net, Money::ZERO);
}

#[test]
fn caps_deductions_so_net_pay_is_never_negative() {
    let s = PayScale::from_toml_str(
        r#"
        currency = "INR"
        [words]
        numbering = "indian"
        major_unit = "Rupees"
        minor_unit = "Paise"
        [[earnings]]
        code = "BASIC"
        label = "Basic"
        [[deductions]]
        code = "ALL"
        label = "Everything"
        kind = "percent"
        base = "gross"
        rate = "100"
        [[deductions]]
        code = "PT"
        label = "Professional tax"
        kind = "slab"
        base = "gross"
        slabs = [{ from = "0", amount = "200" }]
        [grades.A]
        earnings = { BASIC = "1000" }
        "#,
    )
    .unwrap();
    let b = s.breakdown("A", 2025, 5, 30).unwrap();
    assert_eq!(b.deductions, [money("1000"), Money::ZERO]);
    assert_eq!(b.net, Money::ZERO);
}

/// Checks SPEC §3.5 invariants on the wire slip for one computation.
fn check_invariants(s: &PayScale, grade: &str, days: u32) {
    let inp = SlipInput { emp_grade: grade, working_days: days, ..input(grade, days) };
    let slip = s.compute(&inp, "id".into(), datetime!(2025-05-31 0:00 UTC)).unwrap();
    let sum = |items: &[LineItem]| items.iter().map(|i| money(&i.amount).minor_units()).sum::<i64>();
    let gross = money(&slip.gross_earnings).minor_units();
    let total = money(&slip.total_deductions).minor_units();
    let net = money(&slip.net_pay).minor_units();
    assert_eq!(sum(&slip.earnings), gross);
    assert_eq!(sum(&slip.deductions), total);
    assert_eq!(gross - total, net);
    assert!(net >= 0, "grade {grade} days {days}");
    for amount in slip.earnings.iter().chain(&slip.deductions).map(|i| &i.amount) {
        let (_, frac) = amount.split_once('.').unwrap();
        assert_eq!(frac.len(), 2);
    }
    let basis = s.basis_days(2025, 5);
    if days == basis {
        assert_eq!(s.breakdown(grade, 2025, 5, days).unwrap().earnings, s.grades[grade].monthly);
    }
}

#[test]
fn invariants_hold_for_every_builtin_grade_and_day_count() {
    let s = scale();
    for grade in s.grades() {
        for days in 0..=s.basis_days(2025, 5) {
            check_invariants(&s, grade, days);
        }
    }
}

/// A random valid scale in TOML: 1–5 earnings, a percent and a slab deduction.
fn scale_toml() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(0i64..=10_000_000_000, 1..=5),
        0u32..=10_000,
        0u32..=10_000,
        prop::collection::vec((1i64..=100_000_000, 0i64..=10_000_000), 0..=3),
        prop_oneof![(1u32..=31).prop_map(|d| d.to_string()), Just("\"calendar\"".to_owned())],
    )
        .prop_map(|(earn, rate, grade_rate, slabs, basis)| {
            let mut t = format!(
                "currency = \"USD\"\n[proration]\nbasis = {basis}\n[words]\nnumbering = \
                 \"international\"\nmajor_unit = \"Dollars\"\nminor_unit = \"Cents\"\n"
            );
            for i in 0..earn.len() {
                t += &format!("[[earnings]]\ncode = \"E{i}\"\nlabel = \"Earning {i}\"\n");
            }
            t += &format!(
                "[[deductions]]\ncode = \"P\"\nlabel = \"Pct\"\nkind = \"percent\"\nbase = \"E0\"\n\
                 rate = \"{}\"\n",
                Percentage::from_basis_points(rate).unwrap()
            );
            let mut from = 0i64;
            let mut slab_list = vec![format!("{{ from = \"0\", amount = \"1.00\" }}")];
            for (step, amount) in slabs {
                from += step;
                slab_list.push(format!(
                    "{{ from = \"{}\", amount = \"{}\" }}",
                    Money::from_minor_units(from),
                    Money::from_minor_units(amount)
                ));
            }
            t += &format!(
                "[[deductions]]\ncode = \"S\"\nlabel = \"Slab\"\nkind = \"slab\"\nbase = \"gross\"\n\
                 slabs = [{}]\n",
                slab_list.join(", ")
            );
            let amounts: Vec<String> = earn
                .iter()
                .enumerate()
                .map(|(i, m)| format!("E{i} = \"{}\"", Money::from_minor_units(*m)))
                .collect();
            t += &format!("[grades.G1]\nearnings = {{ {} }}\n", amounts.join(", "));
            t += &format!(
                "[grades.G2]\nearnings = {{ {} }}\nrates = {{ P = \"{}\" }}\n",
                amounts.join(", "),
                Percentage::from_basis_points(grade_rate).unwrap()
            );
            t
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn invariants_hold_for_random_valid_scales(toml in scale_toml()) {
        let s = PayScale::from_toml_str(&toml).unwrap();
        for grade in ["G1", "G2"] {
            for days in 0..=s.basis_days(2025, 5) {
                check_invariants(&s, grade, days);
            }
        }
    }

    #[test]
    fn money_display_parse_round_trips(units in 0i64..=crate::money::MAX_MINOR_UNITS) {
        let m = Money::from_minor_units(units);
        prop_assert_eq!(m.to_string().parse::<Money>(), Ok(m));
    }
}
