//! A minimal, bounds-checked FlatBuffers reader: just enough to walk a TF-Lite model.
//! Every access returns an error instead of panicking on hostile input.

use super::WeightsError;

const FORMAT: &str = "TF-Lite";

/// A table inside a FlatBuffer.
#[derive(Clone, Copy)]
pub(crate) struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A vector of elements inside a FlatBuffer.
#[derive(Clone, Copy)]
pub(crate) struct Vector<'a> {
    buf: &'a [u8],
    /// Position of the first element.
    start: usize,
    len: usize,
}

fn truncated(what: &str) -> WeightsError {
    WeightsError::Truncated {
        format: FORMAT,
        what: what.to_string(),
    }
}

fn read<const N: usize>(buf: &[u8], pos: usize, what: &str) -> Result<[u8; N], WeightsError> {
    buf.get(pos..pos.checked_add(N).ok_or_else(|| truncated(what))?)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| truncated(what))
}

fn u32_at(buf: &[u8], pos: usize, what: &str) -> Result<usize, WeightsError> {
    Ok(u32::from_le_bytes(read(buf, pos, what)?) as usize)
}

/// Follows a `uoffset` stored at `pos`.
fn follow(buf: &[u8], pos: usize, what: &str) -> Result<usize, WeightsError> {
    pos.checked_add(u32_at(buf, pos, what)?)
        .ok_or_else(|| truncated(what))
}

/// The root table of a FlatBuffer.
pub(crate) fn root(buf: &[u8]) -> Result<Table<'_>, WeightsError> {
    Ok(Table {
        buf,
        pos: follow(buf, 0, "the root offset")?,
    })
}

impl<'a> Table<'a> {
    /// Absolute position of field `index`'s value, or `None` if the field is absent.
    pub(crate) fn field(&self, index: usize) -> Result<Option<usize>, WeightsError> {
        let soffset = i32::from_le_bytes(read(self.buf, self.pos, "a table")?) as i64;
        let vtable =
            usize::try_from(self.pos as i64 - soffset).map_err(|_| truncated("a vtable offset"))?;
        let vtable_len = u16::from_le_bytes(read(self.buf, vtable, "a vtable")?) as usize;
        let entry = 4 + 2 * index;
        if entry + 2 > vtable_len {
            return Ok(None);
        }
        let offset = u16::from_le_bytes(read(self.buf, vtable + entry, "a vtable")?) as usize;
        Ok((offset != 0).then_some(self.pos + offset))
    }

    /// A scalar field of `N` little-endian bytes.
    fn scalar<const N: usize>(
        &self,
        index: usize,
        what: &str,
    ) -> Result<Option<[u8; N]>, WeightsError> {
        match self.field(index)? {
            Some(pos) => Ok(Some(read(self.buf, pos, what)?)),
            None => Ok(None),
        }
    }

    /// A `u32`/`uint` field, or `default`.
    pub fn u32(&self, index: usize, default: u32) -> Result<u32, WeightsError> {
        Ok(self
            .scalar::<4>(index, "a u32 field")?
            .map_or(default, u32::from_le_bytes))
    }

    /// An `i32` field, or `default`.
    pub fn i32(&self, index: usize, default: i32) -> Result<i32, WeightsError> {
        Ok(self
            .scalar::<4>(index, "an i32 field")?
            .map_or(default, i32::from_le_bytes))
    }

    /// An `i8`/`byte` field, or `default`.
    pub fn i8(&self, index: usize, default: i8) -> Result<i8, WeightsError> {
        Ok(self
            .scalar::<1>(index, "a byte field")?
            .map_or(default, |b| b[0] as i8))
    }

    /// A `u64`/`ulong` field, or `default`.
    pub fn u64(&self, index: usize, default: u64) -> Result<u64, WeightsError> {
        Ok(self
            .scalar::<8>(index, "a u64 field")?
            .map_or(default, u64::from_le_bytes))
    }

    /// A sub-table field.
    pub fn table(&self, index: usize) -> Result<Option<Table<'a>>, WeightsError> {
        match self.field(index)? {
            Some(pos) => Ok(Some(Table {
                buf: self.buf,
                pos: follow(self.buf, pos, "a table offset")?,
            })),
            None => Ok(None),
        }
    }

    /// A vector field (empty when absent).
    pub fn vector(&self, index: usize) -> Result<Vector<'a>, WeightsError> {
        match self.field(index)? {
            Some(pos) => {
                let at = follow(self.buf, pos, "a vector offset")?;
                let len = u32_at(self.buf, at, "a vector length")?;
                Ok(Vector {
                    buf: self.buf,
                    start: at + 4,
                    len,
                })
            }
            None => Ok(Vector {
                buf: self.buf,
                start: 0,
                len: 0,
            }),
        }
    }

    /// A string field (empty when absent; invalid UTF-8 is replaced).
    pub fn string(&self, index: usize) -> Result<String, WeightsError> {
        Ok(String::from_utf8_lossy(self.vector(index)?.bytes(1)?).into_owned())
    }
}

impl<'a> Vector<'a> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The raw bytes of the vector, for elements of `size` bytes.
    pub fn bytes(&self, size: usize) -> Result<&'a [u8], WeightsError> {
        let end = self
            .len
            .checked_mul(size)
            .and_then(|n| n.checked_add(self.start));
        end.and_then(|end| self.buf.get(self.start..end))
            .ok_or_else(|| truncated("a vector"))
    }

    /// Element `i` of a vector of tables.
    pub fn table(&self, i: usize) -> Result<Table<'a>, WeightsError> {
        if i >= self.len {
            return Err(truncated("a vector of tables"));
        }
        let pos = self.start + 4 * i;
        Ok(Table {
            buf: self.buf,
            pos: follow(self.buf, pos, "a table offset")?,
        })
    }

    /// All elements of a vector of `i32`.
    pub fn i32s(&self) -> Result<Vec<i32>, WeightsError> {
        Ok(self
            .bytes(4)?
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }

    /// All elements of a vector of `f32`.
    pub fn f32s(&self) -> Result<Vec<f32>, WeightsError> {
        Ok(super::layers::f32s_le(self.bytes(4)?))
    }

    /// All elements of a vector of `i64`.
    pub fn i64s(&self) -> Result<Vec<i64>, WeightsError> {
        Ok(self
            .bytes(8)?
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
            .collect())
    }
}
