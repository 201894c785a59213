#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;

fn read(csv_text: &str, out_dir: &Path) -> anyhow::Result<Input> {
    let file = out_dir.join("in.csv");
    std::fs::write(&file, csv_text).unwrap();
    read_input(&file, out_dir, "pdf", "2031-07")
}

fn err(csv_text: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    format!("{:#}", read(csv_text, dir.path()).unwrap_err())
}

#[test]
fn rejects_an_unknown_column_before_any_request() {
    let e = err("emp_id,emp_code,emp_name,emp_grade,working_days,salary\n1,ENG,A,7.1,2,9\n");
    assert!(e.contains("unknown column `salary`"), "{e}");
}

#[test]
fn rejects_a_header_without_a_required_column() {
    let e = err("emp_id,emp_code,emp_name,working_days\n1,ENG,A,2\n");
    assert!(e.contains("lacks `emp_grade`"), "{e}");
}

#[test]
fn rejects_a_duplicated_column() {
    let e = err("emp_id,emp_id,emp_code,emp_name,emp_grade,working_days\n");
    assert!(e.contains("appears twice"), "{e}");
}

#[test]
fn rejects_a_row_with_the_wrong_number_of_fields() {
    let e = err("emp_id,emp_code,emp_name,emp_grade,working_days\n1,ENG,A,7.1\n");
    assert!(e.contains("in.csv"), "{e}");
}

#[test]
fn plans_paths_from_emp_id_and_period_or_the_current_month() {
    let dir = tempfile::tempdir().unwrap();
    let input = read(
        "emp_id,emp_code,emp_name,emp_grade,working_days,pay_period\n\
         e1,ENG,Ann Lee,7.1,20,2025-01\n\
         e2,ENG,Bob Roe,7.1,20,\n",
        dir.path(),
    )
    .unwrap();
    let paths: Vec<(PathBuf, Option<String>)> = input
        .rows
        .iter()
        .map(|r| match &r.plan {
            Plan::Send(req, path) => (path.clone(), req.pay_period.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(paths[0], (dir.path().join("e1-2025-01.pdf"), Some("2025-01".into())));
    assert_eq!(paths[1], (dir.path().join("e2-2031-07.pdf"), None), "empty period: current month, none sent");
}

#[test]
fn skips_rows_whose_output_exists() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("e1-2025-01.pdf"), b"%PDF-").unwrap();
    let input = read(
        "emp_id,emp_code,emp_name,emp_grade,working_days,pay_period\ne1,ENG,A,7.1,2,2025-01\n",
        dir.path(),
    )
    .unwrap();
    assert!(matches!(input.rows[0].plan, Plan::Skip));
}

#[test]
fn refuses_emp_ids_that_would_leave_the_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let input = read(
        "emp_id,emp_code,emp_name,emp_grade,working_days\n../../etc/x,ENG,A,7.1,2\n,ENG,A,7.1,2\n",
        dir.path(),
    )
    .unwrap();
    for row in &input.rows {
        let Plan::Fail(f) = &row.plan else { panic!("{:?}", row.plan) };
        assert_eq!(f.code, "validation_failed");
        assert!(f.detail.contains("emp_id"), "{}", f.detail);
    }
}

#[test]
fn refuses_malformed_working_days_and_periods_locally() {
    let dir = tempfile::tempdir().unwrap();
    let input = read(
        "emp_id,emp_code,emp_name,emp_grade,working_days,pay_period\ne1,ENG,A,7.1,ten,2025-13\n",
        dir.path(),
    )
    .unwrap();
    let Plan::Fail(f) = &input.rows[0].plan else { panic!() };
    assert!(f.detail.contains("working_days") && f.detail.contains("pay_period"), "{}", f.detail);
}

#[test]
fn marks_a_second_row_for_the_same_slip_as_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    let input =
        read("emp_id,emp_code,emp_name,emp_grade,working_days\ne1,ENG,A,7.1,2\ne1,ENG,A,7.1,3\n", dir.path())
            .unwrap();
    assert!(matches!(input.rows[0].plan, Plan::Send(..)));
    let Plan::Fail(f) = &input.rows[1].plan else { panic!() };
    assert_eq!(f.code, "duplicate_row");
    assert!(f.detail.contains("line 2"), "{}", f.detail);
}

#[test]
fn accepts_its_own_failed_csv_as_input() {
    let dir = tempfile::tempdir().unwrap();
    let input = read(
        "emp_id,emp_code,emp_name,emp_grade,working_days,pay_period,code,detail\n\
         e1,ENG,A,7.1,2,2025-01,validation_failed,emp_grade: unknown\n",
        dir.path(),
    )
    .unwrap();
    assert_eq!(input.header, ["emp_id", "emp_code", "emp_name", "emp_grade", "working_days", "pay_period"]);
    assert_eq!(input.rows[0].fields.len(), 6);
    assert!(matches!(input.rows[0].plan, Plan::Send(..)));
}

#[test]
fn failed_csv_holds_the_row_plus_code_and_detail() {
    let dir = tempfile::tempdir().unwrap();
    let input =
        read("emp_id,emp_code,emp_name,emp_grade,working_days\ne1,ENG,\"Lee, Ann\",9.9,2\n", dir.path())
            .unwrap();
    let mut failures =
        vec![(0, Failure { code: "validation_failed".into(), detail: "emp_grade: unknown grade".into() })];
    write_failed(dir.path(), &input, &mut failures).unwrap();
    let text = std::fs::read_to_string(dir.path().join("failed.csv")).unwrap();
    assert_eq!(
        text,
        "emp_id,emp_code,emp_name,emp_grade,working_days,code,detail\n\
         e1,ENG,\"Lee, Ann\",9.9,2,validation_failed,emp_grade: unknown grade\n"
    );
    write_failed(dir.path(), &input, &mut []).unwrap();
    assert!(!dir.path().join("failed.csv").exists(), "a clean run removes a stale failed.csv");
}
