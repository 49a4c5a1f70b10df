//! Settings as the real binary resolves them, seen through the hidden `--show-settings`:
//! precedence flag > env > file > default, the config file's location, unknown keys, and
//! secrets masked in every output (stdout, stderr, the log file).
//!
//! Every command runs in a fresh folder with a cleared environment, so the developer's own
//! config and variables never leak in.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const KEY_A: &str = "aaaa1111bbbb2222cccc3333dddd4444eeee5555ffff6666aaaa7777bbbb8888";
const KEY_B: &str = "9999888877776666555544443333222211110000aaaabbbbccccddddeeeeffff";
const PASSWORD: &str = "correct-horse-battery-staple";
const FILE_PASSWORD: &str = "file-password-1234";

struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// The binary in this folder, with only HOME and XDG_CONFIG_HOME (pointing inside it) set.
    fn cmd(&self) -> Command {
        let mut c = Command::cargo_bin("ioc-tracker").unwrap();
        c.current_dir(self.path())
            .env_clear()
            .env("HOME", self.path())
            .env("XDG_CONFIG_HOME", self.path().join("xdg"));
        c
    }

    fn settings(&self, c: &mut Command) -> Value {
        let out = c.arg("--show-settings").output().unwrap();
        assert!(
            out.status.success(),
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

#[test]
fn threshold_flag_beats_env_beats_file_beats_default() {
    let sb = Sandbox::new();
    assert_eq!(sb.settings(sb.cmd().arg("run"))["rules"]["threshold"], 5);
    sb.write("ioc-tracker.toml", "[rules]\nthreshold = 7\n");
    assert_eq!(sb.settings(sb.cmd().arg("run"))["rules"]["threshold"], 7);
    let env = |c: &mut Command| {
        c.env("IOC_TRACKER_THRESHOLD", "8");
    };
    let mut c = sb.cmd();
    env(&mut c);
    assert_eq!(sb.settings(c.arg("run"))["rules"]["threshold"], 8);
    let mut c = sb.cmd();
    env(&mut c);
    assert_eq!(
        sb.settings(c.args(["run", "--threshold", "9"]))["rules"]["threshold"],
        9
    );
    // a flag given with the default value still wins
    let mut c = sb.cmd();
    env(&mut c);
    assert_eq!(
        sb.settings(c.args(["run", "--threshold", "5"]))["rules"]["threshold"],
        5
    );
}

#[test]
fn workbook_path_flag_beats_env_beats_file_beats_default() {
    let sb = Sandbox::new();
    let get = |c: &mut Command| {
        sb.settings(c)["workbook"]["path"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(get(sb.cmd().arg("validate")), "ioc_tracking.xlsx");
    sb.write(
        "ioc-tracker.toml",
        "[workbook]\npath = \"from-file.xlsx\"\n",
    );
    assert_eq!(get(sb.cmd().arg("validate")), "from-file.xlsx");
    assert_eq!(
        get(sb
            .cmd()
            .env("IOC_TRACKER_WORKBOOK", "from-env.xlsx")
            .arg("validate")),
        "from-env.xlsx"
    );
    assert_eq!(
        get(sb.cmd().env("IOC_TRACKER_WORKBOOK", "from-env.xlsx").args([
            "validate",
            "--workbook",
            "from-flag.xlsx"
        ])),
        "from-flag.xlsx"
    );
}

#[test]
fn config_file_comes_from_flag_env_cwd_or_user_dir() {
    let sb = Sandbox::new();
    let user = sb.write("xdg/ioc-tracker/config.toml", "[rules]\nthreshold = 21\n");
    let s = sb.settings(sb.cmd().arg("validate"));
    assert_eq!(s["rules"]["threshold"], 21);
    assert_eq!(s["config_file"], user.display().to_string());

    sb.write("ioc-tracker.toml", "[rules]\nthreshold = 22\n");
    assert_eq!(
        sb.settings(sb.cmd().arg("validate"))["rules"]["threshold"],
        22
    );

    let via_env = sb.write("env.toml", "[rules]\nthreshold = 23\n");
    let mut c = sb.cmd();
    c.env("IOC_TRACKER_CONFIG", &via_env).arg("validate");
    assert_eq!(sb.settings(&mut c)["rules"]["threshold"], 23);

    let via_flag = sb.write("flag.toml", "[rules]\nthreshold = 24\n");
    let mut c = sb.cmd();
    c.env("IOC_TRACKER_CONFIG", &via_env)
        .arg("-c")
        .arg(&via_flag)
        .arg("validate");
    assert_eq!(sb.settings(&mut c)["rules"]["threshold"], 24);
}

#[test]
fn a_missing_explicit_config_file_is_an_error() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .args(["-c", "nope.toml", "validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nope.toml (given by --config) does not exist"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
    let out = sb
        .cmd()
        .env("IOC_TRACKER_CONFIG", "gone.toml")
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("given by IOC_TRACKER_CONFIG"));
}

#[test]
fn unknown_key_names_the_key_and_the_file_and_exits_2() {
    let sb = Sandbox::new();
    sb.write("ioc-tracker.toml", "[virustotal]\napi_kyes = [\"x\"]\n");
    let out = sb.cmd().arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "error: unknown key `virustotal.api_kyes` in ./ioc-tracker.toml (known keys: "
        ),
        "{err}"
    );
    assert!(err.contains("did you mean `virustotal.api_keys`?"), "{err}");
    assert!(out.stdout.is_empty());

    let cfg = sb.write("sub/other.toml", "[email]\nsmtp_hots = \"x\"\n");
    let out = sb.cmd().arg("-c").arg(&cfg).arg("run").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`email.smtp_hots`") && err.contains("other.toml"),
        "{err}"
    );
}

#[test]
fn a_bad_value_exits_2_naming_key_and_origin() {
    let sb = Sandbox::new();
    let out = sb
        .cmd()
        .env("IOC_TRACKER_THRESHOLD", "lots")
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("$IOC_TRACKER_THRESHOLD = \"lots\""));
    sb.write(
        "ioc-tracker.toml",
        "[virustotal]\npoll_timeout = \"soon\"\n",
    );
    let out = sb.cmd().arg("run").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ioc-tracker.toml") && err.contains("invalid duration \"soon\""),
        "{err}"
    );
}

