//! Binary data-channel messages (§4.3): 3-byte big-endian header `u8 op, u16 length`, then the body.
//!
//! Client datagrams carry length = body size (SCROLL with length 4 is the legacy form);
//! server datagrams carry length = total size including the header.

use super::ProtocolError;

const HEADER: usize = 3;
/// Millisecond timestamps are split as `hi = ms / 4294967295`, `lo = ms % 4294967295`.
const TIMESTAMP_DIVISOR: u64 = 4_294_967_295;

const OP_MOVE: u8 = 0x01;
const OP_SCROLL: u8 = 0x02;
const OP_KEY_DOWN: u8 = 0x03;
const OP_KEY_UP: u8 = 0x04;
const OP_BTN_DOWN: u8 = 0x05;
const OP_BTN_UP: u8 = 0x06;
const OP_PING: u8 = 0x07;
const OP_TOUCH_BEGIN: u8 = 0x08;
const OP_TOUCH_UPDATE: u8 = 0x09;
const OP_TOUCH_END: u8 = 0x0a;

const OP_CURSOR_POSITION: u8 = 0x01;
const OP_CURSOR_IMAGE: u8 = 0x02;
const OP_PONG: u8 = 0x03;

/// A client → server datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientDatagram {
    /// `0x01` pointer move.
    Move {
        /// Horizontal position.
        x: u16,
        /// Vertical position.
        y: u16,
    },
    /// `0x02` scroll with the Control flag (length 5).
    Scroll {
        /// Horizontal notches.
        delta_x: i16,
        /// Vertical notches (positive = up).
        delta_y: i16,
        /// Hold Control during the scroll.
        control_key: bool,
    },
    /// `0x02` legacy scroll without the Control flag (length 4).
    ScrollLegacy {
        /// Horizontal notches.
        delta_x: i16,
        /// Vertical notches (positive = up).
        delta_y: i16,
    },
    /// `0x03` key down.
    KeyDown {
        /// X11 keysym.
        keysym: u32,
    },
    /// `0x04` key up.
    KeyUp {
        /// X11 keysym.
        keysym: u32,
    },
    /// `0x05` button down.
    ButtonDown {
        /// X button number.
        button: u32,
    },
    /// `0x06` button up.
    ButtonUp {
        /// X button number.
        button: u32,
    },
    /// `0x07` ping with the client clock in milliseconds.
    Ping {
        /// Client clock in milliseconds.
        timestamp_ms: u64,
    },
    /// `0x08` touch begin.
    TouchBegin(TouchPoint),
    /// `0x09` touch update.
    TouchUpdate(TouchPoint),
    /// `0x0a` touch end.
    TouchEnd(TouchPoint),
}

/// Body of the touch datagrams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TouchPoint {
    /// Contact id.
    pub touch_id: u32,
    /// Horizontal position.
    pub x: i32,
    /// Vertical position.
    pub y: i32,
    /// Pressure 0–255.
    pub pressure: u8,
}

/// A server → client datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerDatagram {
    /// `0x01` position of the host's pointer (never sent to the host).
    CursorPosition {
        /// Horizontal position.
        x: u16,
        /// Vertical position.
        y: u16,
    },
    /// `0x02` pointer image: PNG plus hotspot.
    CursorImage {
        /// Image width.
        width: u16,
        /// Image height.
        height: u16,
        /// Hotspot x.
        x_hot: u16,
        /// Hotspot y.
        y_hot: u16,
        /// PNG bytes.
        png: Vec<u8>,
    },
    /// `0x03` reply to a ping.
    Pong {
        /// The client clock echoed from the ping, in milliseconds.
        client_ms: u64,
        /// The server clock, in milliseconds.
        server_ms: u64,
    },
}

fn split_timestamp(ms: u64) -> (u32, u32) {
    let hi = u32::try_from(ms / TIMESTAMP_DIVISOR).unwrap_or(u32::MAX);
    // The remainder is below 2^32 - 1, so it always fits.
    let lo = u32::try_from(ms % TIMESTAMP_DIVISOR).unwrap_or(u32::MAX);
    (hi, lo)
}

fn join_timestamp(hi: u32, lo: u32) -> u64 {
    u64::from(hi) * TIMESTAMP_DIVISOR + u64::from(lo)
}

