//! Screen coordinates: pixel or normalised points resolved against the remote X screen.

use gstneko::protocol::ScreenSize;
use thiserror::Error;

/// Why a point could not be turned into screen pixels.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum CoordError {
    /// The screen size is not known yet (no `system/init` seen), so nothing can be placed.
    #[error("screen size unknown ({width}x{height}); wait for system/init or screen/updated")]
    UnknownScreen {
        /// Known width.
        width: u32,
        /// Known height.
        height: u32,
    },
    /// A normalised coordinate is NaN.
    #[error("normalised {axis} is NaN")]
    NotANumber {
        /// `x` or `y`.
        axis: char,
    },
    /// A normalised coordinate lies outside 0..=1.
    #[error("normalised {axis} = {value} is outside 0..1")]
    OutOfRange {
        /// `x` or `y`.
        axis: char,
        /// The value given.
        value: f64,
    },
}

/// A point on the remote screen, in pixels or as fractions of its size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Point {
    /// Screen pixels, origin top-left; out-of-screen values are clamped.
    Pixels {
        /// Horizontal pixel.
        x: i32,
        /// Vertical pixel.
        y: i32,
    },
    /// Fractions of width and height in 0..=1 (the `--norm` form models produce).
    Normalized {
        /// Fraction of the width.
        x: f64,
        /// Fraction of the height.
        y: f64,
    },
}

impl Point {
    /// A point in screen pixels.
    pub fn pixels(x: i32, y: i32) -> Self {
        Self::Pixels { x, y }
    }

    /// A point as fractions (0..=1) of the screen size.
    pub fn normalized(x: f64, y: f64) -> Self {
        Self::Normalized { x, y }
    }
}

/// The remote X screen size that input coordinates live in (not the video size).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Screen {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl From<&ScreenSize> for Screen {
    fn from(size: &ScreenSize) -> Self {
        Self::new(size.width, size.height)
    }
}

impl Screen {
    /// A screen of the given size.
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height }
    }

    /// Screen pixels for `point`, clamped to `[0, width-1] × [0, height-1]`.
    pub fn resolve(&self, point: Point) -> Result<(i32, i32), CoordError> {
        if self.width == 0 || self.height == 0 {
            return Err(CoordError::UnknownScreen {
                width: self.width,
                height: self.height,
            });
        }
        let (x, y) = match point {
            Point::Pixels { x, y } => (i64::from(x), i64::from(y)),
            Point::Normalized { x, y } => (
                fraction_to_pixel('x', x, self.width)?,
                fraction_to_pixel('y', y, self.height)?,
            ),
        };
        Ok((clamp(x, self.width), clamp(y, self.height)))
    }
}

/// `fraction × size`, rounded down; the caller clamps 1.0 onto the last pixel.
fn fraction_to_pixel(axis: char, value: f64, size: u32) -> Result<i64, CoordError> {
    if value.is_nan() {
        return Err(CoordError::NotANumber { axis });
    }
    if !(0.0..=1.0).contains(&value) {
        return Err(CoordError::OutOfRange { axis, value });
    }
    // In range 0..=size, so the cast is exact enough and cannot overflow.
    Ok((value * f64::from(size)).floor() as i64)
}

/// Clamps `value` to `[0, size-1]`, and into `i32` for the protocol.
fn clamp(value: i64, size: u32) -> i32 {
    let last = i64::from(size).saturating_sub(1).max(0);
    let clamped = value.clamp(0, last);
    i32::try_from(clamped).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FHD: Screen = Screen {
        width: 1920,
        height: 1080,
    };

    #[test]
    fn pixels_inside_pass_through() {
        assert_eq!(FHD.resolve(Point::pixels(0, 0)), Ok((0, 0)));
        assert_eq!(FHD.resolve(Point::pixels(100, 200)), Ok((100, 200)));
        assert_eq!(FHD.resolve(Point::pixels(1919, 1079)), Ok((1919, 1079)));
    }

    #[test]
    fn pixels_outside_are_clamped() {
        assert_eq!(FHD.resolve(Point::pixels(-5, -1)), Ok((0, 0)));
        assert_eq!(FHD.resolve(Point::pixels(1920, 1080)), Ok((1919, 1079)));
        assert_eq!(
            FHD.resolve(Point::pixels(i32::MAX, i32::MIN)),
            Ok((1919, 0))
        );
    }

    #[test]
    fn normalised_maps_onto_the_screen() {
        assert_eq!(FHD.resolve(Point::normalized(0.0, 0.0)), Ok((0, 0)));
        assert_eq!(FHD.resolve(Point::normalized(0.5, 0.5)), Ok((960, 540)));
        assert_eq!(FHD.resolve(Point::normalized(0.25, 0.1)), Ok((480, 108)));
        assert_eq!(FHD.resolve(Point::normalized(1.0, 1.0)), Ok((1919, 1079)));
    }

    #[test]
    fn normalised_outside_0_1_is_an_error() {
        assert_eq!(
            FHD.resolve(Point::normalized(1.01, 0.5)),
            Err(CoordError::OutOfRange {
                axis: 'x',
                value: 1.01
            })
        );
        assert_eq!(
            FHD.resolve(Point::normalized(0.5, -0.1)),
            Err(CoordError::OutOfRange {
                axis: 'y',
                value: -0.1
            })
        );
        assert!(matches!(
            FHD.resolve(Point::normalized(f64::INFINITY, 0.5)),
            Err(CoordError::OutOfRange { axis: 'x', .. })
        ));
    }

    #[test]
    fn nan_is_an_error() {
        assert_eq!(
            FHD.resolve(Point::normalized(f64::NAN, 0.5)),
            Err(CoordError::NotANumber { axis: 'x' })
        );
        assert_eq!(
            FHD.resolve(Point::normalized(0.5, f64::NAN)),
            Err(CoordError::NotANumber { axis: 'y' })
        );
    }

    #[test]
    fn unknown_screen_is_an_error() {
        let err = Screen::default().resolve(Point::pixels(1, 1));
        assert_eq!(
            err,
            Err(CoordError::UnknownScreen {
                width: 0,
                height: 0
            })
        );
    }

    #[test]
    fn huge_screens_do_not_overflow() {
        let screen = Screen::new(u32::MAX, u32::MAX);
        assert_eq!(
            screen.resolve(Point::normalized(1.0, 1.0)),
            Ok((i32::MAX, i32::MAX))
        );
    }

    #[test]
    fn screen_from_protocol_size() {
        let screen = Screen::from(&ScreenSize::new(1280, 720, 30));
        assert_eq!(screen, Screen::new(1280, 720));
    }
}
