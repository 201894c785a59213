//! Pay scale and salary-slip computation (being written).
