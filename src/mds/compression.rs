//! Shard compression (`compression.py`): `family` or `family:level` for the
//! families Python supports, each backed by a maintained crate.

use std::fmt;
use std::io::{self, Read, Write};

use super::error::{MdsError, Result};

/// The compression settings MDS accepts, for error messages.
pub const SUPPORTED_COMPRESSIONS: &str =
    "br[:0-11], bz2[:1-9], gz[:0-9], snappy, zstd[:1-22] (e.g. zstd or zstd:6)";

/// A compression family and the file extension its shards get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// Brotli (`br`, quality 0–11, default 11), via the `brotli` crate.
    Brotli,
    /// bzip2 (`bz2`, 1–9, default 9), via the `bzip2` crate.
    Bzip2,
    /// gzip (`gz`, 0–9, default 9), via `flate2`.
    Gzip,
    /// Snappy raw blocks (`snappy`, no levels), via `snap`.
    Snappy,
    /// Zstandard frames (`zstd`, 1–22, default 3), via `zstd`.
    Zstd,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 5] = [
        Family::Brotli,
        Family::Bzip2,
        Family::Gzip,
        Family::Snappy,
        Family::Zstd,
    ];

    /// The name, which is also the shard file extension.
    pub fn extension(self) -> &'static str {
        match self {
            Family::Brotli => "br",
            Family::Bzip2 => "bz2",
            Family::Gzip => "gz",
            Family::Snappy => "snappy",
            Family::Zstd => "zstd",
        }
    }

    /// The family with this name or extension.
    pub fn from_extension(ext: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.extension() == ext)
    }

    /// Accepted levels and the default, or `None` for a family without levels.
    fn levels(self) -> Option<(u32, u32, u32)> {
        match self {
            Family::Brotli => Some((0, 11, 11)),
            Family::Bzip2 => Some((1, 9, 9)),
            Family::Gzip => Some((0, 9, 9)),
            Family::Snappy => None,
            Family::Zstd => Some((1, 22, 3)),
        }
    }
}

/// A shard compression setting such as `zstd` or `zstd:6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Compression {
    family: Family,
    level: Option<u32>,
}

impl Compression {
    /// Parses `family` or `family:level`, accepting exactly what Python accepts.
    pub fn parse(text: &str) -> Result<Compression> {
        let error = |reason: String| MdsError::Compression {
            given: text.to_owned(),
            reason,
        };
        let (name, level) = match text.split_once(':') {
            Some((name, level)) => (name, Some(level)),
            None => (text, None),
        };
        let family = Family::from_extension(name)
            .ok_or_else(|| error(format!("supported: {SUPPORTED_COMPRESSIONS}")))?;
        let Some(level) = level else {
            return Ok(Compression {
                family,
                level: None,
            });
        };
        let Some((lo, hi, _)) = family.levels() else {
            return Err(error(format!("{name} has no levels; write just `{name}`")));
        };
        // Python matches the exact text `family:N`, so `zstd:03` is refused too.
        let parsed = level
            .parse::<u32>()
            .ok()
            .filter(|n| (lo..=hi).contains(n) && n.to_string() == level);
        match parsed {
            Some(n) => Ok(Compression {
                family,
                level: Some(n),
            }),
            None => Err(error(format!("{name} levels are {lo} to {hi}"))),
        }
    }

    /// Parses a setting where an empty text (after trimming) means no compression,
    /// like `CAPTURE_COMPRESSION`.
    pub fn parse_setting(text: &str) -> Result<Option<Compression>> {
        match text.trim() {
            "" => Ok(None),
            text => Compression::parse(text).map(Some),
        }
    }

    /// The family.
    pub fn family(self) -> Family {
        self.family
    }

    /// The level used: the one given, or the family default (`None` for snappy).
    pub fn level(self) -> Option<u32> {
        let (_, _, default) = self.family.levels()?;
        Some(self.level.unwrap_or(default))
    }

