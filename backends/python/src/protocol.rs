//! The bridge's wire format, both ways on the worker's stdin and stdout:
//!
//! ```text
//! u32 little-endian n | n bytes of JSON header | the raw arrays, one after the other
//! ```
//!
//! The header is an object; its `arrays` entry lists `[name, dtype, shape]` for each array that
//! follows (`dtype` `"f32"` or `"u32"`, little-endian, row-major), so numpy reads each with
//! `frombuffer` and nothing is encoded as text. Requests carry an `op`; replies carry `ok`, and
//! `error` (the Python traceback) when it is `false`.
//!
//! A row step, the request sent every training step, has a compact form whose length word is
//! [`ROW_STEP`] (no header is 4 GiB), so that neither side builds or parses JSON per step:
//!
//! ```text
//! request: u32 ROW_STEP | f32 learning rate | u32 count | count × u32 row indices
//! reply:   u32 ROW_STEP | f32 loss | u32 norms (NO_NORMS when none are recorded) | norms × f32
//! ```
//!
//! A compact request that fails is answered with the ordinary JSON error reply.

use std::io::{self, Read, Write};

use serde_json::{Map, Value, json};

/// The length word of a message in the compact row-step form.
pub const ROW_STEP: u32 = u32::MAX;
/// A compact reply's norm count when the step recorded no gradient norms.
const NO_NORMS: u32 = u32::MAX;

/// An array to send, borrowed from the caller.
#[derive(Debug, Clone, Copy)]
pub enum ArrayRef<'a> {
    F32(&'a [f32]),
    U32(&'a [u32]),
}

/// An array received.
#[derive(Debug, Clone, PartialEq)]
pub enum Array {
    F32(Vec<f32>),
    U32(Vec<u32>),
}

/// A named array with its shape.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedArray {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: Array,
}

impl NamedArray {
    /// The values as `f32` (a `u32` array converted).
    pub fn into_f32(self) -> Vec<f32> {
        match self.data {
            Array::F32(values) => values,
            Array::U32(values) => values.into_iter().map(|v| v as f32).collect(),
        }
    }
}

/// A whole message: its header (without `arrays`) and its arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub header: Map<String, Value>,
    pub arrays: Vec<NamedArray>,
}

impl Message {
    /// Removes and returns the array called `name`.
    pub fn take(&mut self, name: &str) -> Option<NamedArray> {
        let index = self.arrays.iter().position(|a| a.name == name)?;
        Some(self.arrays.remove(index))
    }
}

