//! ONNX Runtime itself: finding `libonnxruntime.so`, loading it once per process, and choosing the
//! execution provider (TensorRT, CUDA or CPU).
//!
//! The library is looked for, in order: the path in the options, `$NEKO_ORT_LIB`,
//! `$ORT_DYLIB_PATH`, `<executable dir>/lib/`, then the project's `.ort/lib/` (where
//! `scripts/setup.sh` installs it) in every folder above the executable and above the current
//! directory — so `cargo run`, `target/release/neko-agent` and test binaries all find it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::AsPointer;
use ort::environment::Environment;
use ort::ep::{self, ExecutionProvider as _};
use ort::memory::{AllocationDevice, AllocatorType, MemoryInfo, MemoryType};
use ort::session::Session;
use ort::session::builder::SessionBuilder;

use super::profile::ShapeProfile;

/// Environment variable naming the ONNX Runtime library (a file, or a folder holding one).
pub const ORT_LIB_ENV: &str = "NEKO_ORT_LIB";
/// ort's own variable for the library, honoured after [`ORT_LIB_ENV`].
pub const ORT_DYLIB_ENV: &str = "ORT_DYLIB_PATH";

/// How to get a working library, appended to every loading error.
const HOW_TO_FIX: &str = "run `bash scripts/setup.sh` to install ONNX Runtime into .ort/lib, or set NEKO_ORT_LIB to a libonnxruntime.so (ONNX Runtime 1.20 or newer)";

/// ONNX Runtime could not be found, loaded or set up.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No library in any of the places searched.
    #[error("ONNX Runtime library (libonnxruntime.so*) not found; looked in {}; {HOW_TO_FIX}", list(.searched))]
    NotFound {
        /// The folders searched.
        searched: Vec<PathBuf>,
    },
    /// A path given explicitly does not lead to a library.
    #[error(
        "{source_name} is {path}, which is not a libonnxruntime.so file or a folder holding one; {HOW_TO_FIX}"
    )]
    BadPath {
        /// Where the path came from (`NEKO_ORT_LIB`, the options, …).
        source_name: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// The file exists but is not a usable ONNX Runtime (not a library, too old, …).
    #[error("cannot load ONNX Runtime from {path}: {source}; {HOW_TO_FIX}")]
    Load {
        /// The file.
        path: PathBuf,
        /// What the loader reported.
        #[source]
        source: ort::LoadDynamicError,
    },
    /// Another library is already loaded in this process.
    #[error(
        "ONNX Runtime is already loaded from {loaded} in this process and cannot be switched to {requested}; restart with one library"
    )]
    AlreadyLoaded {
        /// The library in use.
        loaded: PathBuf,
        /// The one asked for now.
        requested: PathBuf,
    },
    /// The ONNX Runtime environment could not be created.
    #[error("cannot create the ONNX Runtime environment with {path}: {source}")]
    Environment {
        /// The library.
        path: PathBuf,
        /// What ONNX Runtime reported.
        #[source]
        source: ort::Error,
    },
    /// An explicitly requested execution provider cannot be used.
    #[error(
        "execution provider {provider} was requested (NEKO_EXECUTION_PROVIDER) but cannot be used: {source}; use `auto` or `cpu`, or install the GPU build with `NEKO_ORT_GPU=1 bash scripts/setup.sh` on a machine with CUDA"
    )]
    ProviderUnavailable {
        /// The provider asked for.
        provider: ExecutionProvider,
        /// Why it is unusable.
        #[source]
        source: Unavailable,
    },
    /// A session builder could not be configured.
    #[error("cannot configure an ONNX Runtime session for {provider}: {source}")]
    Session {
        /// The provider being set up.
        provider: ExecutionProvider,
        /// What ONNX Runtime reported.
        #[source]
        source: ort::Error,
    },
}