/// Big-endian reader over a datagram body that reports truncation against the whole message.
struct Body<'a> {
    op: u8,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Body<'a> {
    fn new(bytes: &'a [u8]) -> Result<(Self, u16), ProtocolError> {
        let op = *bytes.first().ok_or(ProtocolError::EmptyDatagram)?;
        let mut body = Self { op, bytes, at: 1 };
        let length = body.u16()?;
        Ok((body, length))
    }

    fn take<const N: usize>(&mut self) -> Result<[u8; N], ProtocolError> {
        let end = self.at + N;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or(ProtocolError::TruncatedDatagram {
                op: self.op,
                needed: end,
                got: self.bytes.len(),
            })?;
        self.at = end;
        let mut out = [0; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, ProtocolError> {
        Ok(self.take::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16, ProtocolError> {
        Ok(u16::from_be_bytes(self.take()?))
    }

    fn i16(&mut self) -> Result<i16, ProtocolError> {
        Ok(i16::from_be_bytes(self.take()?))
    }

    fn u32(&mut self) -> Result<u32, ProtocolError> {
        Ok(u32::from_be_bytes(self.take()?))
    }

    fn i32(&mut self) -> Result<i32, ProtocolError> {
        Ok(i32::from_be_bytes(self.take()?))
    }

    fn timestamp(&mut self) -> Result<u64, ProtocolError> {
        let hi = self.u32()?;
        let lo = self.u32()?;
        Ok(join_timestamp(hi, lo))
    }

    fn touch(&mut self) -> Result<TouchPoint, ProtocolError> {
        Ok(TouchPoint {
            touch_id: self.u32()?,
            x: self.i32()?,
            y: self.i32()?,
            pressure: self.u8()?,
        })
    }

    fn rest(&self) -> &'a [u8] {
        &self.bytes[self.at.min(self.bytes.len())..]
    }
}

/// Writes `op`, `length` and `body` as one datagram.
fn frame(op: u8, length: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.push(op);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Writes a client datagram whose length field is the body size.
fn client_frame(op: u8, body: &[u8]) -> Vec<u8> {
    frame(op, u16::try_from(body.len()).unwrap_or(u16::MAX), body)
}

fn touch_body(point: &TouchPoint) -> Vec<u8> {
    let mut body = Vec::with_capacity(13);
    body.extend_from_slice(&point.touch_id.to_be_bytes());
    body.extend_from_slice(&point.x.to_be_bytes());
    body.extend_from_slice(&point.y.to_be_bytes());
    body.push(point.pressure);
    body
}

impl ClientDatagram {
    /// Encodes the datagram; the length field is the body size, as the reference client writes it.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Move { x, y } => {
                client_frame(OP_MOVE, &[x.to_be_bytes(), y.to_be_bytes()].concat())
            }
            Self::Scroll {
                delta_x,
                delta_y,
                control_key,
            } => {
                let mut body = [delta_x.to_be_bytes(), delta_y.to_be_bytes()].concat();
                body.push(u8::from(*control_key));
                client_frame(OP_SCROLL, &body)
            }
            Self::ScrollLegacy { delta_x, delta_y } => client_frame(
                OP_SCROLL,
                &[delta_x.to_be_bytes(), delta_y.to_be_bytes()].concat(),
            ),
            Self::KeyDown { keysym } => client_frame(OP_KEY_DOWN, &keysym.to_be_bytes()),
            Self::KeyUp { keysym } => client_frame(OP_KEY_UP, &keysym.to_be_bytes()),
            Self::ButtonDown { button } => client_frame(OP_BTN_DOWN, &button.to_be_bytes()),
            Self::ButtonUp { button } => client_frame(OP_BTN_UP, &button.to_be_bytes()),
            Self::Ping { timestamp_ms } => {
                let (hi, lo) = split_timestamp(*timestamp_ms);
                client_frame(OP_PING, &[hi.to_be_bytes(), lo.to_be_bytes()].concat())
            }
            Self::TouchBegin(point) => client_frame(OP_TOUCH_BEGIN, &touch_body(point)),
            Self::TouchUpdate(point) => client_frame(OP_TOUCH_UPDATE, &touch_body(point)),
            Self::TouchEnd(point) => client_frame(OP_TOUCH_END, &touch_body(point)),
        }
    }

    /// Decodes a datagram as the server does: the length field only matters for SCROLL (4 = legacy form);
    /// bytes beyond the body are ignored.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let (mut body, length) = Body::new(bytes)?;
        Ok(match body.op {
            OP_MOVE => Self::Move {
                x: body.u16()?,
                y: body.u16()?,
            },
            OP_SCROLL if length == 4 => Self::ScrollLegacy {
                delta_x: body.i16()?,
                delta_y: body.i16()?,
            },
            OP_SCROLL => Self::Scroll {
                delta_x: body.i16()?,
                delta_y: body.i16()?,
                control_key: body.u8()? != 0,
            },
            OP_KEY_DOWN => Self::KeyDown {
                keysym: body.u32()?,
            },
            OP_KEY_UP => Self::KeyUp {
                keysym: body.u32()?,
            },
            OP_BTN_DOWN => Self::ButtonDown {
                button: body.u32()?,
            },
            OP_BTN_UP => Self::ButtonUp {
                button: body.u32()?,
            },
            OP_PING => Self::Ping {
                timestamp_ms: body.timestamp()?,
            },
            OP_TOUCH_BEGIN => Self::TouchBegin(body.touch()?),
            OP_TOUCH_UPDATE => Self::TouchUpdate(body.touch()?),
            OP_TOUCH_END => Self::TouchEnd(body.touch()?),
            other => return Err(ProtocolError::UnknownOpcode(other)),
        })
    }
}

