//! The command line as a user meets it: `--help`, `completions`, `init`, `--log-file`.
//! Each test runs the real binary in a fresh folder with a cleared environment.

use std::path::Path;

use assert_cmd::Command;

fn cmd(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("ioc-tracker").unwrap();
    c.current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("XDG_CONFIG_HOME", dir.join("xdg"));
    c
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_every_subcommand_and_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(dir.path()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = text(&out.stdout);
    for sub in [
        "run",
        "check",
        "validate",
        "demo",
        "test-email",
        "init",
        "completions",
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{sub} "))),
            "{sub} missing from --help:\n{help}"
        );
    }
    assert!(!help.contains("simulate"), "the simulator stays hidden");
    assert!(
        !help.contains("show-settings"),
        "--show-settings stays hidden"
    );
    for code in ["Exit codes:", "  0 ", "  1 ", "  2 ", "  130 "] {
        assert!(help.contains(code), "{code:?} missing from --help:\n{help}");
    }
    for global in ["--config", "--verbose", "--quiet", "--log-file", "--json"] {
        assert!(help.contains(global), "{global} missing");
    }
}

#[test]
fn completions_print_a_script() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(dir.path())
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let script = text(&out.stdout);
    assert!(script.contains("_ioc__tracker()"), "{script}");
    assert!(script.contains("complete -F _ioc__tracker"), "{script}");
    assert!(script.contains("validate") && script.contains("test-email"));
    let out = cmd(dir.path())
        .args(["completions", "zsh"])
        .output()
        .unwrap();
    assert!(out.status.success() && text(&out.stdout).contains("#compdef ioc-tracker"));
    let out = cmd(dir.path())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "unknown shell is a usage error");
}

#[test]
fn completions_work_even_with_a_broken_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("ioc-tracker.toml"), "[rules\n").unwrap();
    let out = cmd(dir.path())
        .args(["completions", "fish"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn init_writes_both_files_and_refuses_a_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("tracking");
    let out = cmd(dir.path())
        .args(["init", "--dir", "tracking"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let config = target.join("ioc-tracker.toml");
    let workbook = target.join("ioc_tracking.xlsx");
    assert!(text(&out.stdout).contains("ioc-tracker.toml"));
    let written = std::fs::read_to_string(&config).unwrap();
    assert!(written.contains("[virustotal]") && written.contains("# threshold = 5"));
    let xlsx = std::fs::read(&workbook).unwrap();
    assert_eq!(&xlsx[..2], b"PK", "an xlsx (zip) file");

    // The written config is the one the tool reads, and it gives the defaults.
    let out = cmd(dir.path())
        .args([
            "--show-settings",
            "-c",
            "tracking/ioc-tracker.toml",
            "validate",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["rules"]["threshold"], 5);

    std::fs::write(&config, "# mine\n").unwrap();
    let out = cmd(dir.path())
        .args(["init", "--dir", "tracking"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("ioc-tracker.toml already exists"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&config).unwrap(),
        "# mine\n",
        "not overwritten"
    );
    assert_eq!(std::fs::read(&workbook).unwrap(), xlsx, "not overwritten");

    let out = cmd(dir.path())
        .args(["init", "--dir", "tracking", "--force"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), written);
}

#[test]
fn init_defaults_to_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(dir.path()).arg("init").output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("ioc-tracker.toml").is_file());
    assert!(dir.path().join("ioc_tracking.xlsx").is_file());
}

#[test]
fn log_file_is_appended_without_colour() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("ioc.log");
    for _ in 0..2 {
        let out = cmd(dir.path())
            .args(["--show-settings", "-q", "--log-file", "ioc.log", "validate"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert!(
            out.stderr.is_empty(),
            "-q keeps stderr quiet: {}",
            text(&out.stderr)
        );
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = logged
        .lines()
        .filter(|l| l.contains("no config file"))
        .collect();
    assert_eq!(
        lines.len(),
        2,
        "appended, at info level even with -q:\n{logged}"
    );
    assert!(lines[0].contains("INFO"));
    assert!(!logged.contains('\x1b'), "no ANSI escapes in the file");

    // -v shows the same line on stderr; NO_COLOR or not a terminal: no escapes there either.
    let out = cmd(dir.path())
        .env("NO_COLOR", "1")
        .args(["--show-settings", "-v", "validate"])
        .output()
        .unwrap();
    let err = text(&out.stderr);
    assert!(err.contains("no config file"), "{err}");
    assert!(!err.contains('\x1b'));
    let out = cmd(dir.path())
        .args(["--show-settings", "validate"])
        .output()
        .unwrap();
    assert!(
        !text(&out.stderr).contains("no config file"),
        "info is hidden by default"
    );
}

#[test]
fn an_unwritable_log_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = cmd(dir.path())
        .args(["--log-file", "no/such/dir/ioc.log", "validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot open the log file no/such/dir/ioc.log"),
        "{err}"
    );
}
