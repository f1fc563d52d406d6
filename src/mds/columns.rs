//! The column set of a dataset and the sample record layout: columns in
//! sorted name order, u32 sizes of the variable-size columns, then the data.

use super::cursor::{Cursor, CursorError};
use super::encoding::{Encoding, ValueError};
use super::error::{MdsError, Result};
use super::value::Sample;

/// Why a sample record does not decode.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The size table is cut, or bytes are left after the last column.
    #[error(transparent)]
    Layout(#[from] CursorError),
    /// A column's bytes run past the record.
    #[error("column `{column}`: {source}")]
    Cut {
        /// The column name.
        column: String,
        /// How far it runs past.
        #[source]
        source: CursorError,
    },
    /// A column's bytes are not a value of its encoding.
    #[error("column `{column}` ({encoding}): {source}")]
    Value {
        /// The column name.
        column: String,
        /// The column's encoding.
        encoding: String,
        /// What is wrong with the value.
        #[source]
        source: ValueError,
    },
}

/// Column names with their encodings, kept sorted by name as MDS stores them.
#[derive(Debug, Clone, PartialEq)]
pub struct Columns {
    names: Vec<String>,
    encodings: Vec<Encoding>,
}

impl Columns {
    /// Builds the column set from `(name, encoding)` pairs, e.g.
    /// `[("task", "str"), ("payload", "bytes"), ("num_frames", "int")]`.
    pub fn new<N, E>(columns: impl IntoIterator<Item = (N, E)>) -> Result<Columns>
    where
        N: Into<String>,
        E: AsRef<str>,
    {
        let mut pairs = columns
            .into_iter()
            .map(|(name, encoding)| {
                let name = name.into();
                let encoding =
                    Encoding::parse(encoding.as_ref()).map_err(|reason| MdsError::Encoding {
                        column: name.clone(),
                        encoding: encoding.as_ref().to_owned(),
                        reason: Box::new(reason),
                    })?;
                Ok((name, encoding))
            })
            .collect::<Result<Vec<_>>>()?;
        if pairs.is_empty() {
            return Err(MdsError::Columns {
                reason: "no columns given; a sample needs at least one".to_owned(),
            });
        }
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(pair) = pairs.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(MdsError::Columns {
                reason: format!("column `{}` is given twice", pair[0].0),
            });
        }
        let (names, encodings) = pairs.into_iter().unzip();
        Ok(Columns { names, encodings })
    }

    /// Column names, sorted.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Encodings, in name order.
    pub fn encodings(&self) -> &[Encoding] {
        &self.encodings
    }

    /// Fixed sizes, in name order (`None` for variable-size columns).
    pub fn sizes(&self) -> Vec<Option<u64>> {
        self.encodings
            .iter()
            .map(|e| e.fixed_size().map(|s| s as u64))
            .collect()
    }

    /// `name:encoding, …` for messages.
    pub fn describe(&self) -> String {
        self.names
            .iter()
            .zip(&self.encodings)
            .map(|(n, e)| format!("{n}:{}", e.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Encodes one sample record (`encode_sample`).
    pub(crate) fn encode_record(&self, sample: &Sample) -> Result<Vec<u8>> {
        if sample.len() != self.names.len() || !self.names.iter().all(|n| sample.contains_key(n)) {
            return Err(MdsError::SampleColumns {
                missing: self
                    .names
                    .iter()
                    .filter(|n| !sample.contains_key(*n))
                    .cloned()
                    .collect(),
                unexpected: sample
                    .keys()
                    .filter(|k| self.names.binary_search(k).is_err())
                    .cloned()
                    .collect(),
            });
        }
        let variable = self
            .encodings
            .iter()
            .filter(|e| e.fixed_size().is_none())
            .count();
        let mut record = vec![0u8; 4 * variable];
        let mut slot = 0;
        for (name, encoding) in self.names.iter().zip(&self.encodings) {
            let error = |reason: ValueError| MdsError::Value {
                column: name.clone(),
                encoding: encoding.as_str().to_owned(),
                reason: Box::new(reason),
            };
            let start = record.len();
            encoding.encode(&sample[name], &mut record).map_err(error)?;
            let len = record.len() - start;
            match encoding.fixed_size() {
                Some(size) if size != len => {
                    return Err(error(ValueError::FixedSize { len, size }));
                }
                Some(_) => {}
                None => {
                    let len = u32::try_from(len)
                        .map_err(|_| MdsError::SampleTooLarge { bytes: len as u64 })?;
                    record[slot..slot + 4].copy_from_slice(&len.to_le_bytes());
                    slot += 4;
                }
            }
        }
        Ok(record)
    }

    /// Decodes one sample record (`decode_sample`); the error is the reason.
    pub(crate) fn decode_record(&self, record: &[u8]) -> Result<Sample, RecordError> {
        let mut cur = Cursor::new(record);
        let mut sizes = Vec::with_capacity(self.encodings.len());
        for encoding in &self.encodings {
            sizes.push(match encoding.fixed_size() {
                Some(size) => size,
                None => cur.u32()? as usize,
            });
        }
        let mut sample = Sample::new();
        for ((name, encoding), size) in self.names.iter().zip(&self.encodings).zip(sizes) {
            let data = cur.take(size).map_err(|source| RecordError::Cut {
                column: name.clone(),
                source,
            })?;
            let value = encoding.decode(data).map_err(|source| RecordError::Value {
                column: name.clone(),
                encoding: encoding.as_str().to_owned(),
                source,
            })?;
            sample.insert(name.clone(), value);
        }
        cur.finish()?;
        Ok(sample)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mds::value::Value;

    fn sample(pairs: &[(&str, Value)]) -> Sample {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn columns_are_sorted_and_checked() {
        let columns = Columns::new([("words", "str"), ("number", "int")]).unwrap();
        assert_eq!(columns.names(), ["number", "words"]);
        assert_eq!(columns.sizes(), [Some(8), None]);
        assert_eq!(columns.describe(), "number:int, words:str");
        let err = Columns::new([("a", "str"), ("a", "int")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("`a` is given twice"), "{err}");
        let err = Columns::new(Vec::<(String, String)>::new())
            .unwrap_err()
            .to_string();
        assert!(err.contains("no columns"), "{err}");
        let err = Columns::new([("x", "varchar")]).unwrap_err().to_string();
        assert!(
            err.starts_with("column `x`: encoding `varchar` is not an MDS encoding"),
            "{err}"
        );
    }

    #[test]
    fn record_layout_puts_sizes_first() {
        let columns =
            Columns::new([("words", "str"), ("number", "int"), ("blob", "bytes")]).unwrap();
        let record = columns
            .encode_record(&sample(&[
                ("words", "hi".into()),
                ("number", Value::Int(1)),
                ("blob", vec![9u8].into()),
            ]))
            .unwrap();
        // sizes of blob and words, then blob | number | words
        let mut want = vec![1, 0, 0, 0, 2, 0, 0, 0, 9];
        want.extend_from_slice(&1i64.to_le_bytes());
        want.extend_from_slice(b"hi");
        assert_eq!(record, want);
        let decoded = columns.decode_record(&record).unwrap();
        assert_eq!(decoded["words"], Value::Str("hi".into()));
        assert_eq!(decoded["number"], Value::Int(1));
        assert!(columns.decode_record(&record[..record.len() - 1]).is_err());
        let mut longer = record.clone();
        longer.push(0);
        assert!(
            columns
                .decode_record(&longer)
                .unwrap_err()
                .to_string()
                .contains("trailing")
        );
    }

    #[test]
    fn wrong_column_sets_list_the_difference() {
        let columns = Columns::new([("a", "str"), ("b", "int")]).unwrap();
        let err = columns
            .encode_record(&sample(&[("a", "x".into()), ("c", Value::Int(1))]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(r#"missing ["b"], unexpected ["c"]"#), "{err}");
        let err = columns
            .encode_record(&sample(&[("a", "x".into())]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(r#"missing ["b"], unexpected []"#), "{err}");
    }

    #[test]
    fn fixed_size_columns_refuse_other_sizes() {
        let columns = Columns::new([("n", "int")]).unwrap();
        let err = columns
            .encode_record(&sample(&[("n", vec![1u8, 2, 3].into())]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("column `n` (int): encoded to 3 bytes"),
            "{err}"
        );
    }
}
