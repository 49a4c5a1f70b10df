//! ioc-tracker: re-check the Indicators of Compromise an analyst tracks in a workbook.
//!
//! The modules are declared in the order the data flows through a run:
//!
//! ```text
//! settings (config) → workbook (read) → ioc (parse, normalise, dedupe)
//!   → vt (re-analyse at the rate-limit bound) → rules (threshold, EDR coverage)
//!   → prompt (the analyst's decision) → workbook (write) + report (xlsx) → email
//! ```
//!
//! `app` strings these together; `cli` and `output` are the edges a person sees.

pub mod app;
pub mod cli;
pub mod config;
pub mod email;
pub mod ioc;
pub mod output;
pub mod prompt;
pub mod report;
pub mod report_xlsx;
pub mod rules;
pub mod vt;
pub mod workbook;
