//! Events the server sends to the client.

use super::envelope::event_enum;
use super::{
    BroadcastStatus, ChatInit, ChatMessage, ClipboardText, ControlHost, FiletransferUpdate,
    IceCandidate, OpeninappInit, PeerAudio, PeerVideo, ScreenSizeUpdate, SendBroadcast,
    SendUnicast, SessionCursors, SessionData, SessionProfileUpdate, SessionRef, SessionStateUpdate,
    SettingsUpdate, SignalDescription, SignalProvide, SystemAdmin, SystemDisconnect, SystemInit,
};

event_enum! {
    /// A server → client WebSocket event.
    pub enum ServerEvent {
        payload {
            /// `system/init`: full room state, first frame on every connect.
            SystemInit(SystemInit) = "system/init",
            /// `system/admin`: admin-only facts, once per connect.
            SystemAdmin(SystemAdmin) = "system/admin",
            /// `system/settings`: room settings changed.
            SystemSettings(SettingsUpdate) = "system/settings",
            /// `system/disconnect`: the server is about to drop the connection.
            SystemDisconnect(SystemDisconnect) = "system/disconnect",
            /// `signal/provide`: the server's SDP offer.
            SignalProvide(SignalProvide) = "signal/provide",
            /// `signal/answer`: reply to a client `signal/offer`.
            SignalAnswer(SignalDescription) = "signal/answer",
            /// `signal/offer`: server-initiated renegotiation.
            SignalOffer(SignalDescription) = "signal/offer",
            /// `signal/restart`: the ICE-restart offer.
            SignalRestart(SignalDescription) = "signal/restart",
            /// `signal/candidate`: a server ICE candidate.
            SignalCandidate(IceCandidate) = "signal/candidate",
            /// `signal/video`: resolved video state changed.
            SignalVideo(PeerVideo) = "signal/video",
            /// `signal/audio`: resolved audio state changed.
            SignalAudio(PeerAudio) = "signal/audio",
            /// `session/created`: a session logged in.
            SessionCreated(SessionData) = "session/created",
            /// `session/deleted`: a session was deleted.
            SessionDeleted(SessionRef) = "session/deleted",
            /// `session/profile`: a profile changed.
            SessionProfile(SessionProfileUpdate) = "session/profile",
            /// `session/state`: a session's state changed.
            SessionState(SessionStateUpdate) = "session/state",
            /// `session/cursors`: inactive pointers.
            SessionCursors(Vec<SessionCursors>) = "session/cursors",
            /// `control/request`: another session wants control (sent to the host).
            ControlRequest(SessionRef) = "control/request",
            /// `control/host`: the host changed.
            ControlHost(ControlHost) = "control/host",
            /// `screen/updated`: the screen was resized.
            ScreenUpdated(ScreenSizeUpdate) = "screen/updated",
            /// `clipboard/updated`: the clipboard changed (sent to the host).
            ClipboardUpdated(ClipboardText) = "clipboard/updated",
            /// `broadcast/status`: RTMP broadcast state (admins).
            BroadcastStatus(BroadcastStatus) = "broadcast/status",
            /// `send/unicast`: relayed message for this session.
            SendUnicast(SendUnicast) = "send/unicast",
            /// `send/broadcast`: relayed message for everyone.
            SendBroadcast(SendBroadcast) = "send/broadcast",
            /// `file_chooser_dialog/opened`: a file dialog is held by `id`.
            FileChooserDialogOpened(SessionRef) = "file_chooser_dialog/opened",
            /// `file_chooser_dialog/closed`: the file dialog closed.
            FileChooserDialogClosed(SessionRef) = "file_chooser_dialog/closed",
            /// `chat/init`: chat plugin state.
            ChatInit(ChatInit) = "chat/init",
            /// `chat/message`: a chat message (echoed to the sender too).
            ChatMessage(ChatMessage) = "chat/message",
            /// `filetransfer/update`: file transfer plugin state.
            FiletransferUpdate(FiletransferUpdate) = "filetransfer/update",
            /// `openinapp/init`: open-in-app plugin state.
            OpeninappInit(OpeninappInit) = "openinapp/init",
        }
        empty {
            /// `system/heartbeat`: keep-alive, sent without payload.
            SystemHeartbeat = "system/heartbeat",
        }
        null {
            /// `signal/close`: the peer closed, sent with `"payload": null`.
            SignalClose = "signal/close",
        }
    }
}
