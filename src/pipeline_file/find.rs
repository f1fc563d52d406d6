//! Resolves a pipeline name such as `watch` to its file.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable naming the directory searched first.
pub const PIPELINES_DIR_ENV: &str = "NEKO_PIPELINES_DIR";

/// Resolves a pipeline name to a file path.
///
/// `watch` resolves to the first existing of `$NEKO_PIPELINES_DIR/watch.toml`,
/// `./pipelines/watch.toml`, `<exe dir>/../pipelines/watch.toml` and the
/// source tree's `pipelines/watch.toml`; when none exists, the first of these
/// is returned so that loading it reports a missing file where the user
/// would look first. A name that is already a path (it contains a path
/// separator or ends in `.toml`) is returned unchanged.
pub fn find_pipeline(name: &str) -> PathBuf {
    let candidates = candidates(
        name,
        std::env::var_os(PIPELINES_DIR_ENV),
        std::env::current_exe().ok().as_deref(),
    );
    candidates
        .iter()
        .find(|path| path.is_file())
        .or(candidates.first())
        .cloned()
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The places `name` may live, most preferred first.
fn candidates(name: &str, env_dir: Option<OsString>, exe: Option<&Path>) -> Vec<PathBuf> {
    let as_path = Path::new(name);
    let is_toml = as_path
        .extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("toml"));
    if is_toml || as_path.components().count() > 1 {
        return vec![as_path.to_path_buf()];
    }
    let file = format!("{name}.toml");
    let mut dirs = Vec::new();
    if let Some(dir) = env_dir.filter(|dir| !dir.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    dirs.push(PathBuf::from("pipelines"));
    if let Some(root) = exe.and_then(Path::parent).and_then(Path::parent) {
        dirs.push(root.join("pipelines"));
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines"));
    dirs.into_iter().map(|dir| dir.join(&file)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_env_dir_then_cwd_then_exe_then_source_tree() {
        let found = candidates(
            "watch",
            Some("/etc/neko".into()),
            Some(Path::new("/opt/neko/bin/neko-agent")),
        );
        assert_eq!(
            found,
            vec![
                PathBuf::from("/etc/neko/watch.toml"),
                PathBuf::from("pipelines/watch.toml"),
                PathBuf::from("/opt/neko/pipelines/watch.toml"),
                Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines/watch.toml"),
            ]
        );
    }

    #[test]
    fn empty_env_dir_and_missing_exe_are_skipped() {
        let found = candidates("watch", Some("".into()), None);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0], PathBuf::from("pipelines/watch.toml"));
    }

    #[test]
    fn paths_are_kept_as_given() {
        assert_eq!(
            candidates("my/own.toml", None, None),
            vec![PathBuf::from("my/own.toml")]
        );
        assert_eq!(
            candidates("x.toml", None, None),
            vec![PathBuf::from("x.toml")]
        );
    }

    #[test]
    fn finds_the_shipped_watch_pipeline() {
        assert!(find_pipeline("watch").is_file());
    }
}
