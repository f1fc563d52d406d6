//! What an export needs (memory, disk) for a checkpoint of a given size, what this machine has,
//! and the comparison, made before anything long starts.

use std::path::{Path, PathBuf};

use super::error::ExportError;
use super::source::Checkpoint;

/// Peak resident memory of the export step per float32 parameter, measured on 402M- and
/// 535M-parameter Qwen2-VLs at ShowUI-2B's width (docs/model.md): the tracer's and the serialiser's copies of the weights, then
/// onnxslim's while it rewrites each graph. Halved for float16.
pub const EXPORT_BYTES_PER_PARAMETER: u64 = 16;
/// Peak resident memory of the export step that does not grow with the model.
pub const EXPORT_BASE_BYTES: u64 = 700 << 20;
/// Peak resident memory of the verification step (its own process) per float32 parameter:
/// PyTorch's weights and ONNX Runtime's. Halved for float16.
pub const VERIFY_BYTES_PER_PARAMETER: u64 = 8;
/// Peak resident memory of the verification step that does not grow with the language model:
/// the vision tower's attention over a 1344×756 screenshot (5184 patches, 16 heads), all heads at
/// once in PyTorch and one head at a time in ONNX Runtime; the vision tower has the same shape in
/// every Qwen2-VL-2B.
pub const VERIFY_BASE_BYTES: u64 = 2_500 << 20;
/// Disk the pinned Python environment takes once installed.
pub const PYTHON_ENV_BYTES: u64 = 6 << 30;
/// Disk kept free beyond the estimate.
const DISK_MARGIN_BYTES: u64 = 1 << 30;

/// The output precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportDtype {
    /// float32 graphs (`<name>.onnx`).
    Fp32,
    /// float16 graphs (`<name>_fp16.onnx`).
    Fp16,
    /// int8 dynamically quantised graphs for CPUs (`<name>_quantized.onnx`), made from the
    /// float32 graphs, which are exported first when missing.
    Int8,
}

impl ExportDtype {
    /// The name the export script takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fp32 => "fp32",
            Self::Fp16 => "fp16",
            Self::Int8 => "int8",
        }
    }

    /// Bytes per parameter of the model the steps hold (int8 is quantised from float32).
    fn bytes(self) -> u64 {
        match self {
            Self::Fp32 | Self::Int8 => 4,
            Self::Fp16 => 2,
        }
    }

    /// Bytes per parameter of what is written: int8 writes the float32 graphs too.
    fn written_bytes(self) -> u64 {
        match self {
            Self::Fp32 => 4,
            Self::Fp16 => 2,
            Self::Int8 => 4 + 1,
        }
    }
}

/// One resource the export needs, where, and how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// What it is for, e.g. "the ONNX graphs and their temporary copies".
    pub what: &'static str,
    /// Memory when `None`, else free disk on the file system holding this path.
    pub disk: Option<PathBuf>,
    /// Bytes needed.
    pub bytes: u64,
}

impl Need {
    /// "memory", or "free disk at PATH".
    pub fn place(&self) -> String {
        match &self.disk {
            None => "memory".to_owned(),
            Some(path) => format!("free disk at {}", path.display()),
        }
    }
}

/// Everything an export of `checkpoint` in `dtype` into `out` needs.
pub fn needs(
    checkpoint: Checkpoint,
    dtype: ExportDtype,
    out: &Path,
    hub_cache: &Path,
    python_env: Option<&Path>,
) -> Vec<Need> {
    let mut needs = vec![
        Need {
            what: "the export's peak",
            disk: None,
            bytes: peak_memory(checkpoint.parameters, dtype),
        },
        Need {
            what: "the ONNX graphs and their temporary copy",
            disk: Some(out.to_owned()),
            bytes: 2 * checkpoint.parameters * dtype.written_bytes() + DISK_MARGIN_BYTES,
        },
    ];
    if checkpoint.download_bytes > 0 {
        needs.push(Need {
            what: "the checkpoint's download into the hub cache",
            disk: Some(hub_cache.to_owned()),
            bytes: checkpoint.download_bytes + DISK_MARGIN_BYTES,
        });
    }
    if let Some(env) = python_env {
        needs.push(Need {
            what: "the Python environment (installed once)",
            disk: Some(env.to_owned()),
            bytes: PYTHON_ENV_BYTES,
        });
    }
    needs
}

/// The larger of the two steps' peaks (they run in separate processes).
pub fn peak_memory(parameters: u64, dtype: ExportDtype) -> u64 {
    let scale = |per_parameter: u64| parameters * per_parameter * dtype.bytes() / 4;
    let export = scale(EXPORT_BYTES_PER_PARAMETER) + EXPORT_BASE_BYTES;
    let verify = scale(VERIFY_BYTES_PER_PARAMETER) + VERIFY_BASE_BYTES;
    export.max(verify)
}

/// Why what this machine has could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// `/proc/meminfo` cannot be read.
    #[error("cannot read /proc/meminfo: {0}")]
    Meminfo(#[source] std::io::Error),
    /// `/proc/meminfo` has no `MemAvailable` line.
    #[error("/proc/meminfo has no MemAvailable line")]
    NoMemAvailable,
    /// The file system holding a path cannot be measured.
    #[error("cannot stat {}: {source}", path.display())]
    Stat {
        /// The nearest existing ancestor of the path asked about.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: rustix::io::Errno,
    },
}