#[test]
fn secrets_are_masked_in_show_settings_and_logs() {
    let sb = Sandbox::new();
    sb.write(
        "ioc-tracker.toml",
        &format!("[email]\nsmtp_host = \"smtp.example\"\npassword = \"{FILE_PASSWORD}\"\n"),
    );
    let log = sb.path().join("run.log");
    // keys and password from the environment
    let out = sb
        .cmd()
        .env("IOC_TRACKER_VT_KEYS", format!("{KEY_A},{KEY_B}"))
        .env("IOC_TRACKER_SMTP_PASSWORD", PASSWORD)
        .env(
            "IOC_TRACKER_SMTP_OAUTH_TOKEN",
            "oauth-token-abcdefghijklmnop",
        )
        .args(["-vvv", "--show-settings", "--log-file"])
        .arg(&log)
        .arg("run")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["virustotal"]["api_keys"][0], "aaaa…8888");
    assert_eq!(shown["virustotal"]["api_keys"][1], "9999…ffff");
    assert_eq!(shown["email"]["password"], "****");
    assert_eq!(shown["email"]["oauth_token"], "****");
    let everything = format!(
        "{}{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(&log).unwrap()
    );
    for secret in [
        KEY_A,
        KEY_B,
        PASSWORD,
        FILE_PASSWORD,
        "oauth-token-abcdefghijklmnop",
    ] {
        assert!(!everything.contains(secret), "a secret is shown");
    }

    // the file's password, when no variable is set, is masked too
    let out = sb.cmd().args(["--show-settings", "run"]).output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("\"password\": \"****\""), "{text}");
    assert!(!text.contains(FILE_PASSWORD));
}
