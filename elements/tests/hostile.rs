//! Surviving a hostile or broken server (scripted by `neko_sandbox::testing::hostile`): unusable
//! offers, absurd durations, floods of malformed frames; and leaving every server with a normal
//! close (1000). Also the room's side of a flooding client.

use std::io::Write;
use std::sync::atomic::Ordering;
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use futures_util::SinkExt;
use gst::prelude::*;
use gstneko::client::{ClientConfig, ClientNotice, NekoClient, Target, wait_for_notice};
use gstneko::log_limit::DEFAULT_BURST;
use gstneko::protocol::ClientEvent;
use neko_sandbox::RoomConfig;
use neko_sandbox::testing::hostile::{HostileServer, Script, UNUSABLE_OFFER};
use neko_sandbox::testing::{self, TestRoom};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

/// Every log line of this test binary, for counting.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// Appends what the log subscriber writes to [`LOGS`].
struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing_subscriber::fmt()
            .with_env_filter("warn,neko_agent=info,gstneko=info")
            .with_ansi(false)
            .with_writer(|| Capture)
            .init();
        testing::init();
        capture_element_logs();
    });
}

/// Appends what the elements and the client log on their GStreamer debug categories (`neko*`,
/// from INFO up) to [`LOGS`], beside the sandbox room's own log.
fn capture_element_logs() {
    gst::log::set_threshold_for_name("neko*", gst::DebugLevel::Info);
    gst::log::add_log_function(
        |category, level, _file, _function, _line, _object, message| {
            if !category.name().starts_with("neko") {
                return;
            }
            if let Some(text) = message.get() {
                let line = format!("{level:?} {}: {text}\n", category.name());
                LOGS.lock()
                    .expect("logs")
                    .extend_from_slice(line.as_bytes());
            }
        },
    );
}

/// Log lines containing `needle`.
fn log_lines(needle: &str) -> Vec<String> {
    let logs = LOGS.lock().expect("logs");
    String::from_utf8_lossy(&logs)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_owned)
        .collect()
}

