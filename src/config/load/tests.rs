//! Merge tests: every layer, its precedence, derived defaults and range checks. The environment
//! is a map handed to `load_with_dirs`; the process environment is never touched.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use clap::Parser;

use super::*;
use crate::config::{SmtpAuth, SmtpSecurity};

const KEY_A: &str = "aaaa1111bbbb2222cccc3333dddd4444eeee5555ffff6666aaaa7777bbbb8888";
const KEY_B: &str = "9999888877776666555544443333222211110000aaaabbbbccccddddeeeeffff";

struct Case {
    dir: tempfile::TempDir,
    env: HashMap<String, String>,
}

impl Case {
    fn new() -> Case {
        Case {
            dir: tempfile::tempdir().unwrap(),
            env: HashMap::new(),
        }
    }

    fn file(&self, text: &str) -> String {
        let path = self.dir.path().join("ioc-tracker.toml");
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    fn env(mut self, k: &str, v: &str) -> Case {
        self.env.insert(k.into(), v.into());
        self
    }

    fn load(&self, args: &[&str]) -> Result<Settings, ConfigError> {
        let mut argv = vec!["ioc-tracker"];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).unwrap();
        let env = |k: &str| self.env.get(k).cloned();
        load_with_dirs(&cli, &env, Some(self.dir.path()))
    }

    fn err(&self, args: &[&str]) -> String {
        self.load(args).unwrap_err().to_string()
    }
}

fn json(s: &Settings) -> serde_json::Value {
    let mut v = serde_json::to_value(s).unwrap();
    v.as_object_mut().unwrap().remove("config_file");
    v
}

#[test]
fn nothing_given_is_the_defaults() {
    let case = Case::new();
    let s = case.load(&["validate"]).unwrap();
    assert_eq!(s.config_file, None);
    assert_eq!(json(&s), json(&Settings::defaults()));
}

#[test]
fn threshold_flag_beats_env_beats_file_beats_default() {
    let mut case = Case::new();
    let cfg = case.file("[rules]\nthreshold = 7\n");
    let with_env = |c: &mut Case, v: Option<&str>| match v {
        Some(v) => {
            c.env.insert(env::THRESHOLD.into(), v.into());
        }
        None => {
            c.env.remove(env::THRESHOLD);
        }
    };
    with_env(&mut case, Some("8"));
    assert_eq!(
        case.load(&["run", "-c", &cfg, "--threshold", "9"])
            .unwrap()
            .rules
            .threshold,
        9
    );
    // A flag equal to the default still wins: "given" is not "differs from the default".
    assert_eq!(
        case.load(&["run", "-c", &cfg, "--threshold", "5"])
            .unwrap()
            .rules
            .threshold,
        5
    );
    assert_eq!(case.load(&["run", "-c", &cfg]).unwrap().rules.threshold, 8);
    with_env(&mut case, None);
    assert_eq!(case.load(&["run", "-c", &cfg]).unwrap().rules.threshold, 7);
    assert_eq!(case.load(&["run"]).unwrap().rules.threshold, 5);
}

#[test]
fn workbook_and_report_paths_layer_the_same_way() {
    let case = Case::new()
        .env(env::WORKBOOK, "/env/book.xlsx")
        .env(env::REPORT, "/env/report.xlsx");
    let cfg =
        case.file("[workbook]\npath = \"/file/book.xlsx\"\n[report]\npath = \"/file/r.xlsx\"\n");
    let s = case
        .load(&[
            "run",
            "-c",
            &cfg,
            "-w",
            "/flag/book.xlsx",
            "--report",
            "/flag/r.xlsx",
        ])
        .unwrap();
    assert_eq!(s.workbook.path, PathBuf::from("/flag/book.xlsx"));
    assert_eq!(s.report.path, Some(PathBuf::from("/flag/r.xlsx")));
    let s = case.load(&["validate", "-c", &cfg]).unwrap();
    assert_eq!(s.workbook.path, PathBuf::from("/env/book.xlsx"));
    assert_eq!(s.report.path, Some(PathBuf::from("/env/report.xlsx")));
    let s = case
        .load(&["validate", "-c", &cfg, "--workbook", "x.xlsx"])
        .unwrap();
    assert_eq!(s.workbook.path, PathBuf::from("x.xlsx"));
    let case2 = Case::new();
    let cfg2 = case2.file("[workbook]\npath = \"/file/book.xlsx\"\n");
    assert_eq!(
        case2
            .load(&["validate", "-c", &cfg2])
            .unwrap()
            .workbook
            .path,
        PathBuf::from("/file/book.xlsx")
    );
}

