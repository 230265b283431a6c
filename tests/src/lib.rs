//! Integration suites live in `cli/` and `e2e/`.
