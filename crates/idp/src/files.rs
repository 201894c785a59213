//! The identity server's private files (SPEC §4 "Files and keys"): the SQLite
//! database with its `-wal` and `-shm` companions, and the signing-key file.
//!
//! They are created 0600 (directories 0700) from the first byte, never
//! created loose and tightened later, and the server refuses to start on one
//! that group or others may read or write, with the `chmod` that fixes it.
//! Reviewer's attack (issue 13): as `nobody` they read the 0644 database, took
//! the signing key out of it and minted a one-year `salaryslip:any` token.
//!
//! ```no_run
//! # fn demo() -> Result<(), slipgate_idp::files::FileError> {
//! let db = std::path::Path::new("slipgate-idp.db");
//! slipgate_idp::files::create_private(db)?;
//! slipgate_idp::files::check_private(db)?;
//! # Ok(()) }
//! ```
//!
//! Not covered: a root user, or the server's own user, reads anything; the
//! directory holding the files must not be writable by others either (then a
//! file can be replaced), which is the operator's to ensure.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Why a private file is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// Group or others may read or write it.
    #[error(
        "{path} is open to group or others (mode {mode:04o}); refusing to use it: run `chmod {fix:o} {path}`",
        path = path.display()
    )]
    Insecure {
        /// The file or directory.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
        /// The mode to set (600 or 700).
        fix: u32,
    },
    /// It could not be created, read or written.
    #[error("{path}: {source}", path = path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
    move |source| FileError::Io { path: path.to_owned(), source }
}

/// Creates `path` empty with mode 0600 unless it exists (then it is left as
/// it is: [`check_private`] judges it). Returns whether it was created.
pub fn create_private(path: &Path) -> Result<bool, FileError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(io(path)(e)),
    }
}

/// Writes `bytes` to `path` unless it exists, atomically and 0600 from
/// creation: a temporary file then a hard link, which fails when `path`
/// exists, so of two processes creating the same file one wins and the other
/// reads the winner's. Returns whether this call created it.
pub fn write_private_new(path: &Path, bytes: &[u8]) -> Result<bool, FileError> {
    let tmp = temporary(path, bytes)?;
    let created = match std::fs::hard_link(&tmp, path) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(io(path)(e));
        }
    };
    std::fs::remove_file(&tmp).map_err(io(&tmp))?;
    Ok(created)
}

/// Replaces `path` with `bytes`, atomically (temporary file then rename) and
/// 0600 from creation.
pub fn replace_private(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let tmp = temporary(path, bytes)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(path)(e)
    })
}

/// A fresh name beside `path`.
fn temp_name(path: &Path) -> Result<PathBuf, FileError> {
    let name = path.file_name().map_or_else(|| "key".into(), |n| n.to_string_lossy().into_owned());
    let random = crate::crypto::random_token::<9>().map_err(|()| FileError::Io {
        path: path.to_owned(),
        source: std::io::Error::other("the system random generator failed"),
    })?;
    let tmp = path.with_file_name(format!(".{name}.{random}.tmp"));
    Ok(tmp)
}

/// A fresh 0600 file beside `path` holding `bytes`, synced.
fn temporary(path: &Path, bytes: &[u8]) -> Result<PathBuf, FileError> {
    let tmp = temp_name(path)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let result = options.open(&tmp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(&tmp)(e));
    }
    Ok(tmp)
}

/// Creates `dir` (and missing parents) with mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<(), FileError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io(dir))
}

/// Refuses `path` when group or others may read or write it. A missing file
/// passes (nothing to leak); other I/O errors do not.
pub fn check_private(path: &Path) -> Result<(), FileError> {
    check_mode(path, 0o600)
}

/// Refuses a directory that group or others may enter, list or write.
pub fn check_private_dir(path: &Path) -> Result<(), FileError> {
    check_mode(path, 0o700)
}

#[cfg(unix)]
fn check_mode(path: &Path, fix: u32) -> Result<(), FileError> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = match std::fs::metadata(path) {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(path)(e)),
    };
    if mode & 0o077 == 0 { Ok(()) } else { Err(FileError::Insecure { path: path.to_owned(), mode, fix }) }
}

#[cfg(not(unix))]
fn check_mode(_path: &Path, _fix: u32) -> Result<(), FileError> {
    Ok(())
}

/// The SQLite database and its companions, as SQLite names them.
#[must_use]
pub fn sqlite_files(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [db.to_owned(), with("-wal"), with("-shm")]
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_private_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        create_private_dir(&sub).unwrap();
        assert_eq!(mode(&sub), 0o700);
        let db = sub.join("idp.db");
        assert!(create_private(&db).unwrap());
        assert!(!create_private(&db).unwrap());
        assert_eq!(mode(&db), 0o600);
        let key = sub.join("key.pem");
        assert!(write_private_new(&key, b"one").unwrap());
        assert!(!write_private_new(&key, b"two").unwrap());
        assert_eq!(std::fs::read(&key).unwrap(), b"one");
        replace_private(&key, b"three").unwrap();
        assert_eq!((std::fs::read(&key).unwrap(), mode(&key)), (b"three".to_vec(), 0o600));
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 2);
    }

    #[test]
    fn refuses_files_open_to_group_or_others_and_names_the_chmod() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("idp.db");
        std::fs::write(&file, b"").unwrap();
        for loose in [0o644, 0o640, 0o604, 0o620, 0o602] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(loose)).unwrap();
            let message = check_private(&file).unwrap_err().to_string();
            assert!(message.contains(&format!("chmod 600 {}", file.display())), "{message}");
        }
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        check_private(&file).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o400)).unwrap();
        check_private(&file).unwrap();
        check_private(&dir.path().join("missing")).unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let message = check_private_dir(dir.path()).unwrap_err().to_string();
        assert!(message.contains("chmod 700"), "{message}");
    }

    #[test]
    fn names_the_sqlite_companions() {
        let [db, wal, shm] = sqlite_files(Path::new("/d/idp.db"));
        assert_eq!(
            (db.to_str(), wal.to_str(), shm.to_str()),
            (Some("/d/idp.db"), Some("/d/idp.db-wal"), Some("/d/idp.db-shm"))
        );
    }
}
