//! `neko-agent`: parses the command line and dispatches to a capability.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use neko_agent::cli::{Cli, Command, ManualArgs, RoomArgs, WatchArgs};
use neko_agent::manual;
use neko_agent::watch::{self, WatchOptions};
use neko_sandbox::Room;

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
                    Command::Watch(args) => run_watch(args).await.map(|()| ExitCode::SUCCESS),
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
                }
            })
        });
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            match error.downcast_ref::<neko_agent::watch::WatchError>() {
                Some(neko_agent::watch::WatchError::Connection(_)) => ExitCode::from(3),
                _ => ExitCode::FAILURE,
            }
        }
    }
}

async fn run_agent(args: neko_agent::cli::RunArgs) -> anyhow::Result<ExitCode> {
    init_gstreamer()?;
    Ok(ExitCode::from(neko_agent::agent::app::run(args).await))
}

async fn run_yap(args: neko_agent::yap::YapArgs) -> anyhow::Result<ExitCode> {
    init_gstreamer()?;
    Ok(ExitCode::from(neko_agent::yap::app::run(args).await))
}

async fn run_capture(args: neko_agent::capture::CaptureArgs) -> anyhow::Result<ExitCode> {
    init_gstreamer()?;
    Ok(ExitCode::from(neko_agent::capture::app::run(args).await))
}

async fn run_manual(args: ManualArgs) -> anyhow::Result<ExitCode> {
    init_gstreamer()?;
    let source = manual::Source::detect(args.commands.clone());
    Ok(ExitCode::from(manual::run(args, source).await))
}

async fn run_healthcheck(args: &neko_agent::healthcheck::HealthcheckArgs) -> ExitCode {
    let url = neko_agent::healthcheck::probe_url(args);
    let timeout = Duration::from_secs_f64(args.timeout.clamp(0.1, 60.0));
    match neko_agent::healthcheck::probe(&url, timeout).await {
        Ok(status) => {
            println!("healthy: {url} answered {status:?}");
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

async fn run_watch(args: WatchArgs) -> anyhow::Result<()> {
    init_gstreamer()?;
    let mut embedded = None;
    let session = if args.connection.is_configured() {
        args.connection.session()?
    } else {
        let mut config = args.room.room_config();
        config.ice_addresses = vec![config.bind.ip()];
        let room = Room::start(config)
            .await
            .context("the embedded sandbox room could not start")?;
        println!(
            "no NEKO_URL/NEKO_WS given: watching the embedded sandbox room at {}",
            room.base_url()
        );
        let connection = neko_agent::connection::ConnectionArgs {
            neko_url: Some(room.base_url()),
            username: Some("watcher".into()),
            password: Some(args.room.user_password.clone()),
            ice_addresses: "127.0.0.1".into(),
            ..Default::default()
        };
        embedded = Some(room);
        connection.session()?
    };
    let options = WatchOptions {
        session,
        variables: BTreeMap::from([("decoder".to_owned(), args.decoder.clone())]),
        pipeline: args.pipeline.clone(),
        duration: (args.duration > 0.0).then(|| Duration::from_secs_f64(args.duration)),
        png: args.png.clone(),
        interval: Duration::from_secs_f64(args.interval.max(0.1)),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let ctrl_c = stop.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            ctrl_c.store(true, Ordering::Relaxed);
        }
    });
    let summary = tokio::task::spawn_blocking(move || watch::run(&options, &stop))
        .await
        .context("the watch task failed")??;
    println!(
        "received {} frames, last {}x{}",
        summary.frames, summary.size.0, summary.size.1
    );
    if let Some(room) = embedded {
        room.shutdown().await;
    }
    if summary.frames == 0 {
        anyhow::bail!("no video frame arrived");
    }
    Ok(())
}
