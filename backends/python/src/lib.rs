//! nnbench-python: the Python frameworks of the course (PyTorch, JAX, Keras on TensorFlow) as
//! nnbench backends, through one bridge.
//!
//! Each unit runs in a child process of its own, `python -m nnbench_peers.worker <framework>`
//! from the project's `.venv-peers/` (made by `scripts/setup-python-peers.sh`; `$NNBENCH_PYTHON`
//! names another interpreter). The harness keeps everything it owns on the Rust side; the
//! worker holds the framework's model and optimizer, and per step only the batch crosses, as
//! raw little-endian arrays behind a small JSON header ([`protocol`]). The Python side of each
//! adapter is `py/nnbench_peers/<module>.py`, written as a user of that framework writes it;
//! its capability table is `py/nnbench_peers/capabilities/<framework>.toml` ([`capabilities`]).
//!
//! A Python exception, a missing module or a crashed interpreter fails the unit with the
//! Python error's last line as the reason ([`worker`]); a missing environment makes the
//! backend unavailable, so its units are reported `not_built` with the set-up command.

pub mod capabilities;
pub mod peers;
pub mod protocol;
pub mod trainer;
pub mod worker;

use nnbench_core::baseline::BaselineTask;
use nnbench_core::spec::RunSpec;
use nnbench_core::{Backend, BackendError, Capability, Trainer, TrainerSetup};

/// A Python framework nnbench drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framework {
    Pytorch,
    Jax,
    Keras,
}

impl Framework {
    pub const ALL: [Framework; 3] = [Framework::Pytorch, Framework::Jax, Framework::Keras];

    /// The backend's name in scenarios and reports, also the worker's argument.
    pub fn name(self) -> &'static str {
        match self {
            Framework::Pytorch => "pytorch",
            Framework::Jax => "jax",
            Framework::Keras => "keras",
        }
    }

    /// The PyPI distributions whose versions describe this backend, main one first.
    pub fn distributions(self) -> &'static [&'static str] {
        match self {
            Framework::Pytorch => &["torch"],
            Framework::Jax => &["jax", "jaxlib", "optax"],
            Framework::Keras => &["keras", "tensorflow-cpu"],
        }
    }
}

/// One Python framework as an nnbench backend.
#[derive(Debug, Clone, Copy)]
pub struct PythonBackend {
    pub framework: Framework,
}

impl PythonBackend {
    pub const PYTORCH: PythonBackend = PythonBackend {
        framework: Framework::Pytorch,
    };
    pub const JAX: PythonBackend = PythonBackend {
        framework: Framework::Jax,
    };
    pub const KERAS: PythonBackend = PythonBackend {
        framework: Framework::Keras,
    };

    /// The three backends, in report order.
    pub fn all() -> [PythonBackend; 3] {
        Framework::ALL.map(|framework| PythonBackend { framework })
    }
}

impl Backend for PythonBackend {
    fn name(&self) -> &'static str {
        self.framework.name()
    }

    fn framework_version(&self) -> String {
        peers::describe(self.framework)
    }

    fn capabilities(&self) -> Vec<Capability> {
        capabilities::table(self.framework).capabilities.clone()
    }

    fn formula_difference(&self, run: &RunSpec) -> Option<String> {
        capabilities::table(self.framework).formula_difference(run)
    }

    fn availability(&self) -> Result<(), String> {
        peers::locate().map(|_| ())
    }

    fn hand_written_epoch(&self, task: &BaselineTask<'_>) -> Option<Result<f64, BackendError>> {
        // Each Python module builds the network `task.run` describes (the MLP or LeNet-5).
        Some(trainer::hand_written_epoch(self.framework, task))
    }

    fn hand_written_tiny_steps(
        &self,
        task: &nnbench_core::baseline::TinyTask<'_>,
    ) -> Option<Result<f64, BackendError>> {
        Some(trainer::hand_written_tiny_steps(self.framework, task))
    }

    fn check(&self, run: &RunSpec) -> Result<(), nnbench_core::Unsupported> {
        nnbench_core::capability::check(run, &self.capabilities())?;
        nnbench_core::capability::check_perceptron_rule(run, self.framework.name())
    }

    fn build(&self, setup: &TrainerSetup<'_>) -> Result<Box<dyn Trainer>, BackendError> {
        self.check(setup.run)?;
        Ok(Box::new(trainer::PythonTrainer::new(
            self.framework,
            setup,
        )?))
    }
}
