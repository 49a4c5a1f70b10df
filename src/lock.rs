//! One run at a time per workbook: an OS file lock on `<workbook>.lock` beside the workbook.
//!
//! The lock is the operating system's (`File::try_lock`: `flock` on Unix, `LockFileEx` on
//! Windows), so it is released by the OS when the process ends however it ends — `kill -9` and
//! power loss included. The file's content only names the holder (pid, host, start time) for the
//! message a second run prints; a lock file that exists but is not locked was left by a process
//! that no longer runs, and is taken over, saying so. Does not guard against edits by Excel (that
//! is the `~$` check in `workbook`).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "another ioc-tracker run is working on {workbook} ({holder}); wait for it to finish, or stop it, and run again"
    )]
    Held { workbook: PathBuf, holder: String },
    #[error("cannot create the lock file {path}: {source}; check that the folder is writable")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The held lock; released (and its file removed) on drop.
#[derive(Debug)]
pub struct RunLock {
    file: Option<File>,
    path: PathBuf,
    /// the holder named in a lock file left by a process that no longer runs
    pub taken_over: Option<String>,
}

/// `ioc_tracking.xlsx` → `ioc_tracking.xlsx.lock` in the same folder.
pub fn lock_path(workbook: &Path) -> PathBuf {
    let mut name = workbook
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    workbook.with_file_name(name)
}

impl RunLock {
    /// Take the lock for `workbook` or fail at once naming the holder.
    pub fn acquire(workbook: &Path, run_id: &str) -> Result<RunLock, LockError> {
        let path = lock_path(workbook);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder =
                    read_holder(&path).unwrap_or_else(|| "held by another process".to_string());
                return Err(LockError::Held {
                    workbook: workbook.to_path_buf(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut previous = String::new();
        let _ = file.read_to_string(&mut previous);
        let taken_over = (!previous.trim().is_empty()).then(|| describe(&previous));
        let me = serde_json::json!({
            "pid": std::process::id(),
            "host": hostname(),
            "run": run_id,
            "started": chrono::Utc::now().to_rfc3339(),
        });
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(me.to_string().as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(RunLock {
            file: Some(file),
            path,
            taken_over,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            // Remove while still holding the lock so no other run sees a half-released file;
            // on Windows removal of an open file fails, so unlock and close first there.
            #[cfg(unix)]
            {
                let _ = std::fs::remove_file(&self.path);
                drop(file);
            }
            #[cfg(not(unix))]
            {
                let _ = file.unlock();
                drop(file);
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

fn read_holder(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    (!text.trim().is_empty()).then(|| describe(&text))
}

/// "process 1234 on host analyst-pc, started 2026-12-04T16:00:00Z"
fn describe(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => format!(
            "process {} on host {}, started {}",
            v["pid"]
                .as_u64()
                .map(|p| p.to_string())
                .unwrap_or_else(|| "?".into()),
            v["host"].as_str().unwrap_or("?"),
            v["started"].as_str().unwrap_or("?"),
        ),
        Err(_) => "an unreadable lock file".to_string(),
    }
}

fn hostname() -> String {
    std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .ok()
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_on_the_same_workbook_fails_naming_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let wb = dir.path().join("ioc_tracking.xlsx");
        let first = RunLock::acquire(&wb, "run-a").unwrap();
        assert!(first.taken_over.is_none());
        let err = RunLock::acquire(&wb, "run-b").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(&format!("process {}", std::process::id())),
            "{msg}"
        );
        drop(first);
        assert!(!lock_path(&wb).exists(), "lock file removed on release");
        RunLock::acquire(&wb, "run-c").unwrap();
    }

    #[test]
    fn a_lock_file_left_by_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let wb = dir.path().join("ioc_tracking.xlsx");
        std::fs::write(
            lock_path(&wb),
            r#"{"pid":999999,"host":"old-pc","run":"x","started":"2026-12-01T00:00:00Z"}"#,
        )
        .unwrap();
        let lock = RunLock::acquire(&wb, "run-d").unwrap();
        assert_eq!(
            lock.taken_over.as_deref(),
            Some("process 999999 on host old-pc, started 2026-12-01T00:00:00Z")
        );
    }

    #[test]
    fn lock_path_sits_beside_the_workbook() {
        assert_eq!(
            lock_path(Path::new("/a/b/ioc.xlsx")),
            PathBuf::from("/a/b/ioc.xlsx.lock")
        );
    }
}
