use super::*;

const MINIMAL: &str = r#"
currency = "INR"
[words]
numbering = "indian"
major_unit = "Rupees"
minor_unit = "Paise"
[[earnings]]
code = "BASIC"
label = "Basic salary"
[[deductions]]
code = "PF"
label = "Provident fund"
kind = "percent"
base = "BASIC"
rate = "12"
[grades."1.1"]
earnings = { BASIC = "10000.00" }
"#;

fn err(toml: &str) -> String {
    match PayScale::from_toml_str(toml) {
        Ok(_) => panic!("accepted an invalid scale"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn builtin_scale_loads_with_documented_grades() {
    let s = PayScale::builtin().unwrap();
    assert_eq!(s.currency(), "INR");
    assert_eq!(s.grades().collect::<Vec<_>>(), ["5.1", "6.1", "6.2", "7.1", "7.2", "8.1"]);
    assert!(s.has_grade("7.1"));
    assert!(!s.has_grade("7.3"));
    assert_eq!(s.basis(), Basis::Fixed(30));
    assert_eq!(s.company(), Some("Slipgate Demo Technologies Pvt. Ltd."));
}

#[test]
fn minimal_scale_loads_with_defaults() {
    let s = PayScale::from_toml_str(MINIMAL).unwrap();
    assert_eq!(s.basis_days(2024, 2), 30);
    assert_eq!(s.words_style().numbering(), Numbering::Indian);
}

#[test]
fn calendar_basis_uses_month_length() {
    let s = PayScale::from_toml_str(&format!("{MINIMAL}\n[proration]\nbasis = \"calendar\"\n")).unwrap();
    assert_eq!(s.basis_days(2024, 2), 29);
    assert_eq!(s.basis_days(2025, 2), 28);
    assert_eq!(s.basis_days(2025, 1), 31);
    assert_eq!(s.basis_days(2025, 4), 30);
}

#[test]
fn rejects_unknown_key() {
    let e = err(&MINIMAL.replace("currency = \"INR\"", "currency = \"INR\"\ncurrancy = \"INR\""));
    assert!(e.contains("unknown field `currancy`"), "{e}");
    let e = err(&MINIMAL.replace("rate = \"12\"", "rate = \"12\"\nrat = \"1\""));
    assert!(e.contains("unknown field `rat`"), "{e}");
}

#[test]
fn rejects_negative_amount() {
    let e = err(&MINIMAL.replace("\"10000.00\"", "\"-10000.00\""));
    assert!(e.contains("must not be negative"), "{e}");
    let e = err(&MINIMAL.replace("\"10000.00\"", "-10000"));
    assert!(e.contains("must not be negative"), "{e}");
}

#[test]
fn rejects_float_amount() {
    let e = err(&MINIMAL.replace("\"10000.00\"", "10000.50"));
    assert!(e.contains("quoted strings"), "{e}");
}

#[test]
fn rejects_bad_rate() {
    let e = err(&MINIMAL.replace("rate = \"12\"", "rate = \"112\""));
    assert!(e.contains("invalid rate (percent): too large"), "{e}");
    let e = err(&MINIMAL.replace("rate = \"12\"", "rate = \"12%\""));
    assert!(e.contains("not a plain decimal"), "{e}");
    let e = err(&MINIMAL.replace("rate = \"12\"", "rate = \"12.125\""));
    assert!(e.contains("more than two fraction digits"), "{e}");
}

#[test]
fn rejects_empty_grades() {
    let cut = MINIMAL.find("[grades.").unwrap();
    let e = err(&format!("{}[grades]\n", &MINIMAL[..cut]));
    assert!(e.contains("at least one grade"), "{e}");
}

#[test]
fn rejects_missing_and_unknown_grade_earnings() {
    let e = err(&MINIMAL.replace("{ BASIC = \"10000.00\" }", "{}"));
    assert!(e.contains("grade \"1.1\": missing earning BASIC"), "{e}");
    let e = err(&MINIMAL.replace("BASIC = \"10000.00\"", "BASIC = \"1\", HRA = \"2\""));
    assert!(e.contains("earning HRA is not defined"), "{e}");
}

#[test]
fn rejects_bad_basis() {
    let e = err(&format!("{MINIMAL}\n[proration]\nbasis = 0\n"));
    assert!(e.contains("from 1 to 31"), "{e}");
    let e = err(&format!("{MINIMAL}\n[proration]\nbasis = \"lunar\"\n"));
    assert!(e.contains("\"calendar\""), "{e}");
}

#[test]
fn rejects_bad_deduction_definitions() {
    let e = err(&MINIMAL.replace("base = \"BASIC\"", "base = \"DA\""));
    assert!(e.contains("deduction PF: base \"DA\""), "{e}");
    let e = err(&MINIMAL.replace("kind = \"percent\"", "kind = \"slab\""));
    assert!(e.contains("kind \"slab\" needs `slabs`"), "{e}");
    let e = err(&MINIMAL.replace("rate = \"12\"", "slabs = [{ from = \"100\", amount = \"1\" }]"));
    assert!(e.contains("kind \"percent\" needs `rate`"), "{e}");
    let slabs = "kind = \"slab\"\nbase = \"gross\"\nslabs = [{ from = \"0\", amount = \"0\" }, \
                 { from = \"0\", amount = \"1\" }]";
    let e = err(&MINIMAL.replace("kind = \"percent\"\nbase = \"BASIC\"\nrate = \"12\"", slabs));
    assert!(e.contains("strictly ascend"), "{e}");
    let e = err(&MINIMAL.replace("code = \"PF\"", "code = \"BASIC\""));
    assert!(e.contains("BASIC is defined twice"), "{e}");
    let e = err(&MINIMAL.replace("code = \"PF\"", "code = \"pf\""));
    assert!(e.contains("A-Z"), "{e}");
}

#[test]
fn rejects_rate_override_for_unknown_deduction() {
    let e = err(&MINIMAL.replace("{ BASIC = \"10000.00\" }", "{ BASIC = \"1\" }\nrates = { TDS = \"5\" }"));
    assert!(e.contains("rate for TDS"), "{e}");
}

#[test]
fn rejects_bad_currency_and_missing_earnings() {
    let e = err(&MINIMAL.replace("\"INR\"", "\"rupee\""));
    assert!(e.contains("ISO 4217"), "{e}");
    let e = err(&MINIMAL
        .replace("earnings = { BASIC = \"10000.00\" }", "earnings = {}")
        .replace("[[earnings]]\ncode = \"BASIC\"\nlabel = \"Basic salary\"\n", "earnings = []\n"));
    assert!(!e.is_empty());
}

#[test]
fn load_reports_missing_file_by_path() {
    let e = PayScale::load(Path::new("/nonexistent/pay-scale.toml")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/pay-scale.toml"), "{e}");
}
