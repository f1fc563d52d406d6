//! The host's pointer position on viewers' data channels (§4.3 op `0x01`), over real WebRTC on
//! loopback: once on open after the cursor image, then on every host move (WebSocket and data
//! channel); the host itself never gets one.

use std::sync::Arc;
use std::time::Duration;

use gst::prelude::*;
use gstneko::protocol::{
    ClientDatagram, ClientEvent, ControlPos, ServerDatagram, ServerEvent, SignalDescription,
    SignalRequest,
};
use gstneko::webrtc::{Peer, PeerConfig, PeerEvent};
use serde_json::json;
use tokio::sync::mpsc;

use super::support::{Client, media_available, start_with};
use crate::RoomConfig;

/// How long a viewer waits for one expected datagram.
const DATAGRAM_WAIT: Duration = Duration::from_secs(20);

/// What a test asks a connected client to do.
enum Command {
    Event(Box<ClientEvent>),
    Datagram(ClientDatagram),
}

/// A WebSocket client with a WebRTC peer, pumped by its own task.
struct Viewer {
    commands: mpsc::UnboundedSender<Command>,
    datagrams: mpsc::UnboundedReceiver<ServerDatagram>,
}

impl Viewer {
    /// Asks for a peer, answers the room's offer and keeps trickling candidates both ways.
    async fn connect(mut client: Client) -> Self {
        let request: SignalRequest = serde_json::from_value(json!({
            "video": {"disabled": false}, "audio": {"disabled": false}
        }))
        .expect("request");
        client.send(ClientEvent::SignalRequest(request)).await;
        let mut early = Vec::new();
        let provide = loop {
            match client.event().await {
                ServerEvent::SignalProvide(provide) => break provide,
                ServerEvent::SignalCandidate(candidate) => early.push(candidate),
                _ => {}
            }
        };
        let pipeline = gst::Pipeline::new();
        let weak = pipeline.downgrade();
        let on_pad = Arc::new(move |pad: &gst::Pad| {
            let Some(pipeline) = weak.upgrade() else {
                return;
            };
            let Ok(sink) = gst::ElementFactory::make("fakesink")
                .property("async", false)
                .build()
            else {
                return;
            };
            let _ = pipeline.add(&sink);
            let _ = sink.sync_state_with_parent();
            if let Some(sink_pad) = sink.static_pad("sink") {
                let _ = pad.link(&sink_pad);
            }
        });
        let (peer_events, mut peer_rx) = mpsc::unbounded_channel();
        let peer_config = PeerConfig {
            local_addresses: vec!["127.0.0.1".parse().expect("address")],
            receive_video: true,
            receive_audio: true,
            ..PeerConfig::default()
        };
        let peer = Peer::new(
            pipeline.upcast_ref(),
            &peer_config,
            &provide.iceservers,
            peer_events,
            on_pad,
        )
        .expect("peer");
        pipeline.set_state(gst::State::Playing).expect("playing");
        for candidate in &early {
            peer.add_remote_candidate(candidate);
        }
        let answer = peer.answer(&provide.sdp, None).await.expect("answer");
        client
            .send(ClientEvent::SignalAnswer(SignalDescription::new(answer)))
            .await;

        let (commands, mut command_rx) = mpsc::unbounded_channel();
        let (datagram_tx, datagrams) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    event = client.event() => {
                        if let ServerEvent::SignalCandidate(candidate) = event {
                            peer.add_remote_candidate(&candidate);
                        }
                    }
                    event = peer_rx.recv() => match event {
                        Some(PeerEvent::LocalCandidate(candidate)) => {
                            client.send(ClientEvent::SignalCandidate(candidate)).await;
                        }
                        Some(PeerEvent::Datagram(datagram)) => {
                            let _ = datagram_tx.send(datagram);
                        }
                        Some(PeerEvent::IceState(_)) => {}
                        None => break,
                    },
                    command = command_rx.recv() => match command {
                        Some(Command::Event(event)) => client.send(*event).await,
                        Some(Command::Datagram(datagram)) => {
                            assert!(peer.send_datagram(&datagram.encode()), "data channel open");
                        }
                        None => break,
                    },
                    // Wakes the loop so a quiet socket never reaches the client's read limit.
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
            }
            let _ = pipeline.set_state(gst::State::Null);
        });
        Self {
            commands,
            datagrams,
        }
    }

    fn send(&self, command: Command) {
        assert!(self.commands.send(command).is_ok(), "viewer task alive");
    }

    /// The next datagram, skipping none.
    async fn next(&mut self) -> ServerDatagram {
        tokio::time::timeout(DATAGRAM_WAIT, self.datagrams.recv())
            .await
            .expect("a datagram in time")
            .expect("viewer task alive")
    }

    /// Every datagram that arrives within `period`.
    async fn drain(&mut self, period: Duration) -> Vec<ServerDatagram> {
        let mut received = Vec::new();
        let deadline = tokio::time::Instant::now() + period;
        while let Ok(Some(datagram)) =
            tokio::time::timeout_at(deadline, self.datagrams.recv()).await
        {
            received.push(datagram);
        }
        received
    }
}

fn is_position(datagram: &ServerDatagram) -> bool {
    matches!(datagram, ServerDatagram::CursorPosition { .. })
}

#[tokio::test]
async fn viewers_see_the_host_pointer_and_the_host_does_not() {
    if !media_available() {
        eprintln!("skipped: GStreamer WebRTC elements are not installed");
        return;
    }
    let room = start_with(RoomConfig::loopback(320, 240, 10)).await;
    let (mut host_ws, _) = Client::join(&room, "alice", "neko").await;
    let (viewer_ws, _) = Client::join(&room, "bob", "neko").await;
    host_ws
        .send(ClientEvent::ControlMove(ControlPos {
            x: 40,
            y: 30,
            ..ControlPos::default()
        }))
        .await;
    host_ws.expect("control/host").await;

    let mut host = Viewer::connect(host_ws).await;
    let mut viewer = Viewer::connect(viewer_ws).await;

    // On open: the cursor image, then (viewers only) where the pointer is now.
    assert!(matches!(
        viewer.next().await,
        ServerDatagram::CursorImage { .. }
    ));
    assert_eq!(
        viewer.next().await,
        ServerDatagram::CursorPosition { x: 40, y: 30 }
    );
    assert!(matches!(
        host.next().await,
        ServerDatagram::CursorImage { .. }
    ));

    host.send(Command::Event(Box::new(ClientEvent::ControlMove(
        ControlPos {
            x: 100,
            y: 50,
            ..ControlPos::default()
        },
    ))));
    assert_eq!(
        viewer.next().await,
        ServerDatagram::CursorPosition { x: 100, y: 50 }
    );
    host.send(Command::Datagram(ClientDatagram::Move { x: 7, y: 9 }));
    assert_eq!(
        viewer.next().await,
        ServerDatagram::CursorPosition { x: 7, y: 9 }
    );

    // A viewer moving does not move anything: no position for anyone.
    viewer.send(Command::Datagram(ClientDatagram::Move { x: 200, y: 200 }));
    let quiet = Duration::from_secs(1);
    let (host_got, viewer_got) = tokio::join!(host.drain(quiet), viewer.drain(quiet));
    assert!(
        !host_got.iter().any(is_position),
        "the host got positions: {host_got:?}"
    );
    assert!(
        !viewer_got.iter().any(is_position),
        "a viewer's own move came back: {viewer_got:?}"
    );
    room.shutdown().await;
}
