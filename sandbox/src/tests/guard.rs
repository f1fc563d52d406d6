//! The test room guard stops its room however it goes: gracefully, dropped on its own runtime,
//! or dropped inside the caller's runtime where it cannot await.

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::support::{media_available, start};
use crate::RoomConfig;
use crate::testing::TestRoom;

/// Whether nothing accepts connections on `addr` any more, waiting up to two seconds.
fn stops_listening(addr: SocketAddr) -> bool {
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_dropped_inside_a_runtime_stops_listening() {
    let room = start().await;
    let addr = room.local_addr();
    assert!(TcpStream::connect(addr).is_ok(), "the room listens");
    drop(room);
    assert!(stops_listening(addr), "{addr} still accepts connections");
}

#[test]
fn a_room_on_its_own_runtime_is_shut_down_when_dropped() {
    let room = TestRoom::start_blocking(RoomConfig::signalling_only());
    let addr = room.local_addr();
    assert!(TcpStream::connect(addr).is_ok(), "the room listens");
    drop(room);
    assert!(stops_listening(addr), "{addr} still accepts connections");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_media_room_dropped_inside_a_runtime_stops_rendering() {
    if !media_available() {
        eprintln!("skipped: GStreamer WebRTC elements are not installed");
        return;
    }
    let room = TestRoom::start(RoomConfig::loopback(320, 240, 10)).await;
    let media = room.media().expect("the room runs media");
    let deadline = Instant::now() + Duration::from_secs(10);
    while media.frames_rendered() == 0 {
        assert!(Instant::now() < deadline, "the room renders no frames");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(room);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopped_at = media.frames_rendered();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        media.frames_rendered(),
        stopped_at,
        "the room still renders"
    );
}
