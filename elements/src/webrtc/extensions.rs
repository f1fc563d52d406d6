//! RTP header extensions in Neko's offers: which ones the elements negotiate, and removing the
//! rest from caps and from our answer.
//!
//! The real server's offer carries whatever Pion's default interceptors registered (transport-cc
//! on both sections; sdes:mid, rtp-stream-id and repaired-rtp-stream-id on video), with ids in
//! registration order. On GStreamer 1.22 a payloader or depayloader enables an implementation for
//! every `extmap-N` field it sees in its caps, and some implementations rewrite the field (the
//! client audio level adds `vad=on`), after which the payloader's caps no longer match the
//! caps webrtcbin's sink pad was created with and the stream fails with `not-negotiated`. So only
//! the extensions below reach caps, and the answer names only those.

/// Transport-wide congestion control sequence numbers (`rtphdrexttwcc` on 1.22).
pub const TRANSPORT_CC: &str =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

/// The BUNDLE media identification (`rtphdrextmid` on 1.22).
pub const SDES_MID: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";

/// Extensions the elements keep when the server offers them.
pub const SUPPORTED: [&str; 2] = [TRANSPORT_CC, SDES_MID];

/// Whether an offered extension URI is one the elements negotiate.
pub fn is_supported(uri: &str) -> bool {
    SUPPORTED.contains(&uri.trim())
}

/// The URI of a caps `extmap-N` value: a plain string, or the array
/// `<direction, uri, attributes>` GStreamer uses when the SDP line has a direction or attributes.
pub fn uri_of(value: &gst::glib::SendValue) -> Option<String> {
    if let Ok(uri) = value.get::<String>() {
        return Some(uri);
    }
    let array = value.get::<gst::Array>().ok()?;
    array.get(1)?.get::<String>().ok()
}

/// The ids an extension may have to be kept: the one-byte header's range. On 1.22 a payloader
/// whose extensions need the two-byte header (ids 15 to 255) fails to add any of them ("Cannot
/// add rtp header extensions with mixed header types") and sends none, and GStreamer's SDP reader
/// skips id 15 altogether, so an answer keeping such an id would promise what is never sent.
pub const ONE_BYTE_IDS: std::ops::RangeInclusive<u8> = 1..=14;

/// The id of a caps `extmap-N` field, or `None` when the field is not a header extension.
pub fn extmap_id(field: &str) -> Option<u8> {
    field.strip_prefix("extmap-")?.parse().ok()
}

/// Removes every `extmap-N` field whose extension is not [`SUPPORTED`] or whose id is outside
/// [`ONE_BYTE_IDS`].
pub fn retain_supported(structure: &mut gst::StructureRef) {
    let dropped: Vec<String> = structure
        .iter()
        .filter(|(field, value)| {
            extmap_id(field.as_str()).is_some_and(|id| {
                !ONE_BYTE_IDS.contains(&id) || !uri_of(value).is_some_and(|uri| is_supported(&uri))
            })
        })
        .map(|(field, _)| field.to_string())
        .collect();
    for field in dropped {
        structure.remove_field(field.as_str());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_supported_extensions_in_caps() {
        gst::init().unwrap();
        let mut structure = gst::Structure::builder("application/x-rtp")
            .field("extmap-1", SDES_MID)
            .field("extmap-2", "urn:ietf:params:rtp-hdrext:ssrc-audio-level")
            .field("extmap-3", gst::Array::new(["sendonly", TRANSPORT_CC, ""]))
            .field(
                "extmap-4",
                gst::Array::new(["", "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", ""]),
            )
            .field("extmap-14", TRANSPORT_CC)
            .field("extmap-36", TRANSPORT_CC)
            .field("extmap-250", SDES_MID)
            .field("payload", 111i32)
            .build();
        retain_supported(&mut structure);
        assert!(structure.has_field("extmap-1"));
        assert!(!structure.has_field("extmap-2"));
        assert!(structure.has_field("extmap-3"));
        assert!(!structure.has_field("extmap-4"));
        assert!(structure.has_field("extmap-14"));
        assert!(!structure.has_field("extmap-36"));
        assert!(!structure.has_field("extmap-250"));
        assert!(structure.has_field("payload"));
    }

    #[test]
    fn recognises_extmap_fields() {
        assert_eq!(extmap_id("extmap-14"), Some(14));
        assert_eq!(extmap_id("extmap-250"), Some(250));
        assert_eq!(extmap_id("extmap-allow-mixed"), None);
    }
}
