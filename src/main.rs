//! `neko-agent`: parses the command line and dispatches to a capability.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use neko_agent::cli::{Cli, Command};
use neko_agent::manual::{self, ManualArgs};
use neko_agent::watch::{self, WatchArgs};
use neko_sandbox::cli::RoomArgs;

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if let Command::Capture(args) = &cli.command
        && let Some(level) = &args.loglevel
        && std::env::var_os("NEKO_LOGLEVEL").is_none()
    {
        cli.log.level = level.clone();
    }
    if let Err(error) = neko_agent::logging::init(&cli.log) {
        eprintln!("error: {error}");
        return ExitCode::from(2);
    }
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .and_then(|runtime| {
            runtime.block_on(async {
                match cli.command {
                    Command::Room(args) => run_room(args).await.map(|()| ExitCode::SUCCESS),
                    Command::Watch(args) => run_watch(args).await,
                    Command::Manual(args) => run_manual(args).await,
                    Command::Run(args) => run_agent(*args).await,
                    Command::Yap(args) => run_yap(*args).await,
                    Command::Capture(args) => run_capture(*args).await,
                    Command::Dataset(args) => {
                        Ok(ExitCode::from(neko_agent::capture::dataset::run(&args)))
                    }
                    Command::Healthcheck(args) => Ok(run_healthcheck(&args).await),
                    Command::Model(args) => {
                        Ok(ExitCode::from(neko_agent::model_export::run(args).await))
                    }
                    Command::Serve(args) => {
                        run_service(neko_agent::service::app::serve(*args)).await
                    }
                    Command::Worker(args) => {
                        run_service(neko_agent::service::app::worker(*args)).await
                    }
                }
            })
        });
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run_agent(args: neko_agent::agent::RunArgs) -> anyhow::Result<ExitCode> {
    init_gstreamer()?;
    Ok(match neko_agent::agent::app::run(args).await {
        Ok(outcome) => {
            if let Some(notice) = outcome.notice() {
                eprintln!("{notice}");
            }
            ExitCode::from(outcome.exit_code())
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(error.exit_code())
        }
    })
}

async fn run_service(
    service: impl std::future::Future<Output = Result<(), neko_agent::service::app::ServiceError>>,
) -> anyhow::Result<ExitCode> {
    init_gstreamer()?;
    Ok(match service.await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    })
}

async fn run_yap(args: neko_agent::yap::YapArgs) -> anyhow::Result<ExitCode> {
    init_gstreamer()?;
    match neko_agent::yap::app::run(args).await {
        Ok(outcome) => {
            if let neko_agent::yap::app::YapOutcome::Unhealthy(problems) = &outcome {
                for problem in problems {
                    eprintln!("Error: {problem}");
                }
            }
            Ok(ExitCode::from(outcome.exit_code()))
        }
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::from(error.exit_code()))
        }
    }
}

async fn run_capture(args: neko_agent::capture::CaptureArgs) -> anyhow::Result<ExitCode> {
    init_gstreamer()?;
    match neko_agent::capture::app::run(args).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::from(error.exit_code()))
        }
    }
}

async fn run_manual(args: ManualArgs) -> anyhow::Result<ExitCode> {
    init_gstreamer()?;
    let source = manual::Source::detect(args.commands.clone());
    Ok(ExitCode::from(manual::run(args, source).await))
}

async fn run_healthcheck(args: &neko_agent::healthcheck::HealthcheckArgs) -> ExitCode {
    match neko_agent::healthcheck::run(args).await {
        Ok(answer) => {
            println!("healthy: {answer}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("unhealthy: {error}");
            ExitCode::FAILURE
        }
    }
}

fn init_gstreamer() -> anyhow::Result<()> {
    gst::init().context("GStreamer could not be initialised")?;
    gstneko::plugin_register_static().context("the neko GStreamer plugin could not be registered")
}

async fn run_room(args: RoomArgs) -> anyhow::Result<()> {
    init_gstreamer()?;
    Ok(neko_sandbox::cli::run(&args).await?)
}

async fn run_watch(args: WatchArgs) -> anyhow::Result<ExitCode> {
    init_gstreamer()?;
    match watch::app::run(args).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(error) => {
            let code = error.exit_code();
            eprintln!("error: {:#}", anyhow::Error::from(error));
            Ok(ExitCode::from(code))
        }
    }
}
