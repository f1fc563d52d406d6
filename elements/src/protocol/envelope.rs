//! The `{"event", "payload"}` envelope shared by both directions, and the macro that maps events to enum variants.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ProtocolError;

/// A decoded envelope: the event name and the raw payload (`None` when the key is absent).
pub(crate) struct Envelope {
    pub(crate) event: String,
    pub(crate) payload: Option<Value>,
}

impl Envelope {
    /// Parses a text frame into an envelope.
    pub(crate) fn parse(text: &str) -> Result<Self, ProtocolError> {
        let value: Value = serde_json::from_str(text).map_err(ProtocolError::Json)?;
        Self::from_value(value)
    }

    /// Splits an already parsed JSON value into an envelope.
    pub(crate) fn from_value(value: Value) -> Result<Self, ProtocolError> {
        let Value::Object(mut object) = value else {
            return Err(ProtocolError::NotAnObject);
        };
        let event = match object.remove("event") {
            Some(Value::String(event)) => event,
            _ => return Err(ProtocolError::MissingEvent),
        };
        Ok(Self {
            event,
            payload: object.remove("payload"),
        })
    }

    /// Decodes the payload of a known event into its typed shape.
    pub(crate) fn payload_as<T: DeserializeOwned>(self) -> Result<T, ProtocolError> {
        let Some(payload) = self.payload else {
            return Err(ProtocolError::MissingPayload { event: self.event });
        };
        serde_json::from_value(payload).map_err(|source| ProtocolError::Payload {
            event: self.event,
            source,
        })
    }
}

/// Builds `{"event": event, "payload": payload}`, leaving `payload` out when `None`.
pub(crate) fn envelope(event: &str, payload: Option<Value>) -> Value {
    let mut object = Map::new();
    object.insert("event".into(), Value::String(event.into()));
    if let Some(payload) = payload {
        object.insert("payload".into(), payload);
    }
    Value::Object(object)
}

/// Serialises a payload struct; protocol payloads only have string keys, so this cannot fail.
pub(crate) fn payload_value<T: Serialize>(payload: &T) -> Value {
    serde_json::to_value(payload).expect("protocol payloads always serialise to JSON")
}

/// Declares an event enum: variants with a typed payload, variants sent without a payload,
/// variants sent with `"payload": null`, plus the catch-all `Unknown`.
macro_rules! event_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            payload {
                $( $(#[$pmeta:meta])* $pvariant:ident($ptype:ty) = $pevent:literal, )*
            }
            empty {
                $( $(#[$emeta:meta])* $evariant:ident = $eevent:literal, )*
            }
            null {
                $( $(#[$nmeta:meta])* $nvariant:ident = $nevent:literal, )*
            }
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub enum $name {
            $( $(#[$pmeta])* $pvariant($ptype), )*
            $( $(#[$emeta])* $evariant, )*
            $( $(#[$nmeta])* $nvariant, )*
            /// An event this crate does not know, kept verbatim.
            Unknown {
                /// The event name.
                event: String,
                /// The raw payload, `None` when the envelope had none.
                payload: Option<serde_json::Value>,
            },
        }

        impl $name {
            /// Parses one WebSocket text frame.
            pub fn from_json(text: &str) -> Result<Self, $crate::protocol::ProtocolError> {
                Self::from_envelope($crate::protocol::envelope::Envelope::parse(text)?)
            }

            /// Converts an already parsed JSON envelope.
            pub fn from_value(value: serde_json::Value) -> Result<Self, $crate::protocol::ProtocolError> {
                Self::from_envelope($crate::protocol::envelope::Envelope::from_value(value)?)
            }

            fn from_envelope(
                envelope: $crate::protocol::envelope::Envelope,
            ) -> Result<Self, $crate::protocol::ProtocolError> {
                match envelope.event.as_str() {
                    $( $pevent => Ok(Self::$pvariant(envelope.payload_as()?)), )*
                    $( $eevent => Ok(Self::$evariant), )*
                    $( $nevent => Ok(Self::$nvariant), )*
                    _ => Ok(Self::Unknown {
                        event: envelope.event,
                        payload: envelope.payload,
                    }),
                }
            }

            /// The envelope as a JSON value.
            pub fn to_value(&self) -> serde_json::Value {
                use $crate::protocol::envelope::{envelope, payload_value};
                match self {
                    $( Self::$pvariant(payload) => envelope($pevent, Some(payload_value(payload))), )*
                    $( Self::$evariant => envelope($eevent, None), )*
                    $( Self::$nvariant => envelope($nevent, Some(serde_json::Value::Null)), )*
                    Self::Unknown { event, payload } => envelope(event, payload.clone()),
                }
            }

            /// The envelope as one WebSocket text frame.
            pub fn to_json(&self) -> String {
                self.to_value().to_string()
            }

            /// The event name, e.g. `control/move`.
            pub fn name(&self) -> &str {
                match self {
                    $( Self::$pvariant(_) => $pevent, )*
                    $( Self::$evariant => $eevent, )*
                    $( Self::$nvariant => $nevent, )*
                    Self::Unknown { event, .. } => event,
                }
            }
        }
    };
}

pub(crate) use event_enum;
