//! Events the client sends to the server.

use super::envelope::event_enum;
use super::{
    ChatContent, ClipboardText, ControlButton, ControlKey, ControlPaste, ControlPos, ControlScroll,
    ControlTouch, IceCandidate, KeyboardMap, KeyboardModifiers, LogEntry, PeerAudioRequest,
    PeerVideoRequest, ScreenSize, SendBroadcastRequest, SendUnicastRequest, SignalDescription,
    SignalRequest,
};

event_enum! {
    /// A client → server WebSocket event.
    pub enum ClientEvent {
        payload {
            /// `system/logs`: remote log lines.
            SystemLogs(Vec<LogEntry>) = "system/logs",
            /// `signal/request`: ask for a WebRTC peer.
            SignalRequest(SignalRequest) = "signal/request",
            /// `signal/answer`: answer to the server's offer.
            SignalAnswer(SignalDescription) = "signal/answer",
            /// `signal/offer`: client-initiated renegotiation.
            SignalOffer(SignalDescription) = "signal/offer",
            /// `signal/candidate`: a local ICE candidate.
            SignalCandidate(IceCandidate) = "signal/candidate",
            /// `signal/video`: change the video state.
            SignalVideo(PeerVideoRequest) = "signal/video",
            /// `signal/audio`: change the audio state.
            SignalAudio(PeerAudioRequest) = "signal/audio",
            /// `control/move`: warp the pointer.
            ControlMove(ControlPos) = "control/move",
            /// `control/scroll`: scroll notches.
            ControlScroll(ControlScroll) = "control/scroll",
            /// `control/buttonpress`: click.
            ControlButtonPress(ControlButton) = "control/buttonpress",
            /// `control/buttondown`: press a button.
            ControlButtonDown(ControlButton) = "control/buttondown",
            /// `control/buttonup`: release a button.
            ControlButtonUp(ControlButton) = "control/buttonup",
            /// `control/keypress`: press and release a key.
            ControlKeyPress(ControlKey) = "control/keypress",
            /// `control/keydown`: press a key.
            ControlKeyDown(ControlKey) = "control/keydown",
            /// `control/keyup`: release a key.
            ControlKeyUp(ControlKey) = "control/keyup",
            /// `control/touchbegin`: a touch starts.
            ControlTouchBegin(ControlTouch) = "control/touchbegin",
            /// `control/touchupdate`: a touch moves.
            ControlTouchUpdate(ControlTouch) = "control/touchupdate",
            /// `control/touchend`: a touch ends.
            ControlTouchEnd(ControlTouch) = "control/touchend",
            /// `control/paste`: optionally set the clipboard, then Ctrl+V.
            ControlPaste(ControlPaste) = "control/paste",
            /// `screen/set`: resize the screen (admin).
            ScreenSet(ScreenSize) = "screen/set",
            /// `clipboard/set`: write the clipboard (host).
            ClipboardSet(ClipboardText) = "clipboard/set",
            /// `keyboard/map`: change the layout (host).
            KeyboardMap(KeyboardMap) = "keyboard/map",
            /// `keyboard/modifiers`: set lock/modifier state (host).
            KeyboardModifiers(KeyboardModifiers) = "keyboard/modifiers",
            /// `send/unicast`: relay to one session.
            SendUnicast(SendUnicastRequest) = "send/unicast",
            /// `send/broadcast`: relay to everyone else.
            SendBroadcast(SendBroadcastRequest) = "send/broadcast",
            /// `chat/message`: post to the chat.
            ChatMessage(ChatContent) = "chat/message",
        }
        empty {
            /// `client/heartbeat`: keep-alive, ignored by the server.
            ClientHeartbeat = "client/heartbeat",
            /// `signal/restart`: ask for an ICE restart.
            SignalRestart = "signal/restart",
            /// `control/request`: ask for control.
            ControlRequest = "control/request",
            /// `control/release`: give control up.
            ControlRelease = "control/release",
            /// `control/cut`: Ctrl+X.
            ControlCut = "control/cut",
            /// `control/copy`: Ctrl+C.
            ControlCopy = "control/copy",
            /// `control/select_all`: Ctrl+A.
            ControlSelectAll = "control/select_all",
            /// `filetransfer/update`: ask for a fresh file listing.
            FiletransferUpdate = "filetransfer/update",
        }
        null {}
    }
}
