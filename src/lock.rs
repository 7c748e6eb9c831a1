//! One daemon per archive: `archive/veille-run.lock`, held with `flock` for the life of the
//! process and holding its pid. The kernel releases the lock when the process ends, however
//! it ends, so a stale file never blocks a restart.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

pub(crate) const LOCK_FILE: &str = "veille-run.lock";

/// The lock of a running daemon; released on drop.
#[derive(Debug)]
pub(crate) struct DaemonLock {
    file: File,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum LockError {
    #[error("un démon `veille run` tourne déjà sur cette archive{}", pid_text(*.pid))]
    Held { pid: Option<u32> },
    #[error("verrou {path} inutilisable : {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

fn pid_text(pid: Option<u32>) -> String {
    pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
}

fn flock(file: &File, operation: libc::c_int) -> std::io::Result<()> {
    // SAFETY: flock on a file descriptor this File owns.
    let rc = unsafe { libc::flock(file.as_raw_fd(), operation) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

impl DaemonLock {
    /// Takes the lock of `archive`, or says who holds it.
    pub(crate) fn acquire(archive: &Path) -> Result<DaemonLock, LockError> {
        let path = archive.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(archive).map_err(io)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if let Err(e) = flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
            if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                return Err(LockError::Held {
                    pid: read_pid(&mut file),
                });
            }
            return Err(io(e));
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.sync_all().map_err(io)?;
        Ok(DaemonLock { file })
    }
}

impl Drop for DaemonLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
        let _ = flock(&self.file, libc::LOCK_UN);
    }
}

/// The pid of the daemon running on `archive` (0 when it could not be read), or None.
pub(crate) fn holder(archive: &Path) -> Option<u32> {
    let mut file = File::open(archive.join(LOCK_FILE)).ok()?;
    match flock(&file, libc::LOCK_SH | libc::LOCK_NB) {
        Ok(()) => {
            let _ = flock(&file, libc::LOCK_UN);
            None
        }
        Err(_) => Some(read_pid(&mut file).unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(dir.path()), None);
        let lock = DaemonLock::acquire(dir.path()).unwrap();
        // flock locks belong to open file descriptions: a second open conflicts even in
        // the same process.
        match DaemonLock::acquire(dir.path()) {
            Err(LockError::Held { pid }) => assert_eq!(pid, Some(std::process::id())),
            other => panic!("{other:?}"),
        }
        assert_eq!(holder(dir.path()), Some(std::process::id()));
        drop(lock);
        assert_eq!(holder(dir.path()), None);
        assert!(DaemonLock::acquire(dir.path()).is_ok());
    }
}
