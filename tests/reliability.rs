//! The reliability evidence of issue 6, against the real binary and the built-in VirusTotal
//! simulator (in-process on 127.0.0.1, time-compressed): the fault matrix, `kill -9` at seeded
//! random moments, SIGINT, two runs at once, quota planning, and no secret in any output.
//!
//! Each test builds its workbook at test time (tests/common/generated.rs) and asserts per IOC
//! from `run --json`, the workbook written and the simulator's request counts. It does not test
//! the rules or the email composition themselves (tests/run.rs, tests/email.rs do).

mod common;

#[path = "common/smtp.rs"]
mod smtp;

#[path = "reliability/harness.rs"]
mod harness;

#[path = "reliability/faults.rs"]
mod faults;

#[path = "reliability/crash.rs"]
mod crash;

#[path = "reliability/interrupt.rs"]
mod interrupt;

#[path = "reliability/quota.rs"]
mod quota;

#[path = "reliability/secrets.rs"]
mod secrets;
