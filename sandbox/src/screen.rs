//! Screen size changes with Neko's adjustment (§6) and the list of offered modes.

use gstneko::protocol::{ScreenSize, ScreenSizeUpdate, ServerEvent};

use super::media::MediaError;
use super::state::RoomShared;

/// Largest width or height the sandbox accepts.
const MAX_SIDE: u32 = 7680;

/// Why a resize failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum ScreenError {
    /// A size the desktop cannot have.
    #[error("invalid screen size {width}x{height}@{rate}")]
    Invalid {
        /// Requested width.
        width: u32,
        /// Requested height.
        height: u32,
        /// Requested rate.
        rate: i16,
    },
    /// The media side refused.
    #[error(transparent)]
    Media(#[from] MediaError),
}

/// The size Neko applies for `requested`: width rounded down to a multiple of 8, rate 0 → 60.
pub(super) fn adjust(requested: &ScreenSize) -> Result<ScreenSize, ScreenError> {
    let width = requested.width - requested.width % 8;
    let rate = if requested.rate == 0 {
        60
    } else {
        requested.rate
    };
    if width == 0
        || requested.height == 0
        || width > MAX_SIDE
        || requested.height > MAX_SIDE
        || rate < 0
    {
        return Err(ScreenError::Invalid {
            width: requested.width,
            height: requested.height,
            rate: requested.rate,
        });
    }
    Ok(ScreenSize::new(width, requested.height, rate))
}

/// The modes offered in `system/admin` and `GET /api/room/screen/configurations`
/// (rates ≤ 60, and multiples of 10 above 30).
pub(super) fn configurations() -> Vec<ScreenSize> {
    const SIZES: [(u32, u32); 10] = [
        (3840, 2160),
        (2560, 1440),
        (1920, 1080),
        (1600, 900),
        (1368, 768),
        (1280, 720),
        (1152, 648),
        (1024, 768),
        (1024, 576),
        (800, 600),
    ];
    SIZES
        .iter()
        .flat_map(|&(width, height)| [60, 30, 25].map(|rate| ScreenSize::new(width, height, rate)))
        .collect()
}

impl RoomShared {
    /// Resizes the screen for `by` and broadcasts `screen/updated` with the applied size.
    pub(super) fn set_screen(
        &self,
        by: &str,
        requested: &ScreenSize,
    ) -> Result<ScreenSize, ScreenError> {
        let applied = adjust(requested)?;
        if let Some(media) = self.media() {
            let rate = u32::try_from(applied.rate).unwrap_or(60);
            media.resize(applied.width, applied.height, rate)?;
        }
        self.update(|state, _| {
            state.screen = applied.clone();
            state.broadcast(&ServerEvent::ScreenUpdated(ScreenSizeUpdate {
                id: by.to_owned(),
                size: applied.clone(),
            }));
        });
        Ok(applied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neko_adjustment() {
        assert_eq!(
            adjust(&ScreenSize::new(1366, 768, 30)).expect("ok"),
            ScreenSize::new(1360, 768, 30)
        );
        assert_eq!(
            adjust(&ScreenSize::new(800, 600, 0)).expect("ok"),
            ScreenSize::new(800, 600, 60)
        );
        assert!(adjust(&ScreenSize::new(7, 600, 30)).is_err());
        assert!(adjust(&ScreenSize::new(800, 0, 30)).is_err());
        assert!(adjust(&ScreenSize::new(800, 600, -1)).is_err());
    }

    #[test]
    fn offered_modes_follow_the_rate_rule() {
        let modes = configurations();
        assert!(modes.contains(&ScreenSize::new(1280, 720, 30)));
        assert!(
            modes
                .iter()
                .all(|m| m.rate <= 60 && (m.rate <= 30 || m.rate % 10 == 0))
        );
    }
}
