//! `neko-agent model export`: turns ShowUI-2B (or any Qwen2-VL checkpoint) into the ONNX graphs
//! the agent runs.
//!
//! Before anything long starts it measures the checkpoint (safetensors headers, or the hub's
//! model API, which also proves the hub is reachable and the model accessible), estimates the
//! memory and disk the export needs and compares them with what this machine has. It then
//! creates a Python environment of its own with the pinned versions (once), runs the built-in
//! export script (export, then PyTorch-vs-ONNX verification) and lists what it wrote.

mod needs;
mod python;
mod source;

use std::path::{Path, PathBuf};

pub use needs::ExportDtype;

use needs::{Host, ThisMachine, gb};
use python::{ExportJob, PythonEnv, Step};
use source::{Hub, Source};

/// `neko-agent model`.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ModelCommand,
}

/// The `model` subcommands.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum ModelCommand {
    /// Export a Qwen2-VL checkpoint (default ShowUI-2B) to the ONNX layout the agent loads, in
    /// a pinned Python environment of its own, and verify it against PyTorch.
    Export(ExportArgs),
}

/// `neko-agent model export`.
#[derive(Debug, Clone, clap::Args)]
pub struct ExportArgs {
    /// Checkpoint: a hub id or a local directory (config.json + *.safetensors).
    #[arg(long, default_value = "showlab/ShowUI-2B")]
    pub model: String,
    /// Processor and tokenizer source (ShowUI uses Qwen2-VL-2B-Instruct's, as its app does).
    #[arg(long, default_value = "Qwen/Qwen2-VL-2B-Instruct")]
    pub processor: String,
    /// Output precision: fp32 (`<graph>.onnx`), fp16 (`<graph>_fp16.onnx`, half the size) or
    /// int8 for CPUs (`<graph>_quantized.onnx`, dynamically quantised from the fp32 graphs).
    #[arg(long, value_enum, default_value_t = ExportDtype::Fp32)]
    pub dtype: ExportDtype,
    /// Output directory: what `neko-agent run --model-dir` loads.
    #[arg(long, default_value = crate::model::DEFAULT_MODEL_DIR)]
    pub out: PathBuf,
    /// The Python environment (created with the pinned versions when missing). Default:
    /// `$XDG_DATA_HOME/neko-agent/export-env`.
    #[arg(long, env = "NEKO_EXPORT_ENV")]
    pub python_env: Option<PathBuf>,
    /// The Python that creates the environment.
    #[arg(long, default_value = "python3")]
    pub python: PathBuf,
    /// Check what the export needs against this machine, print it, and stop.
    #[arg(long)]
    pub check_only: bool,
    /// Start even when the checks find too little memory or disk (e.g. with large swap).
    #[arg(long)]
    pub skip_checks: bool,
}

/// Why an export did not start or did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The local checkpoint is not usable.
    #[error("{path}: {problem}")]
    LocalModel {
        /// The directory given.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// The hub did not answer.
    #[error(
        "cannot reach the Hugging Face hub at {endpoint}: {reason} (check the network or HF_ENDPOINT; with the model already in the cache set HF_HUB_OFFLINE=1, or pass --model a local directory)"
    )]
    HubUnreachable {
        /// `HF_ENDPOINT`.
        endpoint: String,
        /// The failure.
        reason: String,
    },
    /// The hub answered with an error for the model.
    #[error("the hub answered {status} for {model}: {}", hub_hint(*status, *has_token))]
    HubRefused {
        /// The model id.
        model: String,
        /// HTTP status.
        status: u16,
        /// Whether a token was sent.
        has_token: bool,
    },
    /// The hub's answer was not what its API returns.
    #[error("the hub's answer for {model} is not usable: {reason}")]
    HubAnswer {
        /// The model id.
        model: String,
        /// What is wrong.
        reason: String,
    },
    /// Offline, and the model is not in the cache.
    #[error(
        "HF_HUB_OFFLINE is set but {model} is not in the hub cache at {cache} (download it once online, or pass --model a local directory)"
    )]
    NotCached {
        /// The model id.
        model: String,
        /// The cache searched.
        cache: PathBuf,
    },
    /// This machine lacks memory or disk for the export.
    #[error(
        "the export needs about {} of {place} for {what}, this machine has {} (free some, export on a larger machine, or pass --skip-checks if swap makes up the difference)",
        gb(*need),
        gb(*has)
    )]
    NotEnough {
        /// What it is for.
        what: &'static str,
        /// "memory" or "free disk at PATH".
        place: String,
        /// Bytes needed.
        need: u64,
        /// Bytes available.
        has: u64,
    },
    /// What this machine has could not be read.
    #[error("cannot tell what this machine has: {reason} (pass --skip-checks to start anyway)")]
    HostUnknown {
        /// The failure.
        reason: String,
    },
    /// The Python environment could not be created or installed.
    #[error("the Python environment in {dir} is not usable: {reason}")]
    PythonEnv {
        /// The environment directory.
        dir: PathBuf,
        /// The failure.
        reason: String,
    },
    /// The export script could not be run.
    #[error("cannot run the export: {reason}")]
    Run {
        /// The failure.
        reason: String,
    },
}

