//! The index's id: a random token kept in its folder, under which the store records what
//! this index holds (`index_marks`), so that several machines' indexes share one store.

use std::path::Path;

use super::io_context;

/// The file holding the id, inside the index folder.
pub(crate) const ID_FILE: &str = "veille-index-id";

/// The index's id, made if the folder has none (or an unreadable one); `true` when made now.
pub(super) fn ensure(dir: &Path) -> anyhow::Result<(String, bool)> {
    let path = dir.join(ID_FILE);
    if let Some(id) = read(&path) {
        return Ok((id, false));
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        anyhow::anyhow!("impossible de tirer un identifiant pour l'index de recherche : {e}")
    })?;
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if path.exists() {
        // Damaged: its marks can no longer be found, so this index takes everything again.
        std::fs::remove_file(&path).map_err(|e| io_context("impossible de supprimer", &path, e))?;
    }
    // Written aside then linked: another process opening the same folder meanwhile either
    // sees no id or the whole of one, and the first link wins.
    let aside = dir.join(format!("{ID_FILE}.{}", std::process::id()));
    std::fs::write(&aside, format!("{id}\n"))
        .map_err(|e| io_context("impossible d'écrire", &aside, e))?;
    let linked = std::fs::hard_link(&aside, &path);
    let _ = std::fs::remove_file(&aside);
    match linked {
        Ok(()) => Ok((id, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read(&path)
            .map(|id| (id, false))
            .ok_or_else(|| io_context("identifiant illisible dans", &path, "contenu invalide")),
        Err(e) => Err(io_context("impossible d'écrire", &path, e)),
    }
}

fn read(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let id = text.trim();
    let valid = !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric());
    valid.then(|| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_made_once_kept_and_a_damaged_one_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (id, made) = ensure(dir.path()).unwrap();
        assert!(made);
        assert_eq!(id.len(), 32);
        assert_eq!(ensure(dir.path()).unwrap(), (id.clone(), false));
        let other = tempfile::tempdir().unwrap();
        assert_ne!(ensure(other.path()).unwrap().0, id);
        // Only the id file is left behind, nothing written aside.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [ID_FILE]);
        std::fs::write(dir.path().join(ID_FILE), "<script>\n").unwrap();
        let (replaced, made) = ensure(dir.path()).unwrap();
        assert!(made);
        assert_ne!(replaced, id);
    }
}