/// Writes one message in a single `write_all` (into `buffer`, reused between messages).
pub fn write_message(
    out: &mut impl Write,
    buffer: &mut Vec<u8>,
    mut header: Map<String, Value>,
    arrays: &[(&str, &[usize], ArrayRef<'_>)],
) -> io::Result<()> {
    let listing: Vec<Value> = arrays
        .iter()
        .map(|(name, shape, data)| {
            let dtype = match data {
                ArrayRef::F32(_) => "f32",
                ArrayRef::U32(_) => "u32",
            };
            json!([name, dtype, shape])
        })
        .collect();
    header.insert("arrays".into(), Value::Array(listing));
    let text = serde_json::to_vec(&header).map_err(io::Error::other)?;
    let length = u32::try_from(text.len()).map_err(io::Error::other)?;
    buffer.clear();
    buffer.extend_from_slice(&length.to_le_bytes());
    buffer.extend_from_slice(&text);
    for (name, shape, data) in arrays {
        let len = match data {
            ArrayRef::F32(values) => values.len(),
            ArrayRef::U32(values) => values.len(),
        };
        if len != shape.iter().product::<usize>() {
            return Err(io::Error::other(format!(
                "array {name}: {len} values for shape {shape:?}"
            )));
        }
        match data {
            ArrayRef::F32(values) => values
                .iter()
                .for_each(|v| buffer.extend_from_slice(&v.to_le_bytes())),
            ArrayRef::U32(values) => values
                .iter()
                .for_each(|v| buffer.extend_from_slice(&v.to_le_bytes())),
        }
    }
    out.write_all(buffer)?;
    out.flush()
}

/// Writes one row step in the compact form, in a single `write_all`.
pub fn write_row_step(
    out: &mut impl Write,
    buffer: &mut Vec<u8>,
    learning_rate: f32,
    rows: &[u32],
) -> io::Result<()> {
    let count = u32::try_from(rows.len()).map_err(io::Error::other)?;
    buffer.clear();
    buffer.extend_from_slice(&ROW_STEP.to_le_bytes());
    buffer.extend_from_slice(&learning_rate.to_le_bytes());
    buffer.extend_from_slice(&count.to_le_bytes());
    rows.iter()
        .for_each(|row| buffer.extend_from_slice(&row.to_le_bytes()));
    out.write_all(buffer)?;
    out.flush()
}

fn read_u32(input: &mut impl Read) -> io::Result<u32> {
    let mut word = [0u8; 4];
    input.read_exact(&mut word)?;
    Ok(u32::from_le_bytes(word))
}

fn read_f32s(input: &mut impl Read, count: usize) -> io::Result<Vec<f32>> {
    let mut bytes = vec![0u8; count * 4];
    input.read_exact(&mut bytes)?;
    Ok(bytes
        .chunks_exact(4)
        .map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect())
}

/// The rest of a compact row-step reply, as the message its JSON form would be.
fn read_row_step_reply(input: &mut impl Read) -> io::Result<Message> {
    let loss = f32::from_bits(read_u32(input)?);
    let mut header = Map::new();
    header.insert("ok".into(), Value::Bool(true));
    let mut arrays = vec![NamedArray {
        name: "loss".into(),
        shape: vec![1],
        data: Array::F32(vec![loss]),
    }];
    let norms = read_u32(input)?;
    if norms != NO_NORMS {
        let count = norms as usize;
        arrays.push(NamedArray {
            name: "grad_norms".into(),
            shape: vec![count],
            data: Array::F32(read_f32s(input, count)?),
        });
    }
    Ok(Message { header, arrays })
}

/// Reads one message (a compact row-step reply as its JSON form would read).
pub fn read_message(input: &mut impl Read) -> io::Result<Message> {
    let length = read_u32(input)?;
    if length == ROW_STEP {
        return read_row_step_reply(input);
    }
    let mut text = vec![0u8; length as usize];
    input.read_exact(&mut text)?;
    let mut header: Map<String, Value> = serde_json::from_slice(&text)
        .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
    let listing = match header.remove("arrays") {
        Some(Value::Array(listing)) => listing,
        _ => Vec::new(),
    };
    let mut arrays = Vec::with_capacity(listing.len());
    let mut bytes = Vec::new();
    for entry in listing {
        let (name, dtype, shape): (String, String, Vec<usize>) = serde_json::from_value(entry)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error))?;
        let count: usize = shape.iter().product();
        bytes.resize(count * 4, 0);
        input.read_exact(&mut bytes)?;
        let words = bytes.chunks_exact(4).map(|w| [w[0], w[1], w[2], w[3]]);
        let data = match dtype.as_str() {
            "f32" => Array::F32(words.map(f32::from_le_bytes).collect()),
            "u32" => Array::U32(words.map(u32::from_le_bytes).collect()),
            other => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("array {name}: unknown dtype {other}"),
                ));
            }
        };
        arrays.push(NamedArray { name, shape, data });
    }
    Ok(Message { header, arrays })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips() {
        let mut header = Map::new();
        header.insert("op".into(), json!("train"));
        header.insert("lr".into(), json!(0.5));
        let x = [1.0f32, -2.5, 3.25, f32::NAN, 0.0, 7.0];
        let labels = [4u32, 0];
        let mut wire = Vec::new();
        let arrays = [
            ("x", &[2usize, 3][..], ArrayRef::F32(&x)),
            ("labels", &[2usize][..], ArrayRef::U32(&labels)),
        ];
        write_message(&mut wire, &mut Vec::new(), header.clone(), &arrays).unwrap();
        let mut message = read_message(&mut wire.as_slice()).unwrap();
        assert_eq!(message.header, header);
        let labels_back = message.take("labels").unwrap();
        assert_eq!(labels_back.data, Array::U32(vec![4, 0]));
        let x_back = message.take("x").unwrap();
        assert_eq!(x_back.shape, vec![2, 3]);
        let values = x_back.into_f32();
        assert!(values[3].is_nan());
        assert_eq!(values[..3], x[..3]);
    }

    /// A compact reply as the worker writes it (`ROW_STEP_REPLY` in worker.py).
    fn row_step_reply(loss: f32, norms: Option<&[f32]>) -> Vec<u8> {
        let mut wire = ROW_STEP.to_le_bytes().to_vec();
        wire.extend_from_slice(&loss.to_le_bytes());
        let count = norms.map_or(NO_NORMS, |n| n.len() as u32);
        wire.extend_from_slice(&count.to_le_bytes());
        norms
            .unwrap_or_default()
            .iter()
            .for_each(|v| wire.extend_from_slice(&v.to_le_bytes()));
        wire
    }

    #[test]
    fn a_compact_row_step_is_its_length_word_rate_count_and_rows() {
        let mut wire = Vec::new();
        write_row_step(&mut wire, &mut Vec::new(), 0.25, &[7, 1, 65_536]).unwrap();
        let words: Vec<u32> = wire
            .chunks_exact(4)
            .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
            .collect();
        assert_eq!(words, [ROW_STEP, 0.25f32.to_bits(), 3, 7, 1, 65_536]);
    }

    #[test]
    fn a_compact_reply_reads_as_its_json_form_would() {
        let mut wire = row_step_reply(0.5, Some(&[1.5, 2.5]));
        wire.extend(row_step_reply(f32::NAN, None));
        wire.extend(row_step_reply(3.0, Some(&[])));
        let mut input = wire.as_slice();

        let mut first = read_message(&mut input).unwrap();
        assert_eq!(first.header.get("ok"), Some(&Value::Bool(true)));
        assert_eq!(first.take("loss").unwrap().into_f32(), [0.5]);
        assert_eq!(first.take("grad_norms").unwrap().into_f32(), [1.5, 2.5]);

        let mut second = read_message(&mut input).unwrap();
        assert!(second.take("loss").unwrap().into_f32()[0].is_nan());
        assert!(second.take("grad_norms").is_none());

        let mut third = read_message(&mut input).unwrap();
        assert_eq!(third.take("grad_norms").unwrap().shape, [0]);
        assert!(input.is_empty());
    }

    #[test]
    fn a_shape_that_does_not_fit_its_values_is_an_error() {
        let arrays = [("x", &[4usize][..], ArrayRef::F32(&[1.0, 2.0]))];
        let result = write_message(&mut Vec::new(), &mut Vec::new(), Map::new(), &arrays);
        assert!(result.is_err());
    }
}