#[test]
fn boolean_flags_only_count_when_given() {
    let case = Case::new();
    let off = case.file("[virustotal]\nreanalyse = false\n[rules]\nrealert = true\n");
    let s = case.load(&["run", "-c", &off]).unwrap();
    assert!(!s.virustotal.reanalyse && s.rules.realert);
    let s = case.load(&["run"]).unwrap();
    assert!(s.virustotal.reanalyse && !s.rules.realert);
    let s = case.load(&["run", "--no-reanalyse", "--realert"]).unwrap();
    assert!(!s.virustotal.reanalyse && s.rules.realert);
    let s = case
        .load(&["check", "--no-reanalyse", "x.example"])
        .unwrap();
    assert!(!s.virustotal.reanalyse);
}

#[test]
fn api_keys_from_env_win_and_are_split_trimmed_and_deduplicated() {
    let case = Case::new().env(env::VT_KEYS, &format!(" {KEY_A} ,{KEY_B},,{KEY_A}"));
    let cfg = case.file("[virustotal]\napi_keys = [\"filekey0000000000000000\"]\n");
    let s = case.load(&["run", "-c", &cfg]).unwrap();
    let got: Vec<&str> = s.virustotal.api_keys.iter().map(|k| k.expose()).collect();
    assert_eq!(got, vec![KEY_A, KEY_B]);

    let case = Case::new();
    let cfg = case.file("[virustotal]\napi_keys = [\"filekey0000000000000000\"]\n");
    let s = case.load(&["run", "-c", &cfg]).unwrap();
    assert_eq!(s.virustotal.api_keys[0].expose(), "filekey0000000000000000");

    let case = Case::new().env(env::VT_KEYS, " , ");
    assert!(
        case.err(&["run"])
            .contains("IOC_TRACKER_VT_KEYS is set but holds no key")
    );
    let case = Case::new();
    let cfg = case.file("[virustotal]\napi_keys = [\"ok0000000000000000\", \"  \"]\n");
    let text = case.err(&["run", "-c", &cfg]);
    assert!(
        text.contains("virustotal API key 2") && text.contains("is empty"),
        "{text}"
    );
    let cfg = case.file("[virustotal]\napi_keys = [\"has space inside\"]\n");
    let text = case.err(&["run", "-c", &cfg]);
    assert!(
        text.contains("contains a space") && !text.contains("has space inside"),
        "{text}"
    );
}

#[test]
fn base_url_from_env_beats_file() {
    let case = Case::new().env(env::VT_BASE_URL, "http://127.0.0.1:9999/api/v3/");
    let cfg = case.file("[virustotal]\nbase_url = \"https://file.example/api/v3\"\n");
    let s = case.load(&["run", "-c", &cfg]).unwrap();
    assert_eq!(s.virustotal.base_url, "http://127.0.0.1:9999/api/v3");
    let case = Case::new();
    let cfg = case.file("[virustotal]\nbase_url = \"https://file.example/api/v3\"\n");
    assert_eq!(
        case.load(&["run", "-c", &cfg]).unwrap().virustotal.base_url,
        "https://file.example/api/v3"
    );
    let case = Case::new().env(env::VT_BASE_URL, "ftp://x.example");
    let text = case.err(&["run"]);
    assert!(
        text.contains("virustotal.base_url (from $IOC_TRACKER_VT_BASE_URL)"),
        "{text}"
    );
}

