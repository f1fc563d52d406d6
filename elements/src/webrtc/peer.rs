//! A hand-driven webrtcbin that answers the room's offer: receive transceivers, trickle ICE in
//! both directions, and the server-created data channel.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use gst::glib;
use gst::prelude::*;
use gst_webrtc::{
    WebRTCDataChannel, WebRTCICEConnectionState, WebRTCRTPTransceiverDirection, WebRTCSDPType,
    WebRTCSessionDescription,
};
use tokio::sync::{mpsc, oneshot};

use super::CAT;
use super::ice::{IceUris, pin_local_addresses};
use super::sdp::{Offer, OfferedMedia};
use crate::protocol::{IceCandidate, IceServer, ServerDatagram};

/// How a peer connection is set up.
#[derive(Debug, Clone, Default)]
pub struct PeerConfig {
    /// User STUN server (`stun://host:port`), overriding the server's.
    pub stun_server: Option<String>,
    /// User TURN servers (`turn(s)://user:pass@host:port`), added to the server's.
    pub turn_servers: Vec<String>,
    /// ICE may only use candidates relayed through TURN (webrtcbin's `ice-transport-policy`
    /// `relay`).
    pub relay_only: bool,
    /// Local addresses ICE may use; empty means every interface.
    pub local_addresses: Vec<IpAddr>,
    /// Jitterbuffer latency in milliseconds.
    pub latency_ms: u32,
    /// Receive the room's video.
    pub receive_video: bool,
    /// Receive the room's audio.
    pub receive_audio: bool,
}

/// Things the peer reports to its owner.
#[derive(Debug)]
pub enum PeerEvent {
    /// A local ICE candidate to trickle to the server (after our answer was sent).
    LocalCandidate(IceCandidate),
    /// ICE connection state changed.
    IceState(WebRTCICEConnectionState),
    /// A binary message from the server's `data` channel.
    Datagram(ServerDatagram),
}

