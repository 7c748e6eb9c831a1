//! Secrets on disk (the archive's key, the DKIM key, the IMAP password): read only from a file
//! that its owner alone can read, so a key copied with a careless mode is refused, not used.
//! The environment is the other way in; each caller checks it first.

use std::io::Read;
use std::path::Path;

/// The content of the secret file `path` (`what` names it in messages), `None` when it does
/// not exist. A file that its group or others may read is refused with the `chmod` that
/// fixes it. The mode is checked on the opened file, so a swap between check and read
/// cannot slip an open file in.
pub(crate) fn read(path: &Path, what: &str) -> anyhow::Result<Option<Vec<u8>>> {
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => anyhow::bail!(
            "impossible de lire {what} {} : {}",
            path.display(),
            crate::wording::io(&e)
        ),
    };
    check_mode(&file, path, what)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|e| {
        anyhow::anyhow!(
            "impossible de lire {what} {} : {}",
            path.display(),
            crate::wording::io(&e)
        )
    })?;
    Ok(Some(bytes))
}

/// `read`, for a file that must exist.
pub(crate) fn read_existing(path: &Path, what: &str) -> anyhow::Result<Vec<u8>> {
    read(path, what)?.ok_or_else(|| {
        anyhow::anyhow!(
            "{what} {} introuvable : vérifiez le chemin dans feeds.toml",
            path.display()
        )
    })
}

#[cfg(unix)]
fn check_mode(file: &std::fs::File, path: &Path, what: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file
        .metadata()
        .map_err(|e| {
            anyhow::anyhow!(
                "impossible de lire {what} {} : {}",
                path.display(),
                crate::wording::io(&e)
            )
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "{what} {} est lisible par d'autres que son propriétaire (droits {:o}) : veille \
             refuse de s'en servir. Corrigez les droits avec : chmod 600 {}",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_file: &std::fs::File, _path: &Path, _what: &str) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn with_mode(dir: &Path, mode: u32) -> std::path::PathBuf {
        let path = dir.join("secret");
        std::fs::write(&path, b"s3cr3t").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn owner_only_files_are_read_and_others_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        for mode in [0o600, 0o400] {
            let path = with_mode(dir.path(), mode);
            assert_eq!(read(&path, "la clé").unwrap().unwrap(), b"s3cr3t");
        }
        for mode in [0o640, 0o644, 0o604, 0o660] {
            let path = with_mode(dir.path(), mode);
            let e = read(&path, "la clé").unwrap_err().to_string();
            assert!(e.contains(&format!("chmod 600 {}", path.display())), "{e}");
            assert!(e.contains(&format!("{mode:o}")), "{e}");
            assert!(!e.contains("s3cr3t"), "{e}");
        }
    }

    #[test]
    fn a_missing_file_is_none_or_a_french_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent");
        assert!(read(&path, "la clé").unwrap().is_none());
        let e = read_existing(&path, "la clé DKIM").unwrap_err().to_string();
        assert!(e.contains("introuvable"), "{e}");
    }
}
