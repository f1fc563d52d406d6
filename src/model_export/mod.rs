//! `neko-agent model export`: turns ShowUI-2B (or any Qwen2-VL checkpoint) into the ONNX graphs
//! the agent runs.
//!
//! Before anything long starts it measures the checkpoint (safetensors headers, or the hub's
//! model API, which also proves the hub is reachable and the model accessible), estimates the
//! memory and disk the export needs and compares them with what this machine has. It then
//! creates a Python environment of its own with the pinned versions (once), runs the built-in
//! export script (export, then PyTorch-vs-ONNX verification) and lists what it wrote.

mod console;
mod error;
mod needs;
mod python;
mod source;

use std::path::{Path, PathBuf};

pub use error::{
    EnvFailure, ExportError, HubAnswerProblem, HubFailure, LocalModelProblem, RunFailure,
    SafetensorsError,
};
pub use needs::{ExportDtype, HostError};

use console::Console;

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

/// Runs `neko-agent model …`; returns the exit code (0 done, 1 the export or its verification
/// failed, 2 it could not start).
pub async fn run(args: ModelArgs) -> u8 {
    let ModelCommand::Export(args) = args.command;
    let console = Console;
    match export(&args, &console).await {
        Ok(()) => 0,
        Err(error) => {
            console.error(&error);
            match error {
                ExportError::StepFailed { .. } => 1,
                _ => 2,
            }
        }
    }
}

/// Checks, then exports; [`ExportError::StepFailed`] when the script failed (its own output
/// says why).
async fn export(args: &ExportArgs, console: &Console) -> Result<(), ExportError> {
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
    console.result(&format!(
        "{model}: {:.2} billion parameters; exporting {} to {}",
        checkpoint.parameters as f64 / 1e9,
        args.dtype.as_str(),
        args.out.display()
    ));
    print_needs(console, &needs, &ThisMachine);
    if !args.skip_checks {
        needs::check(&needs, &ThisMachine)?;
    }
    if args.check_only {
        console.result("this machine can run the export");
        return Ok(());
    }
    let env = tokio::task::block_in_place(|| PythonEnv::prepare(&env_dir, &args.python, console))?;
    let job = ExportJob {
        model: &args.model,
        processor: &args.processor,
        dtype: args.dtype,
        out: &args.out,
    };
    for step in [Step::Export, Step::Verify] {
        let run = tokio::task::block_in_place(|| python::run_step(&env, &job, step))?;
        console.result(&format!(
            "{} {}: {:.1} s, peak memory {}",
            step.name(),
            run.status,
            run.elapsed.as_secs_f64(),
            gb(run.peak_rss_bytes)
        ));
        if !run.success {
            return Err(ExportError::StepFailed {
                step: step.name(),
                status: run.status,
            });
        }
    }
    print_written(console, &args.out);
    let dtype_flag = match args.dtype {
        ExportDtype::Fp32 => "",
        ExportDtype::Fp16 => " --model-dtype fp16",
        ExportDtype::Int8 => " --model-dtype quantized",
    };
    console.result(&format!(
        "checked against PyTorch; run it with: neko-agent run --model-dir {}{dtype_flag}",
        args.out.display()
    ));
    Ok(())
}

/// One line per need: what, where, how much, and what this machine has.
fn print_needs(console: &Console, needs: &[needs::Need], host: &dyn Host) {
    for need in needs {
        let has = match &need.disk {
            None => host.available_memory(),
            Some(path) => host.free_disk(path),
        };
        let has = has.map_or_else(|e| format!("unknown ({e})"), gb);
        console.result(&format!(
            "  needs {:>8} of {} for {}; has {has}",
            gb(need.bytes),
            need.place(),
            need.what
        ));
    }
}

/// Lists the files under `out` with their sizes, and the total.
fn print_written(console: &Console, out: &Path) {
    let mut files = Vec::new();
    collect_files(out, &mut files);
    files.sort();
    let mut total = 0;
    for (path, size) in &files {
        total += size;
        let shown = path.strip_prefix(out).unwrap_or(path);
        console.result(&format!("  {:>10}  {}", human(*size), shown.display()));
    }
    console.result(&format!(
        "wrote {} files, {} in all, to {}",
        files.len(),
        human(total),
        out.display()
    ));
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