#[test]
fn smtp_password_comes_from_the_named_variable_before_the_file() {
    let case = Case::new()
        .env("MY_SMTP_PW", "from-env")
        .env(env::SMTP_PASSWORD_DEFAULT, "default-var");
    let cfg = case.file("[email]\nsmtp_host = \"smtp.example\"\npassword_env = \"MY_SMTP_PW\"\npassword = \"from-file\"\n");
    let s = case.load(&["run", "-c", &cfg]).unwrap();
    assert_eq!(s.email.password.as_ref().unwrap().expose(), "from-env");
    let case = Case::new().env(env::SMTP_PASSWORD_DEFAULT, "default-var");
    let cfg = case.file("[email]\npassword = \"from-file\"\n");
    assert_eq!(
        case.load(&["run", "-c", &cfg])
            .unwrap()
            .email
            .password
            .unwrap()
            .expose(),
        "default-var"
    );
    let case = Case::new();
    let cfg = case.file("[email]\npassword = \"from-file\"\noauth_token = \"tok-file\"\n");
    let s = case.load(&["run", "-c", &cfg]).unwrap();
    assert_eq!(s.email.password.unwrap().expose(), "from-file");
    assert_eq!(s.email.oauth_token.unwrap().expose(), "tok-file");
    let case = Case::new().env(env::SMTP_OAUTH_TOKEN, "tok-env");
    let cfg = case.file("[email]\noauth_token = \"tok-file\"\n");
    assert_eq!(
        case.load(&["run", "-c", &cfg])
            .unwrap()
            .email
            .oauth_token
            .unwrap()
            .expose(),
        "tok-env"
    );
    let cfg = case.file("[email]\npassword_env = \"not a name\"\n");
    assert!(
        case.err(&["run", "-c", &cfg])
            .contains("email.password_env")
    );
}

#[test]
fn email_derived_defaults() {
    let case = Case::new();
    let s = case.load(&["run"]).unwrap();
    assert!(!s.email.enabled);
    assert_eq!(s.email.smtp_port, 587);
    for (security, port) in [("starttls", 587), ("tls", 465), ("none", 25)] {
        let cfg = case.file(&format!(
            "[email]\nsmtp_host = \"smtp.example\"\nsecurity = \"{security}\"\n"
        ));
        let s = case.load(&["run", "-c", &cfg]).unwrap();
        assert!(s.email.enabled, "a host turns email on");
        assert_eq!(s.email.smtp_port, port, "{security}");
    }
    let cfg = case.file("[email]\nsmtp_host = \"smtp.example\"\nsecurity = \"tls\"\nsmtp_port = 2465\nenabled = false\nauth = \"login\"\ntimeout = \"5s\"\n");
    let s = case.load(&["run", "-c", &cfg]).unwrap();
    assert_eq!((s.email.enabled, s.email.smtp_port), (false, 2465));
    assert_eq!(s.email.security, SmtpSecurity::Tls);
    assert_eq!(s.email.auth, SmtpAuth::Login);
    assert_eq!(s.email.timeout, Duration::from_secs(5));
    let cfg = case.file("[email]\nsmtp_host = \"smtp.example\"\n");
    assert!(
        !case
            .load(&["run", "-c", &cfg, "--no-email"])
            .unwrap()
            .email
            .enabled
    );
}

#[test]
fn values_out_of_range_are_rejected_naming_key_and_origin() {
    let case = Case::new();
    let cases = [
        (
            "[virustotal]\nrequests_per_minute = 0\n",
            "virustotal.requests_per_minute (in ",
        ),
        ("[virustotal]\ndaily_quota = 0\n", "virustotal.daily_quota"),
        ("[virustotal]\ntime_scale = 0.0\n", "virustotal.time_scale"),
        (
            "[virustotal]\ntime_scale = -2.0\n",
            "must be a number greater than 0",
        ),
        (
            "[virustotal]\npoll_timeout = \"0s\"\n",
            "virustotal.poll_timeout",
        ),
        ("[rules]\nthreshold = 0\n", "rules.threshold"),
        ("[rules]\nthreshold = 101\n", "between 1 and 100"),
        ("[email]\nsmtp_port = 0\n", "email.smtp_port"),
        ("[network]\nproxy = \"not a url\"\n", "network.proxy"),
        (
            "[workbook.columns]\nstatus = \"IOC Value\"\n",
            "are the same header",
        ),
        (
            "[workbook.columns]\nnotes = \" \"\n",
            "workbook.columns.notes",
        ),
        (
            "[rules.edr]\nA = [\"x\"]\na = [\"y\"]\n",
            "names the group \"a\" twice",
        ),
    ];
    for (text, want) in cases {
        let cfg = case.file(text);
        let got = case.err(&["run", "-c", &cfg]);
        assert!(got.contains(want), "{text:?}: {got}");
        assert!(
            got.contains("ioc-tracker.toml"),
            "{text:?} names the file: {got}"
        );
    }
    let case = Case::new().env(env::THRESHOLD, "five");
    assert_eq!(
        case.err(&["run"]),
        "$IOC_TRACKER_THRESHOLD = \"five\" is not a whole number"
    );
    let case = Case::new();
    let got = case.err(&["run", "--threshold", "0"]);
    assert!(got.contains("rules.threshold (from --threshold)"), "{got}");
}

