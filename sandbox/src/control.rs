//! Who hosts: the host-acquisition rule (§3.4), release, and host-change broadcasts.

use gstneko::protocol::{ControlHost, MemberProfile, ServerEvent, SessionRef};

use super::desktop::DesktopInput;
use super::state::{Effects, RoomShared, RoomState};

/// Why a control operation did nothing (only logged, as in Neko).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum ControlError {
    /// No `can_host`, private mode, or locked controls.
    #[error("is not allowed to host")]
    NotAllowed,
    /// `control/request` from the host itself.
    #[error("is already the host")]
    AlreadyHost,
    /// Someone else hosts; they were sent `control/request`.
    #[error("is already hosted, control request sent to the host")]
    Requested,
    /// Release by a session that is not the host.
    #[error("is not the host")]
    NotHost,
    /// The session vanished.
    #[error("session not found")]
    UnknownSession,
}

/// The `control_host` of `system/init` (its `id` is always empty).
pub(super) fn status(state: &RoomState) -> ControlHost {
    ControlHost {
        has_host: state.host.is_some(),
        host_id: state.host.clone(),
        ..ControlHost::default()
    }
}

/// Makes `host` the host (`None` clears it and releases held keys), broadcasting `control/host` with `id = by`.
pub(super) fn set_host(state: &mut RoomState, effects: &mut Effects, host: Option<&str>, by: &str) {
    if host.is_none() && state.host.is_some() {
        effects.input(DesktopInput::ReleaseAll);
    }
    state.host = host.map(str::to_owned);
    let event = ServerEvent::ControlHost(ControlHost {
        id: by.to_owned(),
        ..status(state)
    });
    state.broadcast(&event);
}

/// The profile of `id` when it may host at all (`can_host` and not held back by private mode).
fn hosting_profile<'a>(state: &'a RoomState, id: &str) -> Result<&'a MemberProfile, ControlError> {
    let profile = &state
        .sessions
        .get(id)
        .ok_or(ControlError::UnknownSession)?
        .profile;
    if !profile.can_host || state.private_for(profile) {
        return Err(ControlError::NotAllowed);
    }
    Ok(profile)
}

/// The host rule for `id`: `input` events proceed when already host; `control/request` fails then.
pub(super) fn acquire(
    state: &mut RoomState,
    effects: &mut Effects,
    id: &str,
    input: bool,
) -> Result<(), ControlError> {
    let profile = hosting_profile(state, id)?;
    if state.is_host(id) {
        return if input {
            Ok(())
        } else {
            Err(ControlError::AlreadyHost)
        };
    }
    if state.settings.locked_controls && !profile.is_admin {
        return Err(ControlError::NotAllowed);
    }
    if !state.settings.implicit_hosting
        && let Some(host) = state.host.clone()
    {
        state.send(&host, &ServerEvent::ControlRequest(SessionRef::new(id)));
        return Err(ControlError::Requested);
    }
    set_host(state, effects, Some(id), id);
    Ok(())
}

/// `control/release`: the host gives control up (keys are released).
pub(super) fn release(
    state: &mut RoomState,
    effects: &mut Effects,
    id: &str,
) -> Result<(), ControlError> {
    hosting_profile(state, id)?;
    if !state.is_host(id) {
        return Err(ControlError::NotHost);
    }
    set_host(state, effects, None, id);
    Ok(())
}

impl RoomShared {
    /// WebSocket `control/request` or `control/release` (recorded like input).
    pub(super) fn control_event(&self, id: &str, release_control: bool) {
        let (name, result) = self.update(|state, effects| {
            if release_control {
                ("control/release", release(state, effects, id))
            } else {
                ("control/request", acquire(state, effects, id, false))
            }
        });
        if let Err(error) = result {
            tracing::debug!(session = %id, event = name, %error, "control event refused");
        }
        self.recorder
            .record(id, name, serde_json::Value::Null, result.is_ok());
    }
}