/// Failures while negotiating.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    /// A GStreamer element is missing.
    #[error(
        "GStreamer element {0:?} is missing: install gstreamer1.0-plugins-bad and gstreamer1.0-nice"
    )]
    MissingElement(&'static str),
    /// The offer could not be used.
    #[error(transparent)]
    Sdp(#[from] super::sdp::SdpError),
    /// ICE could not be configured.
    #[error(transparent)]
    Ice(#[from] super::ice::IceError),
    /// The room does not take the audio we want to send.
    #[error("the room does not accept audio from this client: {0}")]
    NotReceiving(&'static str),
    /// webrtcbin refused a step of the negotiation.
    #[error("WebRTC negotiation failed while {step}: {reason}")]
    Negotiation {
        /// The step that failed.
        step: &'static str,
        /// webrtcbin's reason.
        reason: String,
    },
    /// The outgoing audio could not be linked to webrtcbin.
    #[error("WebRTC negotiation failed while attaching the outgoing audio: {0}")]
    SenderLink(#[source] gst::PadLinkError),
}

/// Callback for every RTP src pad webrtcbin exposes (called on a streaming thread).
pub type PadCallback = Arc<dyn Fn(&gst::Pad) + Send + Sync>;

#[derive(Default)]
struct Shared {
    remote_set: bool,
    pending_remote: Vec<IceCandidate>,
    mids: Vec<String>,
    channel: Option<WebRTCDataChannel>,
}

/// One WebRTC peer connection living inside a bin.
pub struct Peer {
    bin: gst::Bin,
    webrtcbin: gst::Element,
    config: PeerConfig,
    shared: Arc<Mutex<Shared>>,
}

impl Peer {
    /// Creates webrtcbin in `bin`, configures ICE and wires the callbacks.
    pub fn new(
        bin: &gst::Bin,
        config: &PeerConfig,
        server_ice: &[IceServer],
        events: mpsc::UnboundedSender<PeerEvent>,
        on_pad: PadCallback,
    ) -> Result<Self, PeerError> {
        let webrtcbin = gst::ElementFactory::make("webrtcbin")
            .property_from_str("bundle-policy", "max-bundle")
            .property("latency", config.latency_ms)
            .build()
            .map_err(|_| PeerError::MissingElement("webrtcbin"))?;
        pin_local_addresses(&webrtcbin, &config.local_addresses)?;
        IceUris::from_servers(
            server_ice,
            config.stun_server.as_deref(),
            &config.turn_servers,
        )
        .apply(&webrtcbin, config.relay_only)?;
        let shared = Arc::new(Mutex::new(Shared::default()));

        let candidate_events = events.clone();
        let candidate_shared = shared.clone();
        webrtcbin.connect("on-ice-candidate", false, move |values| {
            let mline = values.get(1).and_then(|v| v.get::<u32>().ok()).unwrap_or(0);
            let candidate = values
                .get(2)
                .and_then(|v| v.get::<String>().ok())
                .unwrap_or_default();
            let mid = candidate_shared
                .lock()
                .unwrap()
                .mids
                .get(mline as usize)
                .cloned()
                .unwrap_or_else(|| mline.to_string());
            let _ = candidate_events.send(PeerEvent::LocalCandidate(IceCandidate {
                candidate,
                sdp_mid: Some(mid),
                sdp_mline_index: Some(mline),
                username_fragment: None,
                ..Default::default()
            }));
            None
        });
        let state_events = events.clone();
        webrtcbin.connect_notify(Some("ice-connection-state"), move |webrtcbin, _| {
            let state = webrtcbin.property::<WebRTCICEConnectionState>("ice-connection-state");
            let _ = state_events.send(PeerEvent::IceState(state));
        });
        let channel_shared = shared.clone();
        webrtcbin.connect("on-data-channel", false, move |values| {
            let channel = values
                .get(1)
                .and_then(|v| v.get::<WebRTCDataChannel>().ok())?;
            let datagram_events = events.clone();
            channel.connect_on_message_data(move |_, data| {
                let Some(data) = data else { return };
                match ServerDatagram::decode(data) {
                    Ok(datagram) => {
                        let _ = datagram_events.send(PeerEvent::Datagram(datagram));
                    }
                    Err(error) => {
                        gst::debug!(CAT, "skipped an unreadable data-channel message: {error}")
                    }
                }
            });
            channel_shared.lock().unwrap().channel = Some(channel);
            None
        });
        webrtcbin.connect_pad_added(move |_, pad| {
            if pad.direction() == gst::PadDirection::Src {
                on_pad(pad);
            }
        });
        bin.add(&webrtcbin).map_err(|e| PeerError::Negotiation {
            step: "adding webrtcbin",
            reason: e.to_string(),
        })?;
        webrtcbin
            .sync_state_with_parent()
            .map_err(|e| PeerError::Negotiation {
                step: "starting webrtcbin",
                reason: e.to_string(),
            })?;
        Ok(Self {
            bin: bin.clone(),
            webrtcbin,
            config: config.clone(),
            shared,
        })
    }

    /// The webrtcbin element.
    pub fn webrtcbin(&self) -> &gst::Element {
        &self.webrtcbin
    }

    /// Applies the server's first offer and returns our answer SDP. Buffered remote candidates
    /// are added once the offer is set.
    ///
    /// With `sender` (an RTP payloader in the same bin), the answer also carries that audio on the
    /// offer's audio section, which must be one the server receives on (Neko's is `sendrecv`).
    pub async fn answer(
        &self,
        offer_sdp: &str,
        sender: Option<&gst::Element>,
    ) -> Result<String, PeerError> {
        self.negotiate(offer_sdp, true, sender).await
    }

    /// Answers a later offer of the same peer (`signal/offer`, `signal/restart`). When this peer
    /// sends audio, the new offer must still receive it.
    pub async fn reanswer(
        &self,
        offer_sdp: &str,
        sender: Option<&gst::Element>,
    ) -> Result<String, PeerError> {
        self.negotiate(offer_sdp, false, sender).await
    }

    async fn negotiate(
        &self,
        offer_sdp: &str,
        first: bool,
        sender: Option<&gst::Element>,
    ) -> Result<String, PeerError> {
        let offer = Offer::parse(offer_sdp)?;
        let sending_on = match sender {
            Some(_) => Some(receiving_audio_section(&offer)?),
            None => None,
        };
        self.shared.lock().unwrap().mids = offer.mids.clone();
        let description =
            WebRTCSessionDescription::new(WebRTCSDPType::Offer, offer.message.clone());
        self.call(
            "setting the remote offer",
            "set-remote-description",
            &description,
        )
        .await?;
        for media in offer.media.iter().filter(|_| first) {
            if let (Some(sender), Some(mline)) = (sender, sending_on)
                && media.mline == mline
            {
                self.attach_sender(sender, media)?;
                continue;
            }
            let wanted = match media.kind.as_str() {
                "video" => self.config.receive_video,
                _ => self.config.receive_audio,
            };
            let direction = if wanted {
                WebRTCRTPTransceiverDirection::Recvonly
            } else {
                WebRTCRTPTransceiverDirection::Inactive
            };
            let transceiver = self
                .webrtcbin
                .emit_by_name::<gst_webrtc::WebRTCRTPTransceiver>(
                    "add-transceiver",
                    &[&direction, &media.caps],
                );
            transceiver.set_property("do-nack", true);
        }
        let reply = self.promise("creating the answer", |promise| {
            self.webrtcbin
                .emit_by_name::<()>("create-answer", &[&None::<gst::Structure>, promise]);
        });
        let reply = reply.await?;
        let answer = reply
            .as_ref()
            .and_then(|s| s.get::<WebRTCSessionDescription>("answer").ok())
            .ok_or_else(|| PeerError::Negotiation {
                step: "creating the answer",
                reason: reply
                    .map(|s| reply_error(&s))
                    .unwrap_or_else(|| "no answer".into()),
            })?;
        self.call("setting the local answer", "set-local-description", &answer)
            .await?;
        let pending = {
            let mut shared = self.shared.lock().unwrap();
            shared.remote_set = true;
            std::mem::take(&mut shared.pending_remote)
        };
        for candidate in &pending {
            self.add_candidate_now(candidate);
        }
        answer.sdp().as_text().map_err(|e| PeerError::Negotiation {
            step: "writing the answer",
            reason: e.to_string(),
        })
    }

    /// Puts `sender`'s RTP on the offered section: a send pad with the offered codec (and its
    /// payload type), its transceiver `sendrecv`, so the first answer carries the track.
    fn attach_sender(&self, sender: &gst::Element, media: &OfferedMedia) -> Result<(), PeerError> {
        let failed = |reason: String| PeerError::Negotiation {
            step: "attaching the outgoing audio",
            reason,
        };
        let payload = media
            .caps
            .structure(0)
            .and_then(|s| s.get::<i32>("payload").ok());
        let template = self
            .webrtcbin
            .pad_template("sink_%u")
            .ok_or_else(|| failed("webrtcbin has no sink pads".into()))?;
        // The answer declares the stream's SSRC (`a=ssrc`) from the codec preferences, before
        // any buffer flows: a server that routes incoming streams by declared SSRC (Pion, for
        // a bundle of several sections without mids in the packets, which GStreamer 1.22 never
        // writes) drops an undeclared one.
        let mut caps = media.caps.clone();
        if let Some(structure) = caps.make_mut().structure_mut(0) {
            structure.set("ssrc", sender_ssrc(sender));
        }
        let sink = self
            .webrtcbin
            .request_pad(&template, None, Some(&caps))
            .ok_or_else(|| failed("webrtcbin gave no sink pad".into()))?;
        let transceiver = sink.property::<gst_webrtc::WebRTCRTPTransceiver>("transceiver");
        transceiver.set_property("direction", WebRTCRTPTransceiverDirection::Sendrecv);
        transceiver.set_property("codec-preferences", &caps);
        let src = sender
            .static_pad("src")
            .ok_or_else(|| failed("the payloader has no src pad".into()))?;
        let switch = {
            let sender = sender.clone();
            move || {
                if let Some(payload) = payload {
                    sender.set_property("pt", payload as u32);
                }
                if let Some(old) = src.peer() {
                    let _ = src.unlink(&old);
                }
                src.link(&sink)
            }
        };
        // The payloader negotiates its caps at the start of handling a buffer and sends them
        // with the buffer. Linked while it handles one, it would send webrtcbin caps negotiated
        // without it, then the right caps with the next buffer, and webrtcbin refuses a caps
        // change (`not-negotiated`, seen under load). So the link is made between two input
        // buffers, from a blocking probe on the payloader's input: the next buffer then
        // negotiates against webrtcbin's sink pad first.
        match sender.static_pad("sink") {
            Some(input) => {
                input.add_probe(
                    gst::PadProbeType::BLOCK
                        | gst::PadProbeType::BUFFER
                        | gst::PadProbeType::BUFFER_LIST,
                    move |_, _| {
                        if let Err(error) = switch() {
                            gst::warning!(
                                CAT,
                                "cannot link the outgoing audio to webrtcbin: {error}"
                            );
                        }
                        gst::PadProbeReturn::Remove
                    },
                );
            }
            None => {
                switch().map_err(PeerError::SenderLink)?;
            }
        }
        Ok(())
    }

    /// Adds a remote candidate, or buffers it until the offer is applied.
    pub fn add_remote_candidate(&self, candidate: &IceCandidate) {
        {
            let mut shared = self.shared.lock().unwrap();
            if !shared.remote_set {
                shared.pending_remote.push(candidate.clone());
                return;
            }
        }
        self.add_candidate_now(candidate);
    }

    fn add_candidate_now(&self, candidate: &IceCandidate) {
        if candidate.candidate.trim().is_empty() {
            return;
        }
        let mline = candidate.sdp_mline_index.unwrap_or(0);
        self.webrtcbin
            .emit_by_name::<()>("add-ice-candidate", &[&mline, &candidate.candidate]);
    }

    /// Sends a binary message on the server's data channel, when it is open.
    pub fn send_datagram(&self, bytes: &[u8]) -> bool {
        let channel = self.shared.lock().unwrap().channel.clone();
        match channel {
            Some(channel) if channel.ready_state() == gst_webrtc::WebRTCDataChannelState::Open => {
                channel
                    .send_data_full(Some(&glib::Bytes::from(bytes)))
                    .is_ok()
            }
            _ => false,
        }
    }

    /// Stops webrtcbin and removes it from the bin (its pads are unlinked).
    pub fn close(self) {
        let _ = self.webrtcbin.set_state(gst::State::Null);
        let _ = self.bin.remove(&self.webrtcbin);
    }

    async fn call(
        &self,
        step: &'static str,
        signal: &str,
        description: &WebRTCSessionDescription,
    ) -> Result<(), PeerError> {
        let reply = self.promise(step, |promise| {
            self.webrtcbin
                .emit_by_name::<()>(signal, &[description, promise]);
        });
        match reply.await? {
            Some(s) if s.has_field("error") => Err(PeerError::Negotiation {
                step,
                reason: reply_error(&s),
            }),
            _ => Ok(()),
        }
    }

    fn promise<F: FnOnce(&gst::Promise)>(
        &self,
        step: &'static str,
        emit: F,
    ) -> impl Future<Output = Result<Option<gst::Structure>, PeerError>> + use<F> {
        let (promise, reply) = promise_with_reply(step);
        emit(&promise);
        reply
    }
}

/// The message of the `GError` in a promise reply's `error` field (webrtcbin's reason), not the
/// pointer the value's debug form shows.
fn reply_error(reply: &gst::StructureRef) -> String {
    match reply.get::<glib::Error>("error") {
        Ok(error) => error.message().to_owned(),
        Err(_) => reply.to_string(),
    }
}

/// The payloader's SSRC, fixed first if it was left to chance (`u32::MAX`, the default), so the
/// answer can name it before the first packet.
fn sender_ssrc(payloader: &gst::Element) -> u32 {
    let ssrc = payloader.property::<u32>("ssrc");
    if ssrc != u32::MAX {
        return ssrc;
    }
    let chosen = glib::random_int_range(1, i32::MAX) as u32;
    payloader.set_property("ssrc", chosen);
    chosen
}

/// The m-line of the offer's audio section, when the server receives on it.
fn receiving_audio_section(offer: &Offer) -> Result<u32, PeerError> {
    let audio = offer
        .media
        .iter()
        .find(|m| m.kind == "audio")
        .ok_or(PeerError::NotReceiving(
            "its offer has no audio section (is audio disabled in the room's settings?)",
        ))?;
    if !audio.direction.server_receives() {
        return Err(PeerError::NotReceiving(
            "its audio section is send-only, so the server stopped or never started receiving",
        ));
    }
    Ok(audio.mline)
}

/// A promise and the future of its reply.
fn promise_with_reply(
    step: &'static str,
) -> (
    gst::Promise,
    impl Future<Output = Result<Option<gst::Structure>, PeerError>>,
) {
    let (tx, rx) = oneshot::channel();
    let promise = gst::Promise::with_change_func(move |reply| {
        let reply = match reply {
            Ok(structure) => Ok(structure.map(|s| s.to_owned())),
            Err(e) => Err(format!("{e:?}")),
        };
        let _ = tx.send(reply);
    });
    let reply = async move {
        match rx.await {
            Ok(Ok(structure)) => Ok(structure),
            Ok(Err(reason)) => Err(PeerError::Negotiation { step, reason }),
            Err(_) => Err(PeerError::Negotiation {
                step,
                reason: "webrtcbin dropped the request".into(),
            }),
        }
    };
    (promise, reply)
}
