//! Seeded fuzzing of the three parsers that read outside input: the scenario parser, the IDX
//! reader and the CSV reader of `--resume` / `nnbench merge`. None may panic, whatever it is
//! given.
//!
//! Each test first replays its corpus (`tests/corpus/{scenario,idx,csv}/`: files named `ok_*`
//! must be accepted, `bad_*` refused), then generates inputs from a fixed seed: random bytes,
//! and the corpus (plus the bundled scenarios and `core/tests/bad_scenarios`) mutated byte by
//! byte, line by line and token by token. It prints how many inputs it tried. The seed is
//! fixed so a failure reproduces; set `NNBENCH_FUZZ_SEED` to explore others and
//! `NNBENCH_FUZZ_SCALE` (default 1) to try more inputs. An input that panics is saved under
//! the system temporary folder and named in the failure: add it to the corpus once fixed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use nnbench::run_folder::read::{parse_table, unit_record};
use nnbench::run_folder::{BoundaryRow, EpochRow, RunFolder, UnitRow, UnitTable};
use nnbench_core::data::idx;
use nnbench_core::spec::parse::{self, LoadOptions};

// ---------------------------------------------------------------------------------------
// A small seeded generator and mutator
// ---------------------------------------------------------------------------------------

struct Gen(u64);

impl Gen {
    fn new(stream: u64) -> Gen {
        let seed = std::env::var("NNBENCH_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x5eed_2026);
        Gen(seed ^ stream.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    /// splitmix64
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.below(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// One to four byte-level edits: flip, set to an interesting byte, insert, delete,
    /// duplicate a range, truncate, or splice in part of `other`.
    fn mutate_bytes(&mut self, input: &mut Vec<u8>, other: &[u8]) {
        const INTERESTING: [u8; 12] = [
            0, 1, 0x7f, 0x80, 0xff, b'"', b'\n', b'=', b'[', b']', b',', b'\\',
        ];
        for _ in 0..1 + self.below(4) {
            let len = input.len();
            match self.below(7) {
                0 if len > 0 => {
                    let at = self.below(len);
                    input[at] ^= 1 << self.below(8);
                }
                1 if len > 0 => {
                    let at = self.below(len);
                    input[at] = *self.pick(&INTERESTING);
                }
                2 => {
                    let at = self.below(len + 1);
                    let byte = if self.chance(2) {
                        *self.pick(&INTERESTING)
                    } else {
                        self.next() as u8
                    };
                    input.insert(at, byte);
                }
                3 if len > 0 => {
                    let at = self.below(len);
                    let end = (at + 1 + self.below(16)).min(len);
                    input.drain(at..end);
                }
                4 if len > 0 => {
                    let at = self.below(len);
                    let end = (at + 1 + self.below(64)).min(len);
                    let copy = input[at..end].to_vec();
                    let to = self.below(len + 1);
                    input.splice(to..to, copy);
                }
                5 => input.truncate(self.below(len + 1)),
                _ if !other.is_empty() => {
                    let at = self.below(other.len());
                    let end = (at + 1 + self.below(128)).min(other.len());
                    let to = self.below(len + 1);
                    input.splice(to..to, other[at..end].iter().copied());
                }
                _ => {}
            }
        }
    }

    /// Line-level edits: delete, duplicate, swap lines, or take a line of `other`.
    fn mutate_lines(&mut self, text: &str, other: &str) -> String {
        let mut lines: Vec<&str> = text.lines().collect();
        let others: Vec<&str> = other.lines().collect();
        for _ in 0..1 + self.below(3) {
            let len = lines.len();
            match self.below(4) {
                0 if len > 0 => {
                    lines.remove(self.below(len));
                }
                1 if len > 0 => {
                    let line = lines[self.below(len)];
                    lines.insert(self.below(len + 1), line);
                }
                2 if len > 1 => {
                    let (a, b) = (self.below(len), self.below(len));
                    lines.swap(a, b);
                }
                _ if !others.is_empty() => {
                    let line = others[self.below(others.len())];
                    lines.insert(self.below(len + 1), line);
                }
                _ => {}
            }
        }
        let mut out = lines.join("\n");
        if !self.chance(8) {
            out.push('\n');
        }
        out
    }

    /// Replaces one token (a number, a quoted string or a bare word) with a value from
    /// `values`.
    fn mutate_token(&mut self, text: &str, values: &[&str]) -> String {
        let bytes = text.as_bytes();
        let mut starts = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'"' || b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
                let start = i;
                if b == b'"' {
                    i += 1;
                    while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                        i += 1;
                    }
                    i = (i + 1).min(bytes.len());
                } else {
                    while i < bytes.len()
                        && (bytes[i].is_ascii_alphanumeric() || b"-._+".contains(&bytes[i]))
                    {
                        i += 1;
                    }
                }
                starts.push((start, i));
            } else {
                i += 1;
            }
        }
        if starts.is_empty() {
            return text.to_string();
        }
        let (start, end) = *self.pick(&starts);
        let value = *self.pick(values);
        format!("{}{}{}", &text[..start], value, &text[end..])
    }
}

/// Runs `check` on `input`, turning a panic into a test failure that saves the input.
fn no_panic<T>(what: &str, input: &[u8], check: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(check)) {
        Ok(value) => value,
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let saved =
                std::env::temp_dir().join(format!("nnbench-fuzz-{what}-{}", std::process::id()));
            let _ = std::fs::write(&saved, input);
            panic!(
                "the {what} parser panicked ({message}) on the input saved in {}:\n{}",
                saved.display(),
                String::from_utf8_lossy(&input[..input.len().min(2000)])
            );
        }
    }
}

