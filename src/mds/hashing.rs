//! Shard file hashes (`hashing.py`): every `hashlib` algorithm that Python
//! exposes by attribute plus the `xxhash` family, as lowercase hex digests.

use std::io::{self, Write};

use blake2::{Blake2b512, Blake2s256};
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use sha3::{Sha3_224, Sha3_256, Sha3_384, Sha3_512};
use xxhash_rust::xxh3::Xxh3;
use xxhash_rust::xxh32::Xxh32;
use xxhash_rust::xxh64::Xxh64;

use super::error::{MdsError, Result};

/// A hash algorithm MDS can record for shard files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HashAlgo {
    /// `blake2b` (64-byte digest, hashlib's default)
    Blake2b,
    /// `blake2s` (32-byte digest)
    Blake2s,
    /// `md5`
    Md5,
    /// `sha1`
    Sha1,
    /// `sha224`
    Sha224,
    /// `sha256`
    Sha256,
    /// `sha384`
    Sha384,
    /// `sha3_224`
    Sha3_224,
    /// `sha3_256`
    Sha3_256,
    /// `sha3_384`
    Sha3_384,
    /// `sha3_512`
    Sha3_512,
    /// `sha512`
    Sha512,
    /// `xxh128` (the same function as `xxh3_128`)
    Xxh128,
    /// `xxh32`
    Xxh32,
    /// `xxh3_128`
    Xxh3_128,
    /// `xxh3_64`
    Xxh3_64,
    /// `xxh64`
    Xxh64,
}

impl HashAlgo {
    /// Every supported algorithm, in name order.
    pub const ALL: [HashAlgo; 17] = [
        HashAlgo::Blake2b,
        HashAlgo::Blake2s,
        HashAlgo::Md5,
        HashAlgo::Sha1,
        HashAlgo::Sha224,
        HashAlgo::Sha256,
        HashAlgo::Sha384,
        HashAlgo::Sha3_224,
        HashAlgo::Sha3_256,
        HashAlgo::Sha3_384,
        HashAlgo::Sha3_512,
        HashAlgo::Sha512,
        HashAlgo::Xxh128,
        HashAlgo::Xxh32,
        HashAlgo::Xxh3_128,
        HashAlgo::Xxh3_64,
        HashAlgo::Xxh64,
    ];

    /// The Python name, as written in `index.json`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgo::Blake2b => "blake2b",
            HashAlgo::Blake2s => "blake2s",
            HashAlgo::Md5 => "md5",
            HashAlgo::Sha1 => "sha1",
            HashAlgo::Sha224 => "sha224",
            HashAlgo::Sha256 => "sha256",
            HashAlgo::Sha384 => "sha384",
            HashAlgo::Sha3_224 => "sha3_224",
            HashAlgo::Sha3_256 => "sha3_256",
            HashAlgo::Sha3_384 => "sha3_384",
            HashAlgo::Sha3_512 => "sha3_512",
            HashAlgo::Sha512 => "sha512",
            HashAlgo::Xxh128 => "xxh128",
            HashAlgo::Xxh32 => "xxh32",
            HashAlgo::Xxh3_128 => "xxh3_128",
            HashAlgo::Xxh3_64 => "xxh3_64",
            HashAlgo::Xxh64 => "xxh64",
        }
    }

    /// The algorithm with this Python name.
    pub fn parse(name: &str) -> Result<HashAlgo> {
        HashAlgo::ALL
            .into_iter()
            .find(|a| a.name() == name)
            .ok_or_else(|| MdsError::Hash {
                given: name.to_owned(),
                supported: HashAlgo::ALL.map(HashAlgo::name).join(", "),
            })
    }

    /// The lowercase hex digest of `data`, as Python's `hexdigest()`.
    pub fn hex_digest(self, data: &[u8]) -> String {
        let mut hasher = Hasher::new(self);
        hasher.update(data);
        hasher.finish()
    }
}

