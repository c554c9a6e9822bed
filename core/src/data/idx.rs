//! The IDX format of MNIST and Fashion-MNIST: a big-endian header (magic number, then one
//! `u32` per dimension) followed by the values, here always unsigned bytes. Files may be
//! gzip-compressed; that is recognised by the gzip magic bytes, not by the file name.
//!
//! Every check compares the header with the bytes actually present, so a lying or damaged
//! file gives a [`DataError::Idx`] naming the problem instead of a panic or a huge allocation.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;

use super::DataError;

/// Magic number of an IDX file of unsigned bytes with one dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;
/// Magic number of an IDX file of unsigned bytes with three dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;

/// No IDX file nnbench reads comes near this (MNIST's largest is 47 MB); a file or a gzip
/// stream that would exceed it is refused before it can exhaust memory.
pub const MAX_IDX_BYTES: u64 = 1 << 30;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Images as stored: `count` images of `rows × cols` bytes, row-major, one after another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxImages {
    pub count: usize,
    pub rows: usize,
    pub cols: usize,
    pub pixels: Vec<u8>,
}

impl IdxImages {
    /// Bytes per image.
    pub fn features(&self) -> usize {
        self.rows * self.cols
    }
}

fn idx_error(path: &Path, message: impl Into<String>) -> DataError {
    DataError::Idx {
        path: path.display().to_string(),
        message: message.into(),
    }
}

fn io_error(path: &Path, source: std::io::Error) -> DataError {
    DataError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The file's content, decompressed when it starts with the gzip magic bytes.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>, DataError> {
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    let length = file.metadata().map_err(|e| io_error(path, e))?.len();
    if length > MAX_IDX_BYTES {
        return Err(idx_error(
            path,
            format!("file is {length} bytes, more than the {MAX_IDX_BYTES} an IDX file may have"),
        ));
    }
    let mut raw = Vec::with_capacity(length as usize);
    file.read_to_end(&mut raw).map_err(|e| io_error(path, e))?;
    decode(raw, path)
}

/// `raw` itself, or its gzip decompression when it starts with the gzip magic bytes.
/// `path` only names the source in errors.
pub fn decode(raw: Vec<u8>, path: &Path) -> Result<Vec<u8>, DataError> {
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    gunzip(&raw, path)
}

/// Decompresses a whole gzip stream (all its members), refusing output beyond
/// [`MAX_IDX_BYTES`] and reporting a damaged or truncated stream.
pub fn gunzip(compressed: &[u8], path: &Path) -> Result<Vec<u8>, DataError> {
    // The trailer's ISIZE (size mod 2^32) is only a hint, so it is capped before use.
    let hint = compressed
        .len()
        .checked_sub(4)
        .map(|at| u32::from_le_bytes(compressed[at..].try_into().unwrap()) as usize)
        .unwrap_or(0)
        .min(MAX_IDX_BYTES as usize)
        .min(compressed.len().saturating_mul(64));
    let mut out = Vec::with_capacity(hint);
    let mut decoder = MultiGzDecoder::new(compressed).take(MAX_IDX_BYTES + 1);
    decoder.read_to_end(&mut out).map_err(|e| {
        let what = if e.kind() == std::io::ErrorKind::UnexpectedEof {
            "the gzip stream is truncated".to_string()
        } else {
            format!("not a valid gzip stream ({e})")
        };
        idx_error(path, what)
    })?;
    if out.len() as u64 > MAX_IDX_BYTES {
        return Err(idx_error(
            path,
            format!("decompresses to more than {MAX_IDX_BYTES} bytes, too large for an IDX file"),
        ));
    }
    Ok(out)
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn parse_header(bytes: &[u8], expected_magic: u32, path: &Path) -> Result<Vec<usize>, DataError> {
    check_header(bytes, bytes.len() as u64, expected_magic, path)
}

/// Checks a header against `expected_magic` and a content of `total_len` bytes against the
/// dimensions it declares, and returns the dimensions. `bytes` starts the content and holds
/// at least the header where the content does.
fn check_header(
    bytes: &[u8],
    total_len: u64,
    expected_magic: u32,
    path: &Path,
) -> Result<Vec<usize>, DataError> {
    let kind = if expected_magic == IMAGES_MAGIC {
        "images"
    } else {
        "labels"
    };
    let dims = (expected_magic & 0xff) as usize;
    let header_len = 4 + 4 * dims;
    if bytes.len() < 4 {
        return Err(idx_error(
            path,
            format!(
                "only {total_len} bytes, too short for an IDX header (is the file truncated or empty?)"
            ),
        ));
    }
    let magic = be_u32(bytes, 0);
    if magic != expected_magic {
        return Err(idx_error(
            path,
            format!(
                "wrong magic number 0x{magic:08x}: an IDX file of {kind} starts with 0x{expected_magic:08x}"
            ),
        ));
    }
    // `total_len` may come from a gzip trailer, which can disagree with the bytes at hand.
    if bytes.len() < header_len || total_len < header_len as u64 {
        return Err(idx_error(
            path,
            format!(
                "truncated header: {total_len} bytes where the {kind} header needs {header_len}"
            ),
        ));
    }
    let shape: Vec<usize> = (0..dims)
        .map(|d| be_u32(bytes, 4 + 4 * d) as usize)
        .collect();
    let data_len = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n as u64 <= MAX_IDX_BYTES);
    let shape_text = shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("×");
    let Some(data_len) = data_len else {
        return Err(idx_error(
            path,
            format!("header declares {shape_text} values, far more than an IDX file may hold"),
        ));
    };
    let actual = total_len - header_len as u64;
    let data_len = data_len as u64;
    if actual < data_len {
        return Err(idx_error(
            path,
            format!(
                "truncated: the header declares {shape_text} {kind} ({data_len} bytes of data) \
                 but the file holds only {actual}"
            ),
        ));
    }
    if actual > data_len {
        return Err(idx_error(
            path,
            format!(
                "{} unexpected bytes after the {data_len} bytes of data the header declares \
                 ({shape_text} {kind})",
                actual - data_len
            ),
        ));
    }
    Ok(shape)
}

