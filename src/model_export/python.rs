//! The pinned Python environment the export runs in, and one run of the export script inside it.
//! The script and its pinned requirements are built into the binary, so an installed
//! `neko-agent` exports without a checkout.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::console::Console;
use super::error::{EnvFailure, ExportError, RunFailure};
use super::needs::ExportDtype;

/// `scripts/models/export_showui.py`: export, then PyTorch-vs-ONNX verification.
const EXPORT_SCRIPT: &str = include_str!("../../scripts/models/export_showui.py");
/// The versions the script is written and tested against (the parity test's environment).
const REQUIREMENTS: &str = include_str!("../../scripts/models/requirements-parity.txt");
/// The hash of the requirements an environment was installed from.
const STAMP_FILE: &str = "neko-agent-requirements.sha256";

/// A Python virtual environment with the pinned export requirements.
#[derive(Debug)]
pub struct PythonEnv {
    dir: PathBuf,
}

impl PythonEnv {
    /// `$XDG_DATA_HOME/neko-agent/export-env`, else `~/.local/share/neko-agent/export-env`.
    pub fn default_dir() -> PathBuf {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        var("XDG_DATA_HOME")
            .map(PathBuf::from)
            .or_else(|| var("HOME").map(|home| PathBuf::from(home).join(".local/share")))
            .unwrap_or_else(|| PathBuf::from("."))
            .join("neko-agent/export-env")
    }

    /// Whether `dir` holds an environment installed from these requirements.
    pub fn is_installed(dir: &Path) -> bool {
        dir.join("bin/python").exists()
            && std::fs::read_to_string(dir.join(STAMP_FILE)).is_ok_and(|s| s.trim() == stamp())
    }

    /// Creates the environment in `dir` with `python` (when missing) and installs the pinned
    /// requirements (when not installed from these already), telling `console` what it does.
    /// Safe to run again.
    pub fn prepare(dir: &Path, python: &Path, console: &Console) -> Result<Self, ExportError> {
        let env = Self {
            dir: dir.to_owned(),
        };
        if Self::is_installed(dir) {
            return Ok(env);
        }
        let failed = |reason: EnvFailure| ExportError::PythonEnv {
            dir: dir.to_owned(),
            reason,
        };
        if !dir.join("bin/python").exists() {
            console.progress(&format!(
                "creating the Python environment in {}",
                dir.display()
            ));
            let output = Command::new(python)
                .args(["-m", "venv"])
                .arg(dir)
                .stdin(Stdio::null())
                .output()
                .map_err(|source| {
                    failed(EnvFailure::NoPython {
                        python: python.to_owned(),
                        source,
                    })
                })?;
            if !output.status.success() {
                return Err(failed(EnvFailure::Venv {
                    python: python.to_owned(),
                    stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
                }));
            }
        }
        console.progress(&format!(
            "installing the pinned export requirements into {} (about 6 GB, once)",
            dir.display()
        ));
        let requirements = dir.join("neko-agent-requirements.txt");
        std::fs::write(&requirements, REQUIREMENTS).map_err(|e| failed(EnvFailure::Write(e)))?;
        let status = Command::new(env.python())
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-r"])
            .arg(&requirements)
            .stdin(Stdio::null())
            .status()
            .map_err(|e| failed(EnvFailure::NoPip(e)))?;
        if !status.success() {
            return Err(failed(EnvFailure::Pip(status)));
        }
        std::fs::write(dir.join(STAMP_FILE), stamp()).map_err(|e| failed(EnvFailure::Write(e)))?;
        Ok(env)
    }

    /// The environment's interpreter.
    pub fn python(&self) -> PathBuf {
        self.dir.join("bin/python")
    }
}

/// The hash of the built-in requirements.
fn stamp() -> String {
    format!("{:x}", Sha256::digest(REQUIREMENTS.as_bytes()))
}

/// One step of the script, in its own process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Trace, slim and write the graphs (`--export-only`).
    Export,
    /// Compare PyTorch and ONNX greedy tokens, and images batched in one call (`--verify`).
    Verify,
}

impl Step {
    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Export => "export",
            Self::Verify => "verification",
        }
    }

    fn flag(self) -> &'static str {
        match self {
            Self::Export => "--export-only",
            Self::Verify => "--verify",
        }
    }
}