/// Parses a comma-separated list such as `CAPTURE_HASHES` (`"sha1,xxh64"`),
/// sorted and without repeats as MDS requires; an empty text gives none.
pub fn parse_hash_list(text: &str) -> Result<Vec<HashAlgo>> {
    let mut algos = text
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(HashAlgo::parse)
        .collect::<Result<Vec<_>>>()?;
    normalize(&mut algos);
    Ok(algos)
}

/// Sorts by name and removes repeats: the order `index.json` must have.
pub(crate) fn normalize(algos: &mut Vec<HashAlgo>) {
    algos.sort_by_key(|a| a.name());
    algos.dedup();
}

/// An incremental hash of one algorithm.
enum Hasher {
    Blake2b(Blake2b512),
    Blake2s(Blake2s256),
    Md5(Md5),
    Sha1(Sha1),
    Sha224(Sha224),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
    Sha3_224(Sha3_224),
    Sha3_256(Sha3_256),
    Sha3_384(Sha3_384),
    Sha3_512(Sha3_512),
    Xxh32(Xxh32),
    Xxh64(Xxh64),
    Xxh3_64(Box<Xxh3>),
    Xxh3_128(Box<Xxh3>),
}

impl Hasher {
    fn new(algo: HashAlgo) -> Hasher {
        match algo {
            HashAlgo::Blake2b => Hasher::Blake2b(Blake2b512::new()),
            HashAlgo::Blake2s => Hasher::Blake2s(Blake2s256::new()),
            HashAlgo::Md5 => Hasher::Md5(Md5::new()),
            HashAlgo::Sha1 => Hasher::Sha1(Sha1::new()),
            HashAlgo::Sha224 => Hasher::Sha224(Sha224::new()),
            HashAlgo::Sha256 => Hasher::Sha256(Sha256::new()),
            HashAlgo::Sha384 => Hasher::Sha384(Sha384::new()),
            HashAlgo::Sha512 => Hasher::Sha512(Sha512::new()),
            HashAlgo::Sha3_224 => Hasher::Sha3_224(Sha3_224::new()),
            HashAlgo::Sha3_256 => Hasher::Sha3_256(Sha3_256::new()),
            HashAlgo::Sha3_384 => Hasher::Sha3_384(Sha3_384::new()),
            HashAlgo::Sha3_512 => Hasher::Sha3_512(Sha3_512::new()),
            HashAlgo::Xxh32 => Hasher::Xxh32(Xxh32::new(0)),
            HashAlgo::Xxh64 => Hasher::Xxh64(Xxh64::new(0)),
            HashAlgo::Xxh3_64 => Hasher::Xxh3_64(Box::new(Xxh3::new())),
            HashAlgo::Xxh128 | HashAlgo::Xxh3_128 => Hasher::Xxh3_128(Box::new(Xxh3::new())),
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Blake2b(h) => h.update(data),
            Hasher::Blake2s(h) => h.update(data),
            Hasher::Md5(h) => h.update(data),
            Hasher::Sha1(h) => h.update(data),
            Hasher::Sha224(h) => h.update(data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha384(h) => h.update(data),
            Hasher::Sha512(h) => h.update(data),
            Hasher::Sha3_224(h) => h.update(data),
            Hasher::Sha3_256(h) => h.update(data),
            Hasher::Sha3_384(h) => h.update(data),
            Hasher::Sha3_512(h) => h.update(data),
            Hasher::Xxh32(h) => h.update(data),
            Hasher::Xxh64(h) => h.update(data),
            Hasher::Xxh3_64(h) | Hasher::Xxh3_128(h) => h.update(data),
        }
    }

    fn finish(self) -> String {
        match self {
            Hasher::Blake2b(h) => hex(&h.finalize()),
            Hasher::Blake2s(h) => hex(&h.finalize()),
            Hasher::Md5(h) => hex(&h.finalize()),
            Hasher::Sha1(h) => hex(&h.finalize()),
            Hasher::Sha224(h) => hex(&h.finalize()),
            Hasher::Sha256(h) => hex(&h.finalize()),
            Hasher::Sha384(h) => hex(&h.finalize()),
            Hasher::Sha512(h) => hex(&h.finalize()),
            Hasher::Sha3_224(h) => hex(&h.finalize()),
            Hasher::Sha3_256(h) => hex(&h.finalize()),
            Hasher::Sha3_384(h) => hex(&h.finalize()),
            Hasher::Sha3_512(h) => hex(&h.finalize()),
            // xxhash hexdigests are the canonical (big-endian) form.
            Hasher::Xxh32(h) => format!("{:08x}", h.digest()),
            Hasher::Xxh64(h) => format!("{:016x}", h.digest()),
            Hasher::Xxh3_64(h) => format!("{:016x}", h.digest()),
            Hasher::Xxh3_128(h) => format!("{:032x}", h.digest128()),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Several hashes of one byte stream, fed as it is written.
pub(crate) struct MultiHasher {
    hashers: Vec<(HashAlgo, Hasher)>,
}

impl MultiHasher {
    /// Starts a hash of each algorithm.
    pub(crate) fn new(algos: &[HashAlgo]) -> Self {
        MultiHasher {
            hashers: algos.iter().map(|&a| (a, Hasher::new(a))).collect(),
        }
    }

    /// Feeds more bytes to every hash.
    pub(crate) fn update(&mut self, data: &[u8]) {
        for (_, hasher) in &mut self.hashers {
            hasher.update(data);
        }
    }

    /// `(name, hexdigest)` of every algorithm.
    pub(crate) fn finish(self) -> Vec<(String, String)> {
        self.hashers
            .into_iter()
            .map(|(algo, hasher)| (algo.name().to_owned(), hasher.finish()))
            .collect()
    }
}

/// A writer that hashes everything passing through it.
pub(crate) struct HashingWriter<W> {
    inner: W,
    hashes: MultiHasher,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Hashes with `algos` what is written to `inner`.
    pub(crate) fn new(inner: W, algos: &[HashAlgo]) -> Self {
        HashingWriter {
            inner,
            hashes: MultiHasher::new(algos),
            written: 0,
        }
    }

    /// Bytes written, and `(name, hexdigest)` of every algorithm.
    pub(crate) fn finish(self) -> (u64, Vec<(String, String)>) {
        (self.written, self.hashes.finish())
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hashes.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_python() {
        // hashlib.<algo>(b"abc").hexdigest() and xxhash.<algo>(b"abc").hexdigest()
        let cases = [
            ("md5", "900150983cd24fb0d6963f7d28e17f72"),
            ("sha1", "a9993e364706816aba3e25717850c26c9cd0d89d"),
            (
                "sha256",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                "sha3_256",
                "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532",
            ),
            (
                "blake2s",
                "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
            ),
            ("xxh32", "32d153ff"),
            ("xxh64", "44bc2cf5ad770999"),
            ("xxh3_64", "78af5f94892f3950"),
            ("xxh128", "06b05ab6733a618578af5f94892f3950"),
            ("xxh3_128", "06b05ab6733a618578af5f94892f3950"),
        ];
        for (name, want) in cases {
            assert_eq!(
                HashAlgo::parse(name).unwrap().hex_digest(b"abc"),
                want,
                "{name}"
            );
        }
        for algo in HashAlgo::ALL {
            assert_eq!(HashAlgo::parse(algo.name()).unwrap(), algo);
        }
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut writer = HashingWriter::new(Vec::new(), &HashAlgo::ALL);
        for chunk in data.chunks(333) {
            writer.write_all(chunk).unwrap();
        }
        let (written, digests) = writer.finish();
        assert_eq!(written, data.len() as u64);
        for ((name, digest), algo) in digests.into_iter().zip(HashAlgo::ALL) {
            assert_eq!(name, algo.name());
            assert_eq!(digest, algo.hex_digest(&data), "{name}");
        }
    }

    #[test]
    fn lists_are_sorted_and_unknown_names_listed() {
        let algos = parse_hash_list(" xxh64,sha1,,sha1 ").unwrap();
        assert_eq!(algos, [HashAlgo::Sha1, HashAlgo::Xxh64]);
        assert!(parse_hash_list("").unwrap().is_empty());
        let err = parse_hash_list("sha1,crc32").unwrap_err().to_string();
        assert!(err.contains("`crc32`") && err.contains("sha256"), "{err}");
    }
}
