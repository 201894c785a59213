-- Employee records (SPEC §3.4, §4): each user's emp_code, emp_name and emp_grade, beside
-- idp_users (whose emp_id stays where it was). A table of its own rather than new columns, so
-- the migration is idempotent on SQLite too (it has no ADD COLUMN IF NOT EXISTS). Users created
-- before this migration have no row: their record is incomplete, and the API refuses their
-- `salaryslip:self` requests (403) until `slipgate idp user update` completes it.
CREATE TABLE IF NOT EXISTS idp_employee_records (
    username  TEXT PRIMARY KEY,
    emp_code  TEXT,
    emp_name  TEXT,
    emp_grade TEXT
);
