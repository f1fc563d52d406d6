//! nekosrc over TLS: a room serving https/wss with a CA generated at run time, trusted through
//! `ca-file`; a clear error for a certificate of another name, and a settings error for a CA
//! file that holds no certificate.

mod common;

use std::time::Duration;

use common::Receiver;
use gst::prelude::*;
use neko_sandbox::testing::ca::TestCa;
use neko_sandbox::testing::{self, MEDIA, TestRoom};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn nekosrc_receives_over_tls_with_ca_file() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let ca = TestCa::generate();
    let room = TestRoom::start_tls(&ca, "IP:127.0.0.1", true).await;
    assert!(
        room.base_url().starts_with("https://"),
        "{}",
        room.base_url()
    );
    let url = room.base_url();
    let ca_file = ca.cert.display().to_string();
    let frame = tokio::task::spawn_blocking(move || {
        let receiver = Receiver::start(&url, "viewer", "neko", &format!("ca-file=\"{ca_file}\""));
        let frame = receiver.wait_frame(Duration::from_secs(30), |_| true);
        let _ = receiver.pipeline.set_state(gst::State::Null);
        frame
    })
    .await
    .unwrap();
    let frame = frame.expect("a frame arrives over TLS");
    assert_eq!((frame.width, frame.height), (320, 240));
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[expect(
    clippy::await_holding_lock,
    reason = "the lock only serialises media tests"
)]
async fn nekosrc_refuses_a_certificate_for_another_name() {
    let _media = MEDIA.lock().unwrap_or_else(|e| e.into_inner());
    let ca = TestCa::generate();
    let room = TestRoom::start_tls(&ca, "DNS:neko.example.com", false).await;
    let ca_file = ca.cert.display().to_string();
    let server = room.base_url().trim_start_matches("https://").to_owned();
    let expected = format!("TLS to {server} failed: certificate is not valid for this host name");

    let url = room.base_url();
    let error = tokio::task::spawn_blocking(move || {
        let receiver = Receiver::start(&url, "viewer", "neko", &format!("ca-file=\"{ca_file}\""));
        let error = receiver.error(Duration::from_secs(15));
        let _ = receiver.pipeline.set_state(gst::State::Null);
        error
    })
    .await
    .unwrap()
    .expect("the element posts an error");
    assert!(error.contains(&expected), "{error}");
    room.shutdown().await;
}

#[test]
fn a_garbage_ca_file_keeps_nekosrc_from_starting() {
    let ca = TestCa::generate();
    let garbage = ca.file("garbage.pem", "this is not PEM\n");
    testing::init();
    let element = gst::ElementFactory::make("nekosrc")
        .property("url", "https://127.0.0.1:9")
        .property("username", "u")
        .property("password", "p")
        .property("ca-file", garbage.display().to_string())
        .build()
        .unwrap();
    assert!(
        element.set_state(gst::State::Ready).is_err() || {
            element.set_state(gst::State::Paused).is_err()
        }
    );
    let _ = element.set_state(gst::State::Null);
}
