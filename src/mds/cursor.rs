//! Bounds-checked little-endian reads over a byte slice, for decoding shards
//! and column values without panicking on corrupt input.

/// A read that ran past the end of the bytes or left some unread.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// Fewer bytes are left than the read needs.
    #[error("needs {needed} bytes at offset {offset}, only {left} left")]
    Short {
        /// Bytes the read needs.
        needed: usize,
        /// Where the read starts.
        offset: usize,
        /// Bytes left from there.
        left: usize,
    },
    /// A count of values whose byte length overflows `usize`.
    #[error("count overflows")]
    CountOverflows,
    /// Bytes left after the last value.
    #[error("{left} unexpected trailing bytes")]
    Trailing {
        /// How many bytes were not read.
        left: usize,
    },
}

/// A read position in a byte slice.
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    /// Starts reading at the first byte.
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Cursor { data, pos: 0 }
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], CursorError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.data.len());
        let Some(end) = end else {
            return Err(CursorError::Short {
                needed: n,
                offset: self.pos,
                left: self.data.len() - self.pos,
            });
        };
        let bytes = &self.data[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// The next byte.
    pub(crate) fn u8(&mut self) -> Result<u8, CursorError> {
        Ok(self.take(1)?[0])
    }

    /// The next little-endian u32.
    pub(crate) fn u32(&mut self) -> Result<u32, CursorError> {
        let bytes = self.take(4)?;
        Ok(u32::from_le_bytes(bytes.try_into().expect("took 4 bytes")))
    }

    /// `n` little-endian u32 values.
    pub(crate) fn u32s(&mut self, n: usize) -> Result<Vec<u32>, CursorError> {
        let bytes = self.take(n.checked_mul(4).ok_or(CursorError::CountOverflows)?)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes(c.try_into().expect("chunks of 4")))
            .collect())
    }

    /// Everything not read yet.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let bytes = &self.data[self.pos..];
        self.pos = self.data.len();
        bytes
    }

    /// Fails unless every byte was read.
    pub(crate) fn finish(&self) -> Result<(), CursorError> {
        match self.data.len() - self.pos {
            0 => Ok(()),
            left => Err(CursorError::Trailing { left }),
        }
    }
}