fn hub_hint(status: u16, has_token: bool) -> &'static str {
    match (status, has_token) {
        (401 | 403, false) => {
            "the model is gated or private; accept its terms on the hub and set HF_TOKEN"
        }
        (401 | 403, true) => "HF_TOKEN was refused or has no access to this model",
        (404, _) => "no such model (check the id)",
        (429, _) => "too many requests; wait and run again",
        _ => "the hub failed; try again later",
    }
}

/// Runs `neko-agent model …`; returns the exit code (0 done, 1 the export or its verification
/// failed, 2 it could not start).
pub async fn run(args: ModelArgs) -> u8 {
    let ModelCommand::Export(args) = args.command;
    match export(&args).await {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(error) => {
            eprintln!("error: {error}");
            2
        }
    }
}

/// Checks, then exports; `Ok(false)` when the script failed (its own output says why).
async fn export(args: &ExportArgs) -> Result<bool, ExportError> {
    let hub = Hub::from_env();
    let model = Source::parse(&args.model);
    let processor = Source::parse(&args.processor);
    let checkpoint = source::checkpoint(&model, &hub).await?;
    source::reachable(&processor, &hub).await?;
    let env_dir = args
        .python_env
        .clone()
        .unwrap_or_else(PythonEnv::default_dir);
    let env_missing = !PythonEnv::is_installed(&env_dir);
    let needs = needs::needs(
        checkpoint,
        args.dtype,
        &args.out,
        &hub.cache,
        env_missing.then_some(env_dir.as_path()),
    );
    println!(
        "{model}: {:.2} billion parameters; exporting {} to {}",
        checkpoint.parameters as f64 / 1e9,
        args.dtype.as_str(),
        args.out.display()
    );
    print_needs(&needs, &ThisMachine);
    if !args.skip_checks {
        needs::check(&needs, &ThisMachine)?;
    }
    if args.check_only {
        println!("this machine can run the export");
        return Ok(true);
    }
    let env = tokio::task::block_in_place(|| PythonEnv::prepare(&env_dir, &args.python))?;
    let job = ExportJob {
        model: &args.model,
        processor: &args.processor,
        dtype: args.dtype,
        out: &args.out,
    };
    for step in [Step::Export, Step::Verify] {
        let run = tokio::task::block_in_place(|| python::run_step(&env, &job, step))?;
        println!(
            "{} {}: {:.1} s, peak memory {}",
            step.name(),
            run.status,
            run.elapsed.as_secs_f64(),
            gb(run.peak_rss_bytes)
        );
        if !run.success {
            eprintln!(
                "error: the {} failed ({}); the output above says why",
                step.name(),
                run.status
            );
            return Ok(false);
        }
    }
    print_written(&args.out);
    let dtype_flag = match args.dtype {
        ExportDtype::Fp32 => "",
        ExportDtype::Fp16 => " --model-dtype fp16",
        ExportDtype::Int8 => " --model-dtype quantized",
    };
    println!(
        "checked against PyTorch; run it with: neko-agent run --model-dir {}{dtype_flag}",
        args.out.display()
    );
    Ok(true)
}

/// One line per need: what, where, how much, and what this machine has.
fn print_needs(needs: &[needs::Need], host: &dyn Host) {
    for need in needs {
        let has = match &need.disk {
            None => host.available_memory(),
            Some(path) => host.free_disk(path),
        };
        let has = has.map_or_else(|e| format!("unknown ({e})"), gb);
        println!(
            "  needs {:>8} of {} for {}; has {has}",
            gb(need.bytes),
            need.place(),
            need.what
        );
    }
}

/// Lists the files under `out` with their sizes, and the total.
fn print_written(out: &Path) {
    let mut files = Vec::new();
    collect_files(out, &mut files);
    files.sort();
    let mut total = 0;
    for (path, size) in &files {
        total += size;
        let shown = path.strip_prefix(out).unwrap_or(path);
        println!("  {:>10}  {}", human(*size), shown.display());
    }
    println!(
        "wrote {} files, {} in all, to {}",
        files.len(),
        human(total),
        out.display()
    );
}

fn collect_files(dir: &Path, files: &mut Vec<(PathBuf, u64)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        match entry.metadata() {
            Ok(meta) if meta.is_dir() => collect_files(&path, files),
            Ok(meta) => files.push((path, meta.len())),
            Err(_) => {}
        }
    }
}

/// A byte count in the unit that reads best.
fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.2} GiB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
