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

// The edges: the command line, settings, and what a person sees.
pub mod cli;
pub mod config;
pub mod output;

// 1. The workbook in, and the IOCs in it.
pub mod ioc;
pub mod workbook;

// 2. Before any request: one run at a time, the journal of earlier runs, the quota plan.
pub mod journal;
pub mod lock;
pub mod plan;
pub mod quota;

// 3. VirusTotal.
pub mod vt;

// 4. Rules and the run's report.
pub mod report;
pub mod report_xlsx;
pub mod rules;

// 5. The analyst's decision, then the outputs and the email.
pub mod email;
pub mod prompt;

// The commands that string these together.
pub mod app;