impl ServerDatagram {
    /// Encodes the datagram; the length field is the total size including the header
    /// (truncated to `u16` for large cursor images, as the server does).
    pub fn encode(&self) -> Vec<u8> {
        let (op, body) = match self {
            Self::CursorPosition { x, y } => (
                OP_CURSOR_POSITION,
                [x.to_be_bytes(), y.to_be_bytes()].concat(),
            ),
            Self::CursorImage {
                width,
                height,
                x_hot,
                y_hot,
                png,
            } => {
                let mut body = [
                    width.to_be_bytes(),
                    height.to_be_bytes(),
                    x_hot.to_be_bytes(),
                    y_hot.to_be_bytes(),
                ]
                .concat();
                body.extend_from_slice(png);
                (OP_CURSOR_IMAGE, body)
            }
            Self::Pong {
                client_ms,
                server_ms,
            } => {
                let (client_hi, client_lo) = split_timestamp(*client_ms);
                let (server_hi, server_lo) = split_timestamp(*server_ms);
                let body = [
                    client_hi.to_be_bytes(),
                    client_lo.to_be_bytes(),
                    server_hi.to_be_bytes(),
                    server_lo.to_be_bytes(),
                ]
                .concat();
                (OP_PONG, body)
            }
        };
        // The length field wraps for PNGs above 65 524 bytes, exactly like the server's u16.
        let length = (HEADER + body.len()) as u16;
        frame(op, length, &body)
    }