fn scale() -> usize {
    std::env::var("NNBENCH_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
}

fn corpus(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect()
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn report(what: &str, tried: usize, accepted: usize, started: Instant) {
    println!(
        "fuzz {what}: {tried} inputs tried ({accepted} accepted, {} refused) in {:.2} s, no panic",
        tried - accepted,
        started.elapsed().as_secs_f64()
    );
}

// ---------------------------------------------------------------------------------------
// Scenario parser
// ---------------------------------------------------------------------------------------

const TOML_VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "0.0",
    "-0.0",
    "1e308",
    "-1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "true",
    "false",
    "\"\"",
    "\"full\"",
    "\"native\"",
    "\"xor\"",
    "\"mnist\"",
    "\"blobs\"",
    "\"relu\"",
    "\"dense\"",
    "\"adam\"",
    "\"step\"",
    "\"softmax_cross_entropy\"",
    "[]",
    "[[]]",
    "{}",
    "[1, \"a\"]",
    "{ type = \"dense\" }",
    "{ scheme = \"uniform\", limit = -1 }",
    "[{ type = \"dense\", units = 0, activation = \"tanh\" }]",
    "1979-05-27T07:32:00Z",
    "\"\\u0000\"",
    "'''x'''",
    "=",
    "[",
    "]",
    "\"",
    "unit_time_limit",
    "training.epochs",
    "sweep",
    "quick",
    "[sweep]",
    "[quick]",
    "[training]",
    "[[model.layers]]",
];

const OVERRIDE_KEYS: &[&str] = &[
    "training.epochs",
    "training.seeds",
    "optimizer.learning_rate",
    "model.layers[0].units",
    "model.layers[9].units",
    "backends",
    "threads",
    "unit_time_limit",
    "dataset.name",
    "x",
    "training..epochs",
    "model.layers[].units",
    "model.layers[-1]",
    "",
    "a.b.c.d",
];

fn scenario_seeds() -> Vec<(String, String)> {
    let mut seeds = Vec::new();
    for dir in [
        "scenarios",
        "core/tests/bad_scenarios",
        "tests/corpus/scenario",
    ] {
        for (name, bytes) in corpus(&root().join(dir)) {
            if name.ends_with(".toml") {
                seeds.push((name, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
    }
    seeds
}

fn parse_scenario(text: &str, options: &LoadOptions) -> bool {
    no_panic("scenario", text.as_bytes(), || {
        parse::parse_scenario("fuzz", "fuzz.toml", text, options).is_ok()
    })
}

#[test]
fn scenario_parser_never_panics() {
    let started = Instant::now();
    // The corpus: ok_* parse, bad_* are refused.
    for (name, bytes) in corpus(&root().join("tests/corpus/scenario")) {
        let text = String::from_utf8_lossy(&bytes);
        let ok = parse_scenario(&text, &LoadOptions::default());
        assert_eq!(ok, name.starts_with("ok_"), "tests/corpus/scenario/{name}");
        parse_scenario(
            &text,
            &LoadOptions {
                quick: true,
                overrides: Vec::new(),
            },
        );
    }
    let seeds = scenario_seeds();
    let mut g = Gen::new(1);
    let (mut tried, mut accepted) = (0usize, 0usize);
    let target = 30_000 * scale();
    while tried < target {
        let (_, base) = g.pick(&seeds);
        let (_, other) = g.pick(&seeds);
        let text = match g.below(10) {
            0 => {
                let bytes = g.bytes(200);
                String::from_utf8_lossy(&bytes).into_owned()
            }
            1..=3 => {
                let mut bytes = base.as_bytes().to_vec();
                g.mutate_bytes(&mut bytes, other.as_bytes());
                String::from_utf8_lossy(&bytes).into_owned()
            }
            4 | 5 => g.mutate_lines(base, other),
            _ => {
                let mut text = base.clone();
                for _ in 0..1 + g.below(3) {
                    text = g.mutate_token(&text, TOML_VALUES);
                }
                text
            }
        };
        let mut options = LoadOptions {
            quick: g.chance(4),
            overrides: Vec::new(),
        };
        if g.chance(5) {
            let assignment = format!("{}={}", g.pick(OVERRIDE_KEYS), g.pick(TOML_VALUES));
            let parsed = no_panic("override", assignment.as_bytes(), || {
                parse::parse_override(&assignment)
            });
            tried += 1;
            if let Ok(pair) = parsed {
                accepted += 1;
                options.overrides.push(pair);
            }
        }
        tried += 1;
        if parse_scenario(&text, &options) {
            accepted += 1;
        }
    }
    report("scenario", tried, accepted, started);
    assert!(
        accepted > 0,
        "no mutated scenario parsed: the mutations are too coarse"
    );
}

// ---------------------------------------------------------------------------------------
// IDX reader
// ---------------------------------------------------------------------------------------

/// Which of the IDX entry points accept `bytes`: (images, labels).
fn parse_idx(bytes: &[u8]) -> (bool, bool) {
    no_panic("idx", bytes, || {
        let path = Path::new("fuzz.idx");
        let decoded = idx::decode(bytes.to_vec(), path);
        match decoded {
            Ok(raw) => (
                idx::parse_images(raw.clone(), path).is_ok(),
                idx::parse_labels(raw, path).is_ok(),
            ),
            Err(_) => (false, false),
        }
    })
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn idx_reader_never_panics() {
    let started = Instant::now();
    let dir = root().join("tests/corpus/idx");
    let seeds = corpus(&dir);
    for (name, bytes) in &seeds {
        let (images, labels) = parse_idx(bytes);
        let accepted = if name.contains("images") {
            images
        } else {
            labels
        };
        assert_eq!(accepted, name.starts_with("ok_"), "tests/corpus/idx/{name}");
        // The file readers too, including the cheap header check of the data folder.
        let path = dir.join(name);
        let read = no_panic("idx file", bytes, || {
            let magic = if name.contains("images") {
                idx::IMAGES_MAGIC
            } else {
                idx::LABELS_MAGIC
            };
            let checked = idx::check_file(&path, magic).is_ok();
            let read = if name.contains("images") {
                idx::read_images(&path).is_ok()
            } else {
                idx::read_labels(&path).is_ok()
            };
            // The cheap check looks at the header and the size only: it may pass a file the
            // full read refuses (images of 0 columns), never the other way round.
            assert!(checked || !read, "check_file refuses {name}, which reads");
            read
        });
        assert_eq!(read, name.starts_with("ok_"), "tests/corpus/idx/{name}");
    }
    let scratch = tempfile::tempdir().unwrap();
    let mut g = Gen::new(2);
    let (mut tried, mut accepted) = (0usize, 0usize);
    let target = 40_000 * scale();
    const DIMS: [u32; 9] = [0, 1, 2, 3, 28, 255, 65_536, 0x7fff_ffff, u32::MAX];
    while tried < target {
        let mut bytes = match g.below(4) {
            0 => g.bytes(64),
            1 => {
                // A header of plausible or lying dimensions, then a body near the size it
                // declares.
                let images = g.chance(2);
                let magic = match g.below(6) {
                    0 => g.next() as u32,
                    1 => 0x0000_0800 | g.below(256) as u32,
                    _ if images => idx::IMAGES_MAGIC,
                    _ => idx::LABELS_MAGIC,
                };
                let mut bytes = magic.to_be_bytes().to_vec();
                let dims = if images { 3 } else { 1 };
                let mut size = 1usize;
                for _ in 0..dims {
                    let d = if g.chance(3) {
                        *g.pick(&DIMS)
                    } else {
                        g.below(6) as u32
                    };
                    size = size.saturating_mul(d as usize);
                    bytes.extend_from_slice(&d.to_be_bytes());
                }
                let body = size.min(512) as isize + g.below(5) as isize - 2;
                for _ in 0..body.max(0) {
                    bytes.push(g.next() as u8);
                }
                bytes
            }
            _ => {
                let (_, base) = g.pick(&seeds);
                let (_, other) = g.pick(&seeds);
                let mut bytes = base.clone();
                g.mutate_bytes(&mut bytes, other);
                bytes
            }
        };
        if g.chance(8) {
            bytes = gzip(&bytes);
            if g.chance(2) {
                let (_, other) = g.pick(&seeds);
                g.mutate_bytes(&mut bytes, other);
            }
        }
        tried += 1;
        let (images, labels) = parse_idx(&bytes);
        if images || labels {
            accepted += 1;
        }
        if g.chance(50) {
            // Now and then through a file, as the data folder is read.
            let path = scratch.path().join("fuzz.idx");
            std::fs::write(&path, &bytes).unwrap();
            no_panic("idx file", &bytes, || {
                let _ = idx::check_file(&path, idx::IMAGES_MAGIC);
                let _ = idx::check_file(&path, idx::LABELS_MAGIC);
                let _ = idx::read_images(&path);
            });
        }
    }
    report("idx", tried, accepted, started);
    assert!(accepted > 0);
}

// ---------------------------------------------------------------------------------------
// CSV reader (resume and merge)
// ---------------------------------------------------------------------------------------

/// Parses `bytes` as units.csv and as epochs.csv, and rebuilds the units it can; true when
/// either parses.
fn parse_csv(bytes: &[u8]) -> bool {
    no_panic("csv", bytes, || {
        let units = parse_table::<UnitRow>(bytes, Path::new("units.csv"));
        let epochs = parse_table::<EpochRow>(bytes, Path::new("epochs.csv"));
        if let Ok(units) = &units {
            let epoch_rows: Vec<EpochRow> = epochs.clone().unwrap_or_default();
            for unit in units {
                let mine: Vec<&EpochRow> = epoch_rows
                    .iter()
                    .filter(|r| r.key() == unit.key())
                    .collect();
                let _ = unit_record(unit, &mine, Path::new("fuzz"));
                let _ = unit_record(unit, &[], Path::new("fuzz"));
            }
        }
        let any = parse_table::<BoundaryRow>(bytes, Path::new("boundary.csv"));
        units.is_ok() || epochs.is_ok() || any.is_ok()
    })
}

const CSV_VALUES: &[&str] = &[
    "",
    "0",
    "-1",
    "1e999",
    "NaN",
    "inf",
    "-inf",
    "18446744073709551616",
    "true",
    "false",
    "ok",
    "failed",
    "timeout",
    "\"a,b\"",
    "\"x\"\"y\"",
    "\"\n\"",
    "\"",
    "é",
    "base",
    "native",
];

#[test]
fn csv_reader_never_panics() {
    let started = Instant::now();
    let seeds = corpus(&root().join("tests/corpus/csv"));
    for (name, bytes) in &seeds {
        assert_eq!(
            parse_csv(bytes),
            name.starts_with("ok_"),
            "tests/corpus/csv/{name}"
        );
    }
    let texts: Vec<String> = seeds
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    let mut g = Gen::new(3);
    let (mut tried, mut accepted) = (0usize, 0usize);
    let target = 40_000 * scale();
    while tried < target {
        let (_, base) = g.pick(&seeds);
        let (_, other) = g.pick(&seeds);
        let bytes = match g.below(6) {
            0 => g.bytes(200),
            1 | 2 => {
                let mut bytes = base.clone();
                g.mutate_bytes(&mut bytes, other);
                bytes
            }
            3 => {
                let (a, b) = (g.pick(&texts).clone(), g.pick(&texts).clone());
                g.mutate_lines(&a, &b).into_bytes()
            }
            _ => {
                let mut text = g.pick(&texts).clone();
                for _ in 0..1 + g.below(3) {
                    text = g.mutate_token(&text, CSV_VALUES);
                }
                text.into_bytes()
            }
        };
        tried += 1;
        if parse_csv(&bytes) {
            accepted += 1;
        }
    }
    report("csv", tried, accepted, started);
    assert!(accepted > 0);

    // A whole run folder whose files are damaged is an error, never a panic.
    let dir = tempfile::tempdir().unwrap();
    let units = seeds
        .iter()
        .find(|(n, _)| n == "ok_units.csv")
        .map(|(_, b)| b.clone())
        .unwrap();
    let epochs = seeds
        .iter()
        .find(|(n, _)| n == "ok_epochs.csv")
        .map(|(_, b)| b.clone())
        .unwrap();
    std::fs::write(dir.path().join("scenario.toml"), "").unwrap();
    std::fs::write(
        dir.path().join("scenario.resolved.json"),
        r#"{"variants":[{"name":"base","run":{"backends":["native"],"training":{"seeds":[0,1]}}}]}"#,
    )
    .unwrap();
    for round in 0..200 {
        let mut u = units.clone();
        let mut e = epochs.clone();
        g.mutate_bytes(&mut u, &epochs);
        if round % 2 == 0 {
            g.mutate_bytes(&mut e, &units);
        }
        std::fs::write(dir.path().join("units.csv"), &u).unwrap();
        std::fs::write(dir.path().join("epochs.csv"), &e).unwrap();
        no_panic("run folder", &u, || {
            if let Ok(folder) = RunFolder::read(dir.path()) {
                let _ = folder.records();
            }
        });
    }
}