/// What this machine has for a need, in bytes.
pub trait Host {
    /// Memory available to a new process.
    fn available_memory(&self) -> Result<u64, HostError>;
    /// Free space on the file system holding `path` (or its nearest existing ancestor).
    fn free_disk(&self, path: &Path) -> Result<u64, HostError>;
}

/// The machine this runs on: `/proc/meminfo` and `statvfs`.
pub struct ThisMachine;

impl Host for ThisMachine {
    fn available_memory(&self) -> Result<u64, HostError> {
        let meminfo = std::fs::read_to_string("/proc/meminfo").map_err(HostError::Meminfo)?;
        meminfo
            .lines()
            .find_map(|line| line.strip_prefix("MemAvailable:"))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|kb| kb.trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .ok_or(HostError::NoMemAvailable)
    }

    fn free_disk(&self, path: &Path) -> Result<u64, HostError> {
        let existing = path
            .ancestors()
            .find(|p| p.exists())
            .unwrap_or_else(|| Path::new("."));
        let stats = rustix::fs::statvfs(existing).map_err(|source| HostError::Stat {
            path: existing.to_owned(),
            source,
        })?;
        Ok(stats.f_bavail * stats.f_frsize)
    }
}

/// Compares every need with what `host` has; the first shortfall is the error.
pub fn check(needs: &[Need], host: &dyn Host) -> Result<(), ExportError> {
    for need in needs {
        let has = match &need.disk {
            None => host.available_memory(),
            Some(path) => host.free_disk(path),
        }
        .map_err(|reason| ExportError::HostUnknown { reason })?;
        if has < need.bytes {
            return Err(ExportError::NotEnough {
                what: need.what,
                place: need.place(),
                need: need.bytes,
                has,
            });
        }
    }
    Ok(())
}

/// Bytes as GB with one decimal.
pub fn gb(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fake {
        memory: u64,
        disk: u64,
    }

    impl Host for Fake {
        fn available_memory(&self) -> Result<u64, HostError> {
            Ok(self.memory)
        }
        fn free_disk(&self, _: &Path) -> Result<u64, HostError> {
            Ok(self.disk)
        }
    }

    const SHOWUI_2B: Checkpoint = Checkpoint {
        parameters: 2_208_985_600,
        download_bytes: 4_417_971_200,
    };

    #[test]
    fn showui_2b_needs_more_than_a_24_gb_machine_has() {
        let needs = needs(
            SHOWUI_2B,
            ExportDtype::Fp32,
            Path::new("out"),
            Path::new("cache"),
            None,
        );
        let memory = needs.iter().find(|n| n.disk.is_none()).unwrap().bytes;
        assert!(
            memory > 35_000_000_000 && memory < 37_000_000_000,
            "{memory}"
        );
        let error = check(
            &needs,
            &Fake {
                memory: 24_000_000_000,
                disk: 1 << 40,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("of memory for the export's peak"), "{error}");
        assert!(error.contains("has 24.0 GB"), "{error}");
    }

    #[test]
    fn the_export_step_bounds_the_peak_and_fp16_needs_less() {
        // Measured: the 402M-parameter model's export step 7.0 GB; the 535M model's export step
        // 9.1 GB and its verification 6.7 GB.
        let small = peak_memory(402_000_000, ExportDtype::Fp32);
        assert!(small > 6_900_000_000 && small < 7_500_000_000, "{small}");
        let larger = peak_memory(535_000_000, ExportDtype::Fp32);
        assert!(larger > 9_000_000_000 && larger < 9_600_000_000, "{larger}");
        assert!(
            peak_memory(SHOWUI_2B.parameters, ExportDtype::Fp16)
                < peak_memory(SHOWUI_2B.parameters, ExportDtype::Fp32)
        );
    }

    #[test]
    fn disk_is_checked_where_each_thing_is_written() {
        let needs = needs(
            SHOWUI_2B,
            ExportDtype::Fp16,
            Path::new("/models/out"),
            Path::new("/cache"),
            Some(Path::new("/env")),
        );
        let places: Vec<_> = needs.iter().filter_map(|n| n.disk.clone()).collect();
        assert_eq!(
            places,
            [
                PathBuf::from("/models/out"),
                PathBuf::from("/cache"),
                PathBuf::from("/env")
            ]
        );
        let error = check(
            &needs,
            &Fake {
                memory: 1 << 40,
                disk: 5_000_000_000,
            },
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("free disk at /models/out"), "{error}");
        assert!(
            check(
                &needs,
                &Fake {
                    memory: 1 << 40,
                    disk: 1 << 40
                }
            )
            .is_ok()
        );
    }

    #[test]
    fn this_machine_reports_memory_and_disk() {
        assert!(ThisMachine.available_memory().unwrap() > 0);
        assert!(
            ThisMachine
                .free_disk(Path::new("/surely/not/here/../x"))
                .unwrap()
                > 0
        );
    }
}