/// Parses IDX images (magic 0x00000803) held in memory; `path` only names them in errors.
pub fn parse_images(mut bytes: Vec<u8>, path: &Path) -> Result<IdxImages, DataError> {
    let shape = parse_header(&bytes, IMAGES_MAGIC, path)?;
    let (count, rows, cols) = (shape[0], shape[1], shape[2]);
    if count > 0 && (rows == 0 || cols == 0) {
        return Err(idx_error(
            path,
            format!("images of {rows}×{cols} pixels have no pixel"),
        ));
    }
    // Dropping the 16 header bytes in place avoids copying the pixels.
    bytes.drain(..16);
    Ok(IdxImages {
        count,
        rows,
        cols,
        pixels: bytes,
    })
}

/// Parses IDX labels (magic 0x00000801) held in memory; `path` only names them in errors.
pub fn parse_labels(mut bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>, DataError> {
    parse_header(&bytes, LABELS_MAGIC, path)?;
    bytes.drain(..8);
    Ok(bytes)
}

/// Reads an IDX image file, raw or gzip-compressed.
pub fn read_images(path: &Path) -> Result<IdxImages, DataError> {
    parse_images(read_bytes(path)?, path)
}

/// Reads an IDX label file, raw or gzip-compressed.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, DataError> {
    parse_labels(read_bytes(path)?, path)
}

/// Reads images and their labels and checks that they are as many.
pub fn read_pair(images: &Path, labels: &Path) -> Result<(IdxImages, Vec<u8>), DataError> {
    let image_set = read_images(images)?;
    let label_set = read_labels(labels)?;
    if image_set.count != label_set.len() {
        return Err(idx_error(
            images,
            format!(
                "holds {} images but its labels {} hold {} labels",
                image_set.count,
                labels.display(),
                label_set.len()
            ),
        ));
    }
    Ok((image_set, label_set))
}

/// Checks the header of an IDX file against the file's size without reading the data: the
/// cheap check of a file already in the data directory. Gzip files are checked in full.
pub fn check_file(path: &Path, expected_magic: u32) -> Result<(), DataError> {
    let mut file = File::open(path).map_err(|e| io_error(path, e))?;
    let length = file.metadata().map_err(|e| io_error(path, e))?.len();
    let mut head = Vec::with_capacity(16);
    (&mut file)
        .take(16)
        .read_to_end(&mut head)
        .map_err(|e| io_error(path, e))?;
    if head.starts_with(&GZIP_MAGIC) {
        drop(file);
        if gzip_header_fits(path, length, expected_magic).unwrap_or(false) {
            return Ok(());
        }
        // The cheap view disagreed (or a multi-member stream hides the size): decide on the
        // whole content, which also gives the precise message.
        let bytes = read_bytes(path)?;
        return parse_header(&bytes, expected_magic, path).map(|_| ());
    }
    check_header(&head, length, expected_magic, path).map(|_| ())
}

/// Whether a gzip file's IDX header agrees with the size its trailer records (ISIZE, exact
/// below 4 GiB for a single-member stream), decompressing only the header.
fn gzip_header_fits(path: &Path, length: u64, expected_magic: u32) -> std::io::Result<bool> {
    use std::io::{Seek, SeekFrom};
    let mut file = File::open(path)?;
    if length < 4 {
        return Ok(false);
    }
    file.seek(SeekFrom::End(-4))?;
    let mut trailer = [0u8; 4];
    file.read_exact(&mut trailer)?;
    let size = u64::from(u32::from_le_bytes(trailer));
    file.seek(SeekFrom::Start(0))?;
    let mut head = Vec::with_capacity(16);
    MultiGzDecoder::new(std::io::BufReader::new(file))
        .take(16)
        .read_to_end(&mut head)?;
    Ok(check_header(&head, size, expected_magic, path).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels_file(labels: &[u8]) -> Vec<u8> {
        let mut bytes = LABELS_MAGIC.to_be_bytes().to_vec();
        bytes.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        bytes.extend_from_slice(labels);
        bytes
    }

    #[test]
    fn parses_labels_and_rejects_trailing_bytes() {
        let path = Path::new("mem");
        assert_eq!(
            parse_labels(labels_file(&[5, 0, 4]), path).unwrap(),
            vec![5, 0, 4]
        );
        let mut long = labels_file(&[5, 0, 4]);
        long.push(1);
        let err = parse_labels(long, path).unwrap_err().to_string();
        assert!(err.contains("1 unexpected bytes"), "{err}");
    }

    #[test]
    fn lying_header_is_refused_without_allocating() {
        let mut bytes = IMAGES_MAGIC.to_be_bytes().to_vec();
        for d in [u32::MAX, u32::MAX, u32::MAX] {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        let err = parse_images(bytes, Path::new("mem"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("far more than"), "{err}");
    }

    #[test]
    fn tiny_inputs_are_errors() {
        for len in 0..16 {
            let mut bytes = IMAGES_MAGIC.to_be_bytes().to_vec();
            bytes.resize(16, 0);
            bytes.truncate(len);
            assert!(parse_images(bytes, Path::new("mem")).is_err());
        }
    }
}
