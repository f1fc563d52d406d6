//! Crash-safe file replacement: write a temporary file in the same directory,
//! fsync it, rename it over the target, then fsync the directory. A failure
//! at any step leaves the target untouched and no temporary file behind.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use super::error::{MdsError, Result};

/// Prefix of temporary files, so that leftovers of a killed process can be
/// recognised and removed.
pub(crate) const TEMP_PREFIX: &str = ".mds-tmp-";

/// Writes `dir/name` atomically with what `body` writes.
pub(crate) fn write_atomically<T>(
    dir: &Path,
    name: &str,
    body: impl FnOnce(&mut dyn Write) -> io::Result<T>,
) -> Result<(PathBuf, T)> {
    let write_error = |action, path: &Path| {
        let path = path.to_owned();
        move |source| MdsError::Write {
            action,
            path,
            source,
        }
    };
    let target = dir.join(name);
    // Dropping `temp` before `persist` deletes the file.
    let temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(write_error("create a temporary file in", dir))?;
    let temp_path = temp.path().to_owned();
    let mut out = BufWriter::with_capacity(1 << 20, temp.as_file());
    let value = body(&mut out).map_err(write_error("write", &temp_path))?;
    out.flush().map_err(write_error("write", &temp_path))?;
    drop(out);
    temp.as_file()
        .sync_all()
        .map_err(write_error("flush to disk", &temp_path))?;
    temp.persist(&target)
        .map_err(|e| write_error("rename a temporary file to", &target)(e.error))?;
    sync_dir(dir)?;
    Ok((target, value))
}

/// Makes renames and removals in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| MdsError::Write {
            action: "flush to disk the directory",
            path: dir.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_target_in_one_step() {
        let dir = tempfile::tempdir().unwrap();
        let (path, n) = write_atomically(dir.path(), "a.txt", |w| {
            w.write_all(b"first")?;
            Ok(5)
        })
        .unwrap();
        assert_eq!((path, n), (dir.path().join("a.txt"), 5));
        write_atomically(dir.path(), "a.txt", |w| w.write_all(b"second")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["a.txt"]);
    }

    #[test]
    fn a_failing_write_leaves_the_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), b"old").unwrap();
        let err = write_atomically(dir.path(), "a.txt", |w| {
            w.write_all(&[7; 4096])?;
            Err::<(), _>(io::Error::other("disk on fire"))
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("cannot write") && err.contains(TEMP_PREFIX),
            "{err}"
        );
        assert!(err.contains("disk on fire"), "{err}");
        assert_eq!(std::fs::read(dir.path().join("a.txt")).unwrap(), b"old");
        assert_eq!(names(dir.path()), ["a.txt"]);
    }

    #[test]
    fn a_missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let err = write_atomically(&missing, "a.txt", |w| w.write_all(b"x"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("create a temporary file in") && err.contains("nope"),
            "{err}"
        );
    }
}
