//! The zip container of project files: a writer (stored entries, fixed timestamps, so the same
//! project always gives the same bytes) and a bounds-checked reader (stored and deflated
//! entries) that refuses what it cannot read safely: encryption, zip64, split archives,
//! duplicate or unsafe names, sizes past the limits, and entries that inflate past their
//! declared size (zip bombs).

use std::collections::BTreeMap;

use super::ProjectError;

const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
/// General-purpose flag: names are UTF-8.
const UTF8_NAMES: u16 = 1 << 11;

/// How much a reader accepts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most entries.
    pub entries: usize,
    /// Most bytes of one entry once extracted.
    pub entry_bytes: usize,
    /// Most bytes of all entries once extracted.
    pub total_bytes: usize,
}

/// Writes `files` (name → bytes, in name order) as a zip of stored entries.
pub fn write(files: &BTreeMap<String, Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in files {
        let offset = out.len() as u32;
        let crc = crc32fast::hash(data);
        let fields = |out: &mut Vec<u8>| {
            put16(out, 20); // version needed: 2.0
            put16(out, UTF8_NAMES);
            put16(out, 0); // stored
            put16(out, 0); // time 00:00
            put16(out, 0x21); // date 1980-01-01
            put32(out, crc);
            put32(out, data.len() as u32);
            put32(out, data.len() as u32);
            put16(out, name.len() as u16);
            put16(out, 0); // extra
        };
        put32(&mut out, LOCAL);
        fields(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(data);
        put32(&mut central, CENTRAL);
        put16(&mut central, 20); // made by: 2.0, MS-DOS
        fields(&mut central);
        put16(&mut central, 0); // comment
        put16(&mut central, 0); // disk
        put16(&mut central, 0); // internal attributes
        put32(&mut central, 0); // external attributes
        put32(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let central_offset = out.len() as u32;
    out.extend_from_slice(&central);
    put32(&mut out, END);
    put16(&mut out, 0);
    put16(&mut out, 0);
    put16(&mut out, files.len() as u16);
    put16(&mut out, files.len() as u16);
    put32(&mut out, central.len() as u32);
    put32(&mut out, central_offset);
    put16(&mut out, 0);
    out
}

/// Reads every entry of a zip (directories are skipped), checking CRCs and `limits`.
pub fn read(bytes: &[u8], limits: &Limits) -> Result<BTreeMap<String, Vec<u8>>, ProjectError> {
    let bad = |why: &str| ProjectError::Archive(why.to_string());
    let end = find_end(bytes).ok_or_else(|| bad("not a zip file (no end-of-archive record)"))?;
    let mut r = Reader { bytes, at: end + 4 };
    let (disk, cd_disk) = (r.u16()?, r.u16()?);
    let (_, count) = (r.u16()?, r.u16()? as usize);
    let (cd_size, cd_offset) = (r.u32()? as usize, r.u32()? as usize);
    if disk != 0 || cd_disk != 0 {
        return Err(bad("split archives are not supported"));
    }
    if count == 0xFFFF || cd_offset == 0xFFFF_FFFF {
        return Err(bad("zip64 archives are not supported"));
    }
    if count > limits.entries {
        return Err(ProjectError::TooLarge(format!(
            "{count} entries (at most {})",
            limits.entries
        )));
    }
    if cd_offset.checked_add(cd_size).is_none_or(|e| e > end) {
        return Err(bad("the central directory lies outside the file"));
    }
    let mut files = BTreeMap::new();
    // Start and end of every entry read so far (local header to end of data).
    let mut spans = BTreeMap::new();
    let mut total = 0usize;
    let mut r = Reader {
        bytes,
        at: cd_offset,
    };
    for _ in 0..count {
        if r.u32()? != CENTRAL {
            return Err(bad("damaged central directory"));
        }
        r.skip(4)?;
        let flags = r.u16()?;
        let method = r.u16()?;
        r.skip(4)?;
        let crc = r.u32()?;
        let (compressed, size) = (r.u32()? as usize, r.u32()? as usize);
        let (name_len, extra_len, comment_len) =
            (r.u16()? as usize, r.u16()? as usize, r.u16()? as usize);
        r.skip(8)?;
        let local = r.u32()? as usize;
        let name = std::str::from_utf8(r.take(name_len)?)
            .map_err(|_| bad("an entry name is not UTF-8"))?
            .to_string();
        r.skip(extra_len + comment_len)?;
        if flags & 1 != 0 {
            return Err(bad("encrypted entries are not supported"));
        }
        if name.ends_with('/') {
            continue;
        }
        check_name(&name)?;
        if size > limits.entry_bytes {
            return Err(ProjectError::TooLarge(format!(
                "{name} is {size} bytes (at most {})",
                limits.entry_bytes
            )));
        }
        total = total.saturating_add(size);
        if total > limits.total_bytes {
            return Err(ProjectError::TooLarge(format!(
                "more than {} bytes once extracted",
                limits.total_bytes
            )));
        }
        let data = entry_data(bytes, local, compressed)?;
        // Entries sharing bytes would let a small file inflate many times over.
        let end = data.as_ptr() as usize - bytes.as_ptr() as usize + data.len();
        let before = spans.range(..end).next_back();
        if before.is_some_and(|(_, &other_end)| other_end > local) {
            return Err(bad(&format!("{name} overlaps another entry")));
        }
        spans.insert(local, end);
        let data = match method {
            0 if data.len() == size => data.to_vec(),
            0 => {
                return Err(bad(&format!(
                    "{name}: stored size disagrees with its header"
                )));
            }
            8 => miniz_oxide::inflate::decompress_to_vec_with_limit(data, size).map_err(|_| {
                bad(&format!(
                    "{name}: damaged compressed data, or larger than its header says"
                ))
            })?,
            other => {
                return Err(bad(&format!(
                    "{name}: compression method {other} is not supported"
                )));
            }
        };
        if data.len() != size || crc32fast::hash(&data) != crc {
            return Err(bad(&format!(
                "{name}: checksum mismatch (the file is damaged)"
            )));
        }
        if files.insert(name.clone(), data).is_some() {
            return Err(bad(&format!("{name} appears twice")));
        }
    }
    Ok(files)
}

/// Refuses names that could escape a folder or mean different things on different systems.
pub fn check_name(name: &str) -> Result<(), ProjectError> {
    let unsafe_name = name.is_empty()
        || name.len() > 512
        || name.starts_with('/')
        || name.contains('\\')
        || name.contains(':')
        || name.chars().any(char::is_control)
        || name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if unsafe_name {
        Err(ProjectError::Archive(format!("unsafe entry name {name:?}")))
    } else {
        Ok(())
    }
}

/// The compressed bytes of the entry whose local header is at `offset`.
fn entry_data(bytes: &[u8], offset: usize, compressed: usize) -> Result<&[u8], ProjectError> {
    let mut r = Reader { bytes, at: offset };
    if r.u32()? != LOCAL {
        return Err(ProjectError::Archive("damaged entry header".into()));
    }
    r.skip(22)?;
    let (name_len, extra_len) = (r.u16()? as usize, r.u16()? as usize);
    r.skip(name_len + extra_len)?;
    r.take(compressed)
}

/// Offset of the end-of-central-directory record (searching back over a trailing comment).
fn find_end(bytes: &[u8]) -> Option<usize> {
    let last = bytes.len().checked_sub(22)?;
    let first = last.saturating_sub(0xFFFF);
    (first..=last)
        .rev()
        .find(|&i| bytes[i..i + 4] == END.to_le_bytes())
}

/// Little-endian reads that fail instead of running past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ProjectError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| ProjectError::Archive("the file is truncated".into()))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn skip(&mut self, n: usize) -> Result<(), ProjectError> {
        self.take(n).map(|_| ())
    }

    fn u16(&mut self) -> Result<u16, ProjectError> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, ProjectError> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}