/// Waits until a log line contains `needle`.
async fn wait_for_log(needle: &str, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Some(line) = log_lines(needle).pop() {
            return Some(line);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

fn client_for(url: &str) -> ClientConfig {
    let target = Target::new(url, Some("tester"), Some("secret"), None).expect("target");
    ClientConfig::new(target)
}

fn connected(notice: &ClientNotice) -> Option<String> {
    match notice {
        ClientNotice::Connected { session_id, .. } => Some(session_id.clone()),
        _ => None,
    }
}

/// The first error on `pipeline`'s bus within `timeout`.
fn bus_error(pipeline: &gst::Element, timeout: Duration) -> Option<String> {
    let bus = pipeline.bus().expect("bus");
    let message = bus.timed_pop_filtered(
        gst::ClockTime::from_nseconds(timeout.as_nanos() as u64),
        &[gst::MessageType::Error],
    )?;
    match message.view() {
        gst::MessageView::Error(error) => Some(error.error().to_string()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_offers_are_asked_again_with_backoff_then_given_up() {
    init();
    let server = HostileServer::start(Script {
        heartbeat_interval: 10,
        offer: Some(UNUSABLE_OFFER.into()),
        ..Script::default()
    })
    .await;
    let launch = format!(
        "nekosrc name=src url={} username=tester password=secret audio=false max-failed-offers=3 ! fakesink",
        server.url()
    );
    let pipeline = gst::parse::launch(&launch).expect("pipeline");
    let started = Instant::now();
    pipeline.set_state(gst::State::Playing).expect("playing");
    let waiting = pipeline.clone();
    let error = tokio::task::spawn_blocking(move || bus_error(&waiting, Duration::from_secs(30)))
        .await
        .expect("bus wait")
        .unwrap_or_else(|| {
            panic!(
                "no element error after the third unusable offer; requests {}; log:\n{}",
                server.seen.requests.load(Ordering::SeqCst),
                log_lines("").join("\n")
            )
        });
    let elapsed = started.elapsed();
    pipeline.set_state(gst::State::Null).expect("null");
    assert!(
        error.contains("gave up after 3 offers in a row") && error.contains(&server.url()),
        "{error}"
    );
    assert!(!error.contains("GError"), "{error}");
    assert_eq!(server.seen.requests.load(Ordering::SeqCst), 3);
    // Two waits of at least 1 s and 2 s between the three requests.
    assert!(elapsed >= Duration::from_secs(3), "{elapsed:?}");
    let retries = log_lines("could not answer the room's offer");
    assert_eq!(retries.len(), 2, "{retries:?}");
    assert!(
        retries
            .iter()
            .all(|l| l.contains("setting the remote offer") && !l.contains("GError")),
        "{retries:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_heartbeat_interval_is_clamped_and_the_session_lives_on() {
    init();
    let server = HostileServer::start(Script {
        heartbeat_interval: i64::MAX,
        ..Script::default()
    })
    .await;
    let (client, mut notices) = NekoClient::start(client_for(&server.url()));
    wait_for_notice(&mut notices, Duration::from_secs(10), connected)
        .await
        .expect("connected");
    // The first heartbeat is due 10 s after connecting; the next one is scheduled from the
    // server's interval then.
    let fatal = wait_for_notice(&mut notices, Duration::from_secs(11), |n| match n {
        ClientNotice::Fatal(error) => Some(error.to_string()),
        _ => None,
    })
    .await;
    assert_eq!(fatal, None);
    assert!(server.seen.heartbeats.load(Ordering::SeqCst) >= 1);
    assert!(client.state().connected);
    client
        .send(ClientEvent::ClientHeartbeat)
        .await
        .expect("the client still sends");
    assert!(client.stop_and_wait(Duration::from_secs(5)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_malformed_frames_is_logged_in_summary() {
    init();
    const FLOOD: usize = 20_000;
    let server = HostileServer::start(Script {
        heartbeat_interval: 10,
        malformed_frames: FLOOD,
        ..Script::default()
    })
    .await;
    let (client, mut notices) = NekoClient::start(client_for(&server.url()));
    wait_for_notice(&mut notices, Duration::from_secs(10), connected)
        .await
        .expect("connected");
    // Loopback delivers the whole flood well within this.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(client.stop_and_wait(Duration::from_secs(5)));
    let summary = wait_for_log(
        "more malformed events from the server",
        Duration::from_secs(5),
    )
    .await
    .expect("a summary line");
    let logged = log_lines("skipped a malformed event from the server");
    assert!(logged.len() <= DEFAULT_BURST as usize, "{logged:?}");
    let suppressed: usize = summary
        .split("… ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a count in the summary");
    assert_eq!(suppressed + logged.len(), FLOOD, "{summary}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_connection_is_replaced_with_a_normal_close() {
    init();
    let server = HostileServer::start(Script {
        heartbeat_interval: 10,
        ..Script::default()
    })
    .await;
    let mut config = client_for(&server.url());
    config.stale_after = Duration::from_millis(500);
    config.backoff_initial = Duration::from_millis(100);
    let (client, mut notices) = NekoClient::start(config);
    let reconnected = wait_for_notice(&mut notices, Duration::from_secs(10), |n| match n {
        ClientNotice::Connected {
            reconnect: true, ..
        } => Some(()),
        _ => None,
    })
    .await;
    assert!(reconnected.is_some());
    assert!(client.stop_and_wait(Duration::from_secs(5)));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let endings = server.seen.endings.lock().expect("endings").clone();
    assert!(endings.len() >= 2, "{endings:?}");
    assert!(endings.iter().all(|e| *e == Some(1000)), "{endings:?}");
}

fn room_with_long_delayed_disconnect() -> RoomConfig {
    RoomConfig {
        // An abnormal close would keep the session connected this long.
        delayed_disconnect: Duration::from_secs(60),
        ..RoomConfig::signalling_only()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_client_leaves_the_room_with_a_normal_close() {
    init();
    let room = TestRoom::start(room_with_long_delayed_disconnect()).await;
    let target = Target::new(&room.base_url(), Some("leaver"), Some("neko"), None).expect("target");
    let (client, mut notices) = NekoClient::start(ClientConfig::new(target));
    let id = wait_for_notice(&mut notices, Duration::from_secs(10), connected)
        .await
        .expect("connected");
    assert!(room.session(&id).expect("session").state.is_connected);
    assert!(client.stop_and_wait(Duration::from_secs(5)));
    // A normal close ends the session at once; an abnormal one only after the room's 60 s
    // delayed disconnect, so any wait well below that tells them apart, even on a busy machine.
    let deadline = Instant::now() + Duration::from_secs(20);
    while room.session(&id).expect("session").state.is_connected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!room.session(&id).expect("session").state.is_connected);
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_element_set_to_null_leaves_the_room_with_a_normal_close() {
    init();
    let room = TestRoom::start(room_with_long_delayed_disconnect()).await;
    let launch = format!(
        "nekosrc name=src url={} username=element password=neko audio=false ! fakesink",
        room.base_url()
    );
    let pipeline = gst::parse::launch(&launch).expect("pipeline");
    pipeline.set_state(gst::State::Playing).expect("playing");
    let deadline = Instant::now() + Duration::from_secs(10);
    let connected = || {
        room.sessions()
            .into_iter()
            .find(|s| s.profile.name == "element")
            .filter(|s| s.state.is_connected)
    };
    while connected().is_none() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(connected().is_some(), "the element never connected");
    let stopping = pipeline.clone();
    tokio::task::spawn_blocking(move || stopping.set_state(gst::State::Null))
        .await
        .expect("state change")
        .expect("null");
    let deadline = Instant::now() + Duration::from_secs(3);
    while connected().is_some() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        connected().is_none(),
        "the room still counts the element as connected"
    );
    room.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_logs_a_flooding_client_in_summary() {
    init();
    const FLOOD: usize = 10_000;
    let room = TestRoom::start(room_with_long_delayed_disconnect()).await;
    let login: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/api/login", room.base_url()))
        .json(&serde_json::json!({"username": "flooder", "password": "neko"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("login body");
    let token = login["token"].as_str().expect("token");
    let url = format!(
        "{}/api/ws?token={token}",
        room.base_url().replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket");
    for n in 0..FLOOD {
        let frame = if n % 2 == 0 {
            format!("not json {n}")
        } else {
            format!("{{\"event\": \"no/such-event-{n}\"}}")
        };
        socket.send(Message::text(frame)).await.expect("sent");
    }
    let frame = CloseFrame {
        code: 1000.into(),
        reason: "".into(),
    };
    socket.close(Some(frame)).await.expect("closed");
    let summary = wait_for_log(
        "more bad messages from this session were skipped",
        Duration::from_secs(10),
    )
    .await
    .expect("a summary line");
    let logged =
        log_lines("message handler has failed").len() + log_lines("unhandled message").len();
    assert!(logged <= DEFAULT_BURST as usize + 1, "{logged} lines");
    assert!(
        summary.contains(&format!("… {}", FLOOD - logged)),
        "{summary}"
    );
    room.shutdown().await;
}