/// What one step did.
#[derive(Debug)]
pub struct StepRun {
    /// Whether it succeeded (exit status 0).
    pub success: bool,
    /// Its exit status, as text.
    pub status: String,
    /// Wall-clock time.
    pub elapsed: Duration,
    /// The step's peak resident memory.
    pub peak_rss_bytes: u64,
}

/// What to export where.
#[derive(Debug)]
pub struct ExportJob<'a> {
    /// Checkpoint (hub id or directory).
    pub model: &'a str,
    /// Processor/tokenizer source.
    pub processor: &'a str,
    /// Output precision.
    pub dtype: ExportDtype,
    /// Output directory.
    pub out: &'a Path,
}

/// Runs one step of the built-in export script in `env`, in a process of its own so that the
/// steps' peaks do not add up (its output goes to this process's terminal). Temporary graphs go
/// under `<out>/.export-tmp`, on the disk the checks measured, removed afterwards.
pub fn run_step(env: &PythonEnv, job: &ExportJob<'_>, step: Step) -> Result<StepRun, ExportError> {
    let failed = |reason: RunFailure| ExportError::Run { reason };
    let create = |path: &Path| {
        std::fs::create_dir_all(path).map_err(|source| {
            failed(RunFailure::CreateDir {
                path: path.to_owned(),
                source,
            })
        })
    };
    create(job.out)?;
    let scratch = job.out.join(".export-tmp");
    create(&scratch)?;
    let script = scratch.join("export_showui.py");
    std::fs::write(&script, EXPORT_SCRIPT).map_err(|e| failed(RunFailure::WriteScript(e)))?;
    let started = Instant::now();
    let child = Command::new(env.python())
        .arg(&script)
        .arg(step.flag())
        .args(["--model", job.model, "--processor", job.processor])
        .args(["--dtype", job.dtype.as_str()])
        .arg("--out")
        .arg(job.out)
        .env("TMPDIR", &scratch)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::null())
        .spawn()
        .map_err(|source| {
            failed(RunFailure::Start {
                python: env.python(),
                source,
            })
        })?;
    let waited = wait_with_peak_memory(child);
    let _ = std::fs::remove_dir_all(&scratch);
    let (code, peak_rss_bytes) = waited.map_err(|source| {
        failed(RunFailure::Wait {
            step: step.name(),
            source,
        })
    })?;
    Ok(StepRun {
        success: code == Some(0),
        status: code.map_or_else(|| "killed by a signal".to_owned(), |c| format!("exit {c}")),
        elapsed: started.elapsed(),
        peak_rss_bytes,
    })
}

/// Waits for `child` and returns its exit code (`None` when a signal ended it) and its peak
/// resident memory, which only `wait4` reports (so the child is reaped here, not by std).
fn wait_with_peak_memory(child: std::process::Child) -> std::io::Result<(Option<i32>, u64)> {
    let pid = child.id();
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own unreaped child; `status` and `usage` are valid for writes.
        let reaped = unsafe { libc::wait4(pid as libc::pid_t, &mut status, 0, &mut usage) };
        if reaped == pid as libc::pid_t {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    // Linux reports ru_maxrss in kilobytes.
    Ok((code, usage.ru_maxrss.max(0) as u64 * 1024))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_environment_counts_as_installed_only_with_the_current_stamp() {
        let dir = tempfile::tempdir().unwrap();
        assert!(!PythonEnv::is_installed(dir.path()));
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        std::fs::write(dir.path().join("bin/python"), "").unwrap();
        std::fs::write(dir.path().join(STAMP_FILE), "an older list").unwrap();
        assert!(!PythonEnv::is_installed(dir.path()));
        std::fs::write(dir.path().join(STAMP_FILE), stamp()).unwrap();
        assert!(PythonEnv::is_installed(dir.path()));
    }

    #[test]
    fn a_missing_python_is_named_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let error = PythonEnv::prepare(
            &dir.path().join("env"),
            Path::new("/no/such/python3"),
            &Console,
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("cannot run /no/such/python3"), "{error}");
        assert!(error.contains("--python"), "{error}");
    }

    #[test]
    fn peak_memory_of_a_child_is_measured() {
        let child = Command::new("sh").args(["-c", "exit 3"]).spawn().unwrap();
        let (code, peak) = wait_with_peak_memory(child).unwrap();
        assert_eq!(code, Some(3));
        assert!(peak > 0);
    }
}