    /// The extension of compressed shard files, e.g. `zstd`.
    pub fn extension(self) -> &'static str {
        self.family.extension()
    }

    /// Compresses the concatenation of `chunks` (`total` bytes) into `out`.
    pub(crate) fn compress_chunks(
        self,
        chunks: &[&[u8]],
        total: u64,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let level = self.level().unwrap_or(0);
        match self.family {
            Family::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(out, level as i32)?;
                // Record the size in the frame header, as one-shot `zstd.compress` does;
                // some Python decoders need it.
                encoder.set_pledged_src_size(Some(total))?;
                encoder.include_contentsize(true)?;
                write_chunks(&mut encoder, chunks)?;
                encoder.finish()?;
            }
            Family::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(out, flate2::Compression::new(level));
                write_chunks(&mut encoder, chunks)?;
                encoder.finish()?;
            }
            Family::Bzip2 => {
                let mut encoder = bzip2::write::BzEncoder::new(out, bzip2::Compression::new(level));
                write_chunks(&mut encoder, chunks)?;
                encoder.finish()?;
            }
            Family::Brotli => {
                let params = brotli::enc::BrotliEncoderParams {
                    quality: level as i32,
                    lgwin: 22, // Python brotli's default window
                    ..Default::default()
                };
                brotli::BrotliCompress(&mut ChunkReader::new(chunks), &mut &mut *out, &params)?;
            }
            Family::Snappy => {
                // The raw (unframed) format, as python-snappy's `compress`; it
                // needs the whole input at once.
                let whole = chunks.concat();
                let compressed = snap::raw::Encoder::new()
                    .compress_vec(&whole)
                    .map_err(io::Error::other)?;
                out.write_all(&compressed)?;
            }
        }
        Ok(())
    }

    /// Decompresses a whole compressed shard.
    pub fn decompress(self, data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        match self.family {
            Family::Zstd => out = zstd::stream::decode_all(data)?,
            Family::Gzip => {
                flate2::read::MultiGzDecoder::new(data).read_to_end(&mut out)?;
            }
            Family::Bzip2 => {
                bzip2::read::MultiBzDecoder::new(data).read_to_end(&mut out)?;
            }
            Family::Brotli => brotli::BrotliDecompress(&mut &data[..], &mut out)?,
            Family::Snappy => {
                out = snap::raw::Decoder::new()
                    .decompress_vec(data)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Compression {
    /// The setting as stored in `index.json`: `zstd` or `zstd:7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.level {
            Some(level) => write!(f, "{}:{level}", self.family.extension()),
            None => f.write_str(self.family.extension()),
        }
    }
}

fn write_chunks(out: &mut impl Write, chunks: &[&[u8]]) -> io::Result<()> {
    chunks.iter().try_for_each(|chunk| out.write_all(chunk))
}

/// Reads a list of slices as one stream.
struct ChunkReader<'a> {
    chunks: &'a [&'a [u8]],
    offset: usize,
}

impl<'a> ChunkReader<'a> {
    fn new(chunks: &'a [&'a [u8]]) -> Self {
        ChunkReader { chunks, offset: 0 }
    }
}

impl Read for ChunkReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some((first, rest)) = self.chunks.split_first() {
            let left = &first[self.offset..];
            if left.is_empty() {
                self.chunks = rest;
                self.offset = 0;
                continue;
            }
            let n = left.len().min(buf.len());
            buf[..n].copy_from_slice(&left[..n]);
            self.offset += n;
            return Ok(n);
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_python_accepts() {
        let ok = |text: &str| Compression::parse(text).unwrap();
        assert_eq!(ok("zstd").to_string(), "zstd");
        assert_eq!(ok("zstd").level(), Some(3));
        assert_eq!(ok("zstd:22").to_string(), "zstd:22");
        assert_eq!(ok("zstd:7").level(), Some(7));
        assert_eq!(ok("gz:0").level(), Some(0));
        assert_eq!(ok("br").level(), Some(11));
        assert_eq!(ok("bz2").level(), Some(9));
        assert_eq!(ok("snappy").level(), None);
        assert_eq!(ok("snappy").extension(), "snappy");
        for bad in [
            "zstd:0", "zstd:23", "zstd:03", "zstd:", "bz2:0", "snappy:1", "lz4", "ZSTD",
        ] {
            let err = Compression::parse(bad).unwrap_err().to_string();
            assert!(err.contains(&format!("`{bad}`")), "{err}");
        }
        let err = Compression::parse("lz4").unwrap_err().to_string();
        assert!(err.contains("zstd[:1-22]"), "{err}");
        assert_eq!(Compression::parse_setting(" ").unwrap(), None);
        assert_eq!(
            Compression::parse_setting("zstd:6")
                .unwrap()
                .map(|c| c.to_string()),
            Some("zstd:6".to_owned())
        );
    }

    #[test]
    fn every_family_round_trips_chunked_input() {
        let data: Vec<u8> = (0..50_000u32)
            .map(|i| (i % 97) as u8 ^ (i / 1000) as u8)
            .collect();
        let chunks: Vec<&[u8]> = vec![&data[..10], &[], &data[10..30_000], &data[30_000..]];
        for text in ["zstd", "zstd:19", "gz", "gz:1", "bz2:1", "br:5", "snappy"] {
            let compression = Compression::parse(text).unwrap();
            let mut out = Vec::new();
            compression
                .compress_chunks(&chunks, data.len() as u64, &mut out)
                .unwrap();
            assert!(out.len() < data.len(), "{text} did not compress");
            assert_eq!(compression.decompress(&out).unwrap(), data, "{text}");
        }
    }

    #[test]
    fn zstd_frames_record_the_content_size() {
        let mut out = Vec::new();
        Compression::parse("zstd")
            .unwrap()
            .compress_chunks(&[b"hello", b" world"], 11, &mut out)
            .unwrap();
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&out).ok(),
            Some(Some(11))
        );
    }

    #[test]
    fn garbage_does_not_decompress() {
        for family in Family::ALL {
            let compression = Compression::parse(family.extension()).unwrap();
            assert!(
                compression.decompress(b"not compressed at all").is_err(),
                "{family:?}"
            );
        }
    }
}
