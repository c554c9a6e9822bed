//! The machine and build a run happened on, written as `environment.json` beside its results so
//! that numbers are never separated from the conditions they were measured in.

use serde::Serialize;

use crate::clock;
use crate::registry;

#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub nnbench_version: &'static str,
    pub started_at: String,
    pub cpu_model: String,
    pub cores: usize,
    /// The CPU's vector extensions that matrix kernels use (`avx2 fma avx512f`…).
    pub cpu_simd: String,
    /// Which kernels the `gemm` crate (native's products, and candle's on the CPU) was built
    /// with: its AVX-512 kernels need its `x86-v4` feature, which this build leaves off so that
    /// candle is built as its users get it.
    pub gemm_kernels: String,
    /// The thread-count variables as the frameworks saw them (`main` sets candle's: see
    /// `nnbench_candle::threads`).
    pub thread_env: String,
    /// Intra-op threads the scenario asked every backend for.
    pub threads: usize,
    /// Units run side by side (`--jobs`) when the run started: above 1, every epoch time was
    /// measured sharing the machine with other units of the run (each CSV row says under how
    /// many in its `jobs` column; a resumed run may have used another count).
    pub jobs: usize,
    pub os: String,
    pub rustc: &'static str,
    pub build_profile: &'static str,
    pub opt_level: &'static str,
    pub git_commit: &'static str,
    pub allocator: &'static str,
    /// `backend: framework version` for every built backend.
    pub frameworks: Vec<String>,
    pub hostname: String,
}

impl Environment {
    pub fn capture(threads: usize, jobs: usize) -> Environment {
        Environment {
            nnbench_version: env!("CARGO_PKG_VERSION"),
            started_at: clock::iso8601(),
            cpu_model: cpu_model(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu_simd: cpu_simd(),
            gemm_kernels: GEMM_KERNELS.to_string(),
            thread_env: thread_env(),
            threads,
            jobs,
            os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            rustc: env!("NNBENCH_RUSTC_VERSION"),
            build_profile: env!("NNBENCH_PROFILE"),
            opt_level: env!("NNBENCH_OPT_LEVEL"),
            git_commit: env!("NNBENCH_GIT_COMMIT"),
            allocator: ALLOCATOR_NAME,
            frameworks: registry::built()
                .iter()
                .map(|backend| format!("{}: {}", backend.name(), backend.framework_version()))
                .collect(),
            hostname: std::fs::read_to_string("/etc/hostname")
                .map(|name| name.trim().to_string())
                .unwrap_or_default(),
        }
    }

    /// One line for terminals and reports.
    pub fn one_line(&self) -> String {
        let jobs = if self.jobs > 1 {
            format!(", {} units side by side", self.jobs)
        } else {
            String::new()
        };
        format!(
            "{} ({} cores), {} thread(s){jobs}, {} build (opt-level {}), {}, commit {}",
            self.cpu_model,
            self.cores,
            self.threads,
            self.build_profile,
            self.opt_level,
            self.rustc,
            self.git_commit
        )
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, model)| model.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The vector extensions in /proc/cpuinfo's first `flags` line that matter to matrix
/// kernels, in a fixed order.
pub fn cpu_simd() -> String {
    const KNOWN: [&str; 6] = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_vnni"];
    let flags = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("flags") || line.starts_with("Features"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, flags)| {
                    flags
                        .split_whitespace()
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
        })
        .unwrap_or_default();
    KNOWN
        .iter()
        .filter(|known| flags.iter().any(|flag| flag == *known))
        .copied()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `NAME=value` of each thread-count variable that is set.
fn thread_env() -> String {
    ["CANDLE_NUM_THREADS", "RAYON_NUM_THREADS", "OMP_NUM_THREADS"]
        .iter()
        .filter_map(|name| {
            std::env::var(name)
                .ok()
                .map(|value| format!("{name}={value}"))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// See [`Environment::gemm_kernels`].
pub const GEMM_KERNELS: &str = if cfg!(target_arch = "x86_64") {
    "gemm 0.19 without x86-v4: AVX2/FMA kernels at most (AVX-512 unused even where present)"
} else {
    "gemm 0.19 with its default features"
};

/// The 1-minute load average when the run started (Linux), to tell a quiet machine from a
/// shared one.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The global allocator installed by `main.rs` (tests that call the library directly run on the
/// system allocator).
pub const ALLOCATOR_NAME: &str = "mimalloc";