#[test]
fn edr_groups_default_in_order_and_replaced_by_the_file() {
    let case = Case::new();
    let s = case.load(&["run"]).unwrap();
    let names: Vec<&str> = s.rules.edr_groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["FireEye", "McAfee"]);
    let cfg =
        case.file("[rules.edr]\nMcAfee = [\"McAfee\"]\nCrowdStrike = [\"CrowdStrike Falcon\"]\n");
    let s = case.load(&["run", "-c", &cfg]).unwrap();
    let names: Vec<&str> = s.rules.edr_groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["McAfee", "CrowdStrike"]);
}

#[test]
fn config_file_location_order() {
    // An explicit file that is missing is an error naming who asked for it.
    let case = Case::new();
    let missing = case.dir.path().join("nope.toml").display().to_string();
    let text = case.err(&["run", "-c", &missing]);
    assert!(
        text.contains("nope.toml (given by --config) does not exist"),
        "{text}"
    );
    let case = Case::new().env(env::CONFIG, "/no/such/file.toml");
    let text = case.err(&["run"]);
    assert!(text.contains("(given by IOC_TRACKER_CONFIG)"), "{text}");

    // $IOC_TRACKER_CONFIG is read; --config wins over it.
    let case = Case::new();
    let a = case.dir.path().join("a.toml");
    let b = case.dir.path().join("b.toml");
    std::fs::write(&a, "[rules]\nthreshold = 11\n").unwrap();
    std::fs::write(&b, "[rules]\nthreshold = 12\n").unwrap();
    let case = case.env(env::CONFIG, &a.display().to_string());
    let s = case.load(&["run"]).unwrap();
    assert_eq!(
        (s.rules.threshold, s.config_file.clone()),
        (11, Some(a.clone()))
    );
    let s = case.load(&["run", "-c", &b.display().to_string()]).unwrap();
    assert_eq!(s.rules.threshold, 12);

    // The user config dir is read when nothing else is given; absent, it is not an error.
    let case = Case::new();
    let user = case.dir.path().join("ioc-tracker");
    std::fs::create_dir_all(&user).unwrap();
    std::fs::write(user.join("config.toml"), "[rules]\nthreshold = 13\n").unwrap();
    let s = case.load(&["run"]).unwrap();
    assert_eq!(s.rules.threshold, 13);
    assert_eq!(s.config_file, Some(user.join("config.toml")));
    let cli = Cli::try_parse_from(["ioc-tracker", "run"]).unwrap();
    let s = load_with_dirs(&cli, &|_: &str| None, Some(Path::new("/no/such/dir"))).unwrap();
    assert_eq!(s.config_file, None);
}

#[test]
fn shown_settings_mask_every_secret() {
    let case = Case::new()
        .env(env::VT_KEYS, &format!("{KEY_A},{KEY_B}"))
        .env(env::SMTP_PASSWORD_DEFAULT, "hunter2-password")
        .env(env::SMTP_OAUTH_TOKEN, "ya29.oauth-token-value-1234567890");
    let s = case.load(&["run"]).unwrap();
    let shown = serde_json::to_string_pretty(&s).unwrap();
    let debug = format!("{s:?}");
    for secret in [
        KEY_A,
        KEY_B,
        "hunter2-password",
        "ya29.oauth-token-value-1234567890",
    ] {
        assert!(!shown.contains(secret), "JSON shows a secret");
        assert!(!debug.contains(secret), "Debug shows a secret");
    }
    assert!(shown.contains("aaaa…8888"), "{shown}");
}

#[test]
fn init_and_completions_do_not_read_the_config() {
    let case = Case::new().env(env::THRESHOLD, "not a number");
    let broken = case.file("[virustotal\n");
    assert!(case.load(&["validate", "-c", &broken]).is_err());
    assert!(case.load(&["init", "-c", &broken]).is_ok());
    assert!(
        case.load(&["completions", "bash", "-c", "/no/such.toml"])
            .is_ok()
    );
}