/// Why an execution provider cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    /// The library was built without it.
    #[error("this ONNX Runtime build ({}) has no {provider} provider", library.display())]
    NotInBuild {
        /// The library in use.
        library: PathBuf,
        /// The provider.
        provider: ExecutionProvider,
    },
    /// ONNX Runtime could not say whether it has it.
    #[error(transparent)]
    Query(ort::Error),
    /// It is in the build but does not register on a session (no GPU, no CUDA libraries, …).
    #[error(transparent)]
    Register(Box<RuntimeError>),
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which execution provider to use (`NEKO_EXECUTION_PROVIDER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProviderChoice {
    /// TensorRT, else CUDA, else CPU: the first one that this library and machine support.
    #[default]
    Auto,
    /// TensorRT (with CUDA for the nodes TensorRT does not take); fail if unavailable.
    Tensorrt,
    /// CUDA; fail if unavailable.
    Cuda,
    /// CPU only.
    Cpu,
}

/// The execution provider the sessions run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionProvider {
    /// NVIDIA TensorRT (CUDA and CPU take the nodes it does not support).
    TensorRt,
    /// NVIDIA CUDA (CPU takes the nodes it does not support).
    Cuda,
    /// The CPU.
    Cpu,
}

impl fmt::Display for ExecutionProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExecutionProvider::TensorRt => "TensorRT",
            ExecutionProvider::Cuda => "CUDA",
            ExecutionProvider::Cpu => "CPU",
        })
    }
}

/// The loaded ONNX Runtime library and its process-wide environment.
pub struct Runtime {
    library: PathBuf,
    environment: Environment,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("library", &self.library)
            .finish_non_exhaustive()
    }
}

static LOADED: OnceLock<Runtime> = OnceLock::new();
static LOADING: Mutex<()> = Mutex::new(());

impl Runtime {
    /// Loads ONNX Runtime (once per process) from `explicit`, or from the first place in the
    /// search order that has it, and creates the environment.
    pub fn get(explicit: Option<&Path>) -> Result<&'static Runtime, RuntimeError> {
        let _serialised = LOADING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(runtime) = LOADED.get() {
            if let Some(requested) = explicit {
                let requested = resolve(requested, "the ort library option")?;
                if !same_file(&requested, &runtime.library) {
                    return Err(RuntimeError::AlreadyLoaded {
                        loaded: runtime.library.clone(),
                        requested,
                    });
                }
            }
            return Ok(runtime);
        }
        let library = find_library(explicit)?;
        let builder = ort::init_from(&library).map_err(|source| RuntimeError::Load {
            path: library.clone(),
            source,
        })?;
        let environment = builder
            .with_name("neko-agent")
            .with_telemetry(false)
            .build()
            .and_then(|environment| {
                share_cpu_arena(&environment)?;
                Ok(environment)
            })
            .map_err(|source| RuntimeError::Environment {
                path: library.clone(),
                source,
            })?;
        tracing::info!(library = %library.display(), "ONNX Runtime loaded");
        Ok(LOADED.get_or_init(|| Runtime {
            library,
            environment,
        }))
    }

    /// The library file in use.
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// Picks the execution provider for `choice`: in `Auto`, the first of TensorRT, CUDA and CPU
    /// that this library offers and that registers; otherwise the one asked for, or an error.
    /// `cache_dir` receives TensorRT engine and timing caches.
    pub fn choose_provider(
        &self,
        choice: ProviderChoice,
        cache_dir: &Path,
    ) -> Result<ExecutionProvider, RuntimeError> {
        let candidates: &[ExecutionProvider] = match choice {
            ProviderChoice::Auto => &[
                ExecutionProvider::TensorRt,
                ExecutionProvider::Cuda,
                ExecutionProvider::Cpu,
            ],
            ProviderChoice::Tensorrt => &[ExecutionProvider::TensorRt],
            ProviderChoice::Cuda => &[ExecutionProvider::Cuda],
            ProviderChoice::Cpu => &[ExecutionProvider::Cpu],
        };
        for &provider in candidates {
            match self.probe(provider, cache_dir) {
                Ok(()) => {
                    tracing::info!(%provider, ?choice, "execution provider chosen");
                    return Ok(provider);
                }
                Err(reason) if choice == ProviderChoice::Auto => {
                    tracing::info!(%provider, %reason, "execution provider skipped");
                }
                Err(source) => return Err(RuntimeError::ProviderUnavailable { provider, source }),
            }
        }
        unreachable!("CPU always registers")
    }

    /// Whether `provider` is in this build and registers on a session.
    fn probe(&self, provider: ExecutionProvider, cache_dir: &Path) -> Result<(), Unavailable> {
        let available = match provider {
            ExecutionProvider::TensorRt => ep::TensorRT::is_available(),
            ExecutionProvider::Cuda => ep::CUDA::is_available(),
            ExecutionProvider::Cpu => return Ok(()),
        };
        if !available.map_err(Unavailable::Query)? {
            return Err(Unavailable::NotInBuild {
                library: self.library.clone(),
                provider,
            });
        }
        self.session_builder(provider, cache_dir, None)
            .map(drop)
            .map_err(|e| Unavailable::Register(Box::new(e)))
    }

    /// A session builder with `provider` registered (failing if it does not register). On
    /// TensorRT, `profile` gives the engine explicit shape ranges; the other providers need none.
    pub fn session_builder(
        &self,
        provider: ExecutionProvider,
        cache_dir: &Path,
        profile: Option<&ShapeProfile>,
    ) -> Result<SessionBuilder, RuntimeError> {
        let error = |source: ort::Error| RuntimeError::Session { provider, source };
        let builder = Session::builder(&self.environment).map_err(error)?;
        let providers = match provider {
            ExecutionProvider::Cpu => {
                // Memory patterns plan one buffer per set of input shapes, and the decoder's
                // shapes change at every step and every prompt: on a 1536-wide Qwen2-VL they
                // made the first two calls of a process twice as slow as the rest and added 4 GB
                // to the peak (docs/performance.md). Without them the arena alone serves.
                // The sessions share the environment's arena: a model's graphs run one after
                // another, so the decoder reuses what the vision encoder just freed instead of
                // growing an arena of its own (and touching fresh pages on its first run).
                let builder = builder
                    .with_memory_pattern(false)
                    .map_err(|e| error(e.into()))?;
                return builder.with_env_allocators().map_err(|e| error(e.into()));
            }
            ExecutionProvider::TensorRt => {
                let cache = cache_dir.display().to_string();
                let mut tensorrt = ep::TensorRT::default()
                    .with_engine_cache(true)
                    .with_engine_cache_path(&cache)
                    .with_timing_cache(true)
                    .with_timing_cache_path(&cache);
                if let Some(profile) = profile {
                    tensorrt = tensorrt
                        .with_profile_min_shapes(profile.min_shapes())
                        .with_profile_opt_shapes(profile.opt_shapes())
                        .with_profile_max_shapes(profile.max_shapes());
                }
                vec![
                    tensorrt.build().error_on_failure(),
                    ep::CUDA::default().build(),
                ]
            }
            ExecutionProvider::Cuda => vec![ep::CUDA::default().build().error_on_failure()],
        };
        builder
            .with_execution_providers(providers)
            .map_err(|e| error(e.into()))
    }
}

/// Registers one CPU arena allocator on `environment`, which sessions built with
/// `with_env_allocators` share.
fn share_cpu_arena(environment: &Environment) -> ort::Result<()> {
    let memory = MemoryInfo::new(
        AllocationDevice::CPU,
        0,
        AllocatorType::Arena,
        MemoryType::Default,
    )?;
    // SAFETY: both pointers are live for the call; ONNX Runtime copies what it keeps, and a null
    // arena configuration means its defaults.
    let status = unsafe {
        (ort::api().CreateAndRegisterAllocator)(
            environment.ptr().cast_mut(),
            memory.ptr(),
            std::ptr::null(),
        )
    };
    // SAFETY: `status` was just returned by ONNX Runtime and is not used again.
    unsafe { ort::Error::result_from_status(status) }
}

/// Where the library is: the first of `explicit`, `$NEKO_ORT_LIB`, `$ORT_DYLIB_PATH`,
/// `<exe dir>/lib/`, and `.ort/lib/` above the executable or the current directory.
pub fn find_library(explicit: Option<&Path>) -> Result<PathBuf, RuntimeError> {
    if let Some(path) = explicit {
        return resolve(path, "the ort library option");
    }
    for var in [ORT_LIB_ENV, ORT_DYLIB_ENV] {
        if let Some(value) = std::env::var_os(var).filter(|v| !v.is_empty()) {
            return resolve(Path::new(&value), var);
        }
    }
    let searched = search_dirs();
    searched
        .iter()
        .find_map(|dir| library_in(dir))
        .ok_or(RuntimeError::NotFound { searched })
}

/// The folders searched when nothing names the library.
fn search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let exe_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    if let Some(exe_dir) = &exe_dir {
        dirs.push(exe_dir.join("lib"));
    }
    let cwd = std::env::current_dir().ok();
    for start in exe_dir.iter().chain(cwd.iter()) {
        for dir in start.ancestors() {
            let candidate = dir.join(".ort").join("lib");
            if !dirs.contains(&candidate) {
                dirs.push(candidate);
            }
        }
    }
    dirs
}

/// An explicit path: the file itself, or the library inside the folder.
fn resolve(path: &Path, source_name: &'static str) -> Result<PathBuf, RuntimeError> {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let found = if absolute.is_dir() {
        library_in(&absolute)
    } else {
        absolute.is_file().then(|| absolute.clone())
    };
    found.ok_or(RuntimeError::BadPath {
        source_name,
        path: absolute,
    })
}

/// The `libonnxruntime.so` or `libonnxruntime.so.<version>` in `dir` (highest version first).
fn library_in(dir: &Path) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            let version = library_version(&name)?;
            Some((version, dir.join(name)))
        })
        .filter(|(_, path)| path.is_file())
        .max()
        .map(|(_, path)| path)
}

/// `Some(version numbers)` when `name` is the main ONNX Runtime library (not a provider).
fn library_version(name: &str) -> Option<Vec<u32>> {
    let rest = name.strip_prefix("libonnxruntime.so")?;
    if rest.is_empty() {
        return Some(Vec::new());
    }
    rest.strip_prefix('.')?
        .split('.')
        .map(|part| part.parse().ok())
        .collect()
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("neko-ort-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn only_the_main_library_counts() {
        assert_eq!(library_version("libonnxruntime.so"), Some(vec![]));
        assert_eq!(
            library_version("libonnxruntime.so.1.31.1"),
            Some(vec![1, 31, 1])
        );
        assert_eq!(library_version("libonnxruntime_providers_cuda.so"), None);
        assert_eq!(library_version("libonnxruntime.so.x"), None);
    }

    #[test]
    fn folders_yield_their_newest_library() {
        let dir = scratch("pick");
        for name in [
            "libonnxruntime.so.1.20.1",
            "libonnxruntime.so.1.31.1",
            "libonnxruntime_providers_shared.so",
        ] {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        assert_eq!(
            resolve(&dir, "test").unwrap(),
            dir.join("libonnxruntime.so.1.31.1")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn search_includes_the_project_ort_folder() {
        let project = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(".ort")
            .join("lib");
        assert!(search_dirs().contains(&project), "{:?}", search_dirs());
    }

    #[test]
    fn a_missing_path_says_how_to_fix_it() {
        let err = find_library(Some(Path::new("/nonexistent/libonnxruntime.so.1.31.1")))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/nonexistent/libonnxruntime.so.1.31.1"),
            "{err}"
        );
        assert!(
            err.contains("scripts/setup.sh") && err.contains("NEKO_ORT_LIB"),
            "{err}"
        );
    }

    /// Loading something that is not ONNX Runtime fails with the file and the fix, no panic.
    /// (No unit test loads the real library, so this process has none loaded yet.)
    #[test]
    fn a_wrong_library_is_a_clear_error() {
        let dir = scratch("wrong");
        let fake = dir.join("libonnxruntime.so.1.31.1");
        std::fs::write(&fake, b"not a shared object").unwrap();
        let err = Runtime::get(Some(&fake)).unwrap_err();
        assert!(matches!(err, RuntimeError::Load { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&fake.display().to_string()), "{text}");
        assert!(text.contains("scripts/setup.sh"), "{text}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
