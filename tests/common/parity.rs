//! The random-weight parity model (`scripts/models/make_parity_model.py`), built once per test
//! process in `target/tmp/parity-model` through `.venv-parity` (the script returns at once when
//! its inputs have not changed since the last build).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root.
pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The parity model's folder: `source/` (the transformers checkpoint), `export/` (its ONNX
/// graphs), `reference.json` and the frames.
pub fn parity_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let python = repo().join(".venv-parity/bin/python3");
        assert!(
            python.exists(),
            "{} is missing: run `bash scripts/setup-parity.sh` (it installs the parity environment)",
            python.display()
        );
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("parity-model");
        let status = Command::new(&python)
            .arg(repo().join("scripts/models/make_parity_model.py"))
            .arg("--out")
            .arg(&out)
            .status()
            .expect("run make_parity_model.py");
        assert!(status.success(), "make_parity_model.py failed: {status}");
        out
    })
}
