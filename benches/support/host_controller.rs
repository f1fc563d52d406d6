//! A control session for the latency benches: logs in at `target`, takes and keeps host
//! control, and waits until connected.

use std::time::Duration;

use gstneko::client::{ClientConfig, NekoClient, Target};
use neko_agent::input::Screen;
use neko_agent::session::{ControlOptions, Controller};

/// A connected controller that keeps host control of a 1280×720 screen.
pub async fn connected_controller(target: Target) -> Controller {
    let (client, notices) = NekoClient::start(ClientConfig::new(target));
    let controller = Controller::start(
        client,
        notices,
        ControlOptions {
            auto_host: true,
            keep_host: true,
            host_timeout: Duration::from_secs(10),
            default_screen: Screen::new(1280, 720),
        },
        std::sync::Arc::new(|_: &str| {}),
    );
    controller
        .wait_connected(Duration::from_secs(10))
        .await
        .expect("connected");
    controller
}