    /// Decodes a datagram; a cursor image's PNG runs to the end of the message (the length field may have wrapped).
    pub fn decode(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let (mut body, _length) = Body::new(bytes)?;
        Ok(match body.op {
            OP_CURSOR_POSITION => Self::CursorPosition {
                x: body.u16()?,
                y: body.u16()?,
            },
            OP_CURSOR_IMAGE => Self::CursorImage {
                width: body.u16()?,
                height: body.u16()?,
                x_hot: body.u16()?,
                y_hot: body.u16()?,
                png: body.rest().to_vec(),
            },
            OP_PONG => Self::Pong {
                client_ms: body.timestamp()?,
                server_ms: body.timestamp()?,
            },
            other => return Err(ProtocolError::UnknownOpcode(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_byte_layouts() {
        let cases: Vec<(ClientDatagram, Vec<u8>)> = vec![
            (
                ClientDatagram::Move { x: 640, y: 360 },
                vec![0x01, 0, 4, 0x02, 0x80, 0x01, 0x68],
            ),
            (
                ClientDatagram::Scroll {
                    delta_x: 0,
                    delta_y: -1,
                    control_key: true,
                },
                vec![0x02, 0, 5, 0, 0, 0xff, 0xff, 1],
            ),
            (
                ClientDatagram::ScrollLegacy {
                    delta_x: 2,
                    delta_y: -2,
                },
                vec![0x02, 0, 4, 0, 2, 0xff, 0xfe],
            ),
            (
                ClientDatagram::KeyDown { keysym: 0xff0d },
                vec![0x03, 0, 4, 0, 0, 0xff, 0x0d],
            ),
            (
                ClientDatagram::KeyUp { keysym: 0x61 },
                vec![0x04, 0, 4, 0, 0, 0, 0x61],
            ),
            (
                ClientDatagram::ButtonDown { button: 1 },
                vec![0x05, 0, 4, 0, 0, 0, 1],
            ),
            (
                ClientDatagram::ButtonUp { button: 3 },
                vec![0x06, 0, 4, 0, 0, 0, 3],
            ),
            (
                ClientDatagram::Ping {
                    timestamp_ms: 4_294_967_295 + 7,
                },
                vec![0x07, 0, 8, 0, 0, 0, 1, 0, 0, 0, 7],
            ),
            (
                ClientDatagram::TouchBegin(TouchPoint {
                    touch_id: 2,
                    x: -1,
                    y: 300,
                    pressure: 255,
                }),
                vec![
                    0x08, 0, 13, 0, 0, 0, 2, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x01, 0x2c, 0xff,
                ],
            ),
        ];
        for (datagram, bytes) in cases {
            assert_eq!(datagram.encode(), bytes, "{datagram:?}");
            assert_eq!(ClientDatagram::decode(&bytes).expect("decode"), datagram);
        }
    }

    #[test]
    fn client_touch_variants_round_trip() {
        let point = TouchPoint {
            touch_id: 9,
            x: 10,
            y: 20,
            pressure: 3,
        };
        for datagram in [
            ClientDatagram::TouchUpdate(point),
            ClientDatagram::TouchEnd(point),
        ] {
            assert_eq!(
                ClientDatagram::decode(&datagram.encode()).expect("decode"),
                datagram
            );
        }
        assert_eq!(ClientDatagram::TouchEnd(point).encode()[0], 0x0a);
    }

    #[test]
    fn client_length_is_ignored_except_for_scroll() {
        // A total-size length (as the server writes it) still decodes a MOVE.
        let bytes = [0x01, 0, 7, 0, 10, 0, 20];
        assert_eq!(
            ClientDatagram::decode(&bytes).expect("decode"),
            ClientDatagram::Move { x: 10, y: 20 }
        );
        // Any scroll length other than 4 is the 5-byte form.
        let bytes = [0x02, 0, 8, 0, 1, 0, 1, 0];
        assert_eq!(
            ClientDatagram::decode(&bytes).expect("decode"),
            ClientDatagram::Scroll {
                delta_x: 1,
                delta_y: 1,
                control_key: false
            }
        );
    }

    #[test]
    fn client_errors() {
        assert!(matches!(
            ClientDatagram::decode(&[]),
            Err(ProtocolError::EmptyDatagram)
        ));
        assert!(matches!(
            ClientDatagram::decode(&[0x01, 0]),
            Err(ProtocolError::TruncatedDatagram { op: 1, .. })
        ));
        assert!(matches!(
            ClientDatagram::decode(&[0x03, 0, 4, 0, 0]),
            Err(ProtocolError::TruncatedDatagram {
                op: 3,
                needed: 7,
                got: 5
            })
        ));
        assert!(matches!(
            ClientDatagram::decode(&[0x02, 0, 5, 0, 0, 0, 1]),
            Err(ProtocolError::TruncatedDatagram { op: 2, .. })
        ));
        assert!(matches!(
            ClientDatagram::decode(&[0x42, 0, 0]),
            Err(ProtocolError::UnknownOpcode(0x42))
        ));
    }

    #[test]
    fn server_byte_layouts() {
        let position = ServerDatagram::CursorPosition { x: 1, y: 2 };
        let bytes = vec![0x01, 0, 7, 0, 1, 0, 2];
        assert_eq!(position.encode(), bytes);
        assert_eq!(ServerDatagram::decode(&bytes).expect("decode"), position);

        let image = ServerDatagram::CursorImage {
            width: 16,
            height: 24,
            x_hot: 1,
            y_hot: 2,
            png: vec![0x89, b'P', b'N', b'G'],
        };
        let bytes = vec![
            0x02, 0, 15, 0, 16, 0, 24, 0, 1, 0, 2, 0x89, b'P', b'N', b'G',
        ];
        assert_eq!(image.encode(), bytes);
        assert_eq!(ServerDatagram::decode(&bytes).expect("decode"), image);

        let pong = ServerDatagram::Pong {
            client_ms: 5,
            server_ms: 2 * 4_294_967_295 + 1,
        };
        let bytes = vec![0x03, 0, 19, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 1];
        assert_eq!(pong.encode(), bytes);
        assert_eq!(ServerDatagram::decode(&bytes).expect("decode"), pong);
    }

    #[test]
    fn large_cursor_image_wraps_length_but_decodes_whole_png() {
        let png = vec![7u8; 70_000];
        let image = ServerDatagram::CursorImage {
            width: 1,
            height: 1,
            x_hot: 0,
            y_hot: 0,
            png: png.clone(),
        };
        let bytes = image.encode();
        assert_eq!(
            u16::from_be_bytes([bytes[1], bytes[2]]),
            ((11 + png.len()) % 65_536) as u16
        );
        assert_eq!(ServerDatagram::decode(&bytes).expect("decode"), image);
    }

    #[test]
    fn timestamps_split_by_two_to_the_32_minus_one() {
        let ms = 1_717_236_930_123;
        let (hi, lo) = split_timestamp(ms);
        assert_eq!(u64::from(hi), ms / 4_294_967_295);
        assert_eq!(u64::from(lo), ms % 4_294_967_295);
        assert_eq!(join_timestamp(hi, lo), ms);
    }

    #[test]
    fn server_errors() {
        assert!(matches!(
            ServerDatagram::decode(&[0x09, 0, 3]),
            Err(ProtocolError::UnknownOpcode(9))
        ));
        assert!(matches!(
            ServerDatagram::decode(&[0x03, 0, 19, 0]),
            Err(ProtocolError::TruncatedDatagram { op: 3, .. })
        ));
    }
}
