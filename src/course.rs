//! `nnbench course`: every scenario that has a `course_section`, run in the course's order into
//! one course folder, and `index.md`, the one document that reads in that order.
//!
//! What the course claims for a scenario and how its key figure is measured live in one
//! place, [`LESSONS`]; the order of the course in [`CHAPTERS`]. A scenario missing from
//! [`LESSONS`] (a new one) still runs: its `course_section` places it (see [`chapter_of`]), its
//! description stands for the claim and its test accuracy for the figure.
//!
//! The course folder holds `course.json` (the options and the scenarios in order), one run
//! folder per scenario (`NN_<scenario>`, written and resumed by [`crate::runner`]), and
//! `index.md`. A killed course resumes scenario by scenario: finished ones are kept as they
//! are, the one cut short resumes unit by unit, the rest run.

use std::path::Path;

use anyhow::{Context as _, Result};
use nnbench_core::spec::Scenario;
use nnbench_core::train::Status;
use serde::{Deserialize, Serialize};

use crate::args::{CourseArgs, Jobs, OverrideArgs};
use crate::progress::Mode;
use crate::report::RunData;
use crate::report::plots::SOLVED;
use crate::report::stats::{Estimate, slug};
use crate::run_folder::{self, RunFolder, RunFolderError, Table, UnitRow};
use crate::{runner, scenarios};

/// One chapter of the course, in order: its title, and the words of a `course_section` that
/// place a scenario [`LESSONS`] does not list.
pub struct Chapter {
    pub id: &'static str,
    pub title: &'static str,
    keywords: &'static [&'static str],
}

/// The course (`course.fr.txt`), chapter by chapter, in its order.
pub const CHAPTERS: [Chapter; 10] = [
    Chapter {
        id: "perceptron",
        title: "The Rosenblatt perceptron",
        keywords: &["rosenblatt", "perceptron:", "perceptron;", "logic gate"],
    },
    Chapter {
        id: "mlp",
        title: "The multi-layer perceptron",
        keywords: &["multi-layer", "multilayer", "mlp", "initiali"],
    },
    Chapter {
        id: "backpropagation",
        title: "Backpropagation",
        keywords: &["backprop", "chain rule"],
    },
    Chapter {
        id: "activations",
        title: "Activation functions",
        keywords: &["activation", "relu", "sigmoid"],
    },
    Chapter {
        id: "gradients",
        title: "Vanishing and exploding gradients",
        keywords: &["vanishing", "exploding", "clipping"],
    },
    Chapter {
        id: "optimizers",
        title: "Optimizers",
        keywords: &["optimi", "learning rate", "momentum", "adam"],
    },
    Chapter {
        id: "mnist",
        title: "MNIST",
        keywords: &["mnist", "convolution", "cnn", "image"],
    },
    Chapter {
        id: "regularization",
        title: "Regularization",
        keywords: &["regulari", "dropout", "batch norm", "early stopping"],
    },
    Chapter {
        id: "sklearn",
        title: "MLP with scikit-learn",
        keywords: &["scikit", "sklearn"],
    },
    Chapter {
        id: "beyond",
        title: "Beyond the course",
        keywords: &[],
    },
];

/// The order in which [`chapter_of`] tries the chapters' keywords: the most specific first
/// (a section on "MNIST with a multi-layer perceptron" is about MNIST).
const KEYWORD_ORDER: [&str; 9] = [
    "sklearn",
    "regularization",
    "gradients",
    "optimizers",
    "mnist",
    "backpropagation",
    "activations",
    "mlp",
    "perceptron",
];

/// What the run measured for one backend: the key figure, and whether the claim held there
/// (`None`: the backend did not train, or the claim is not checked).
#[derive(Debug, Clone, PartialEq)]
pub struct Measure {
    pub text: String,
    pub held: Option<bool>,
}

impl Measure {
    fn new(text: impl Into<String>, held: bool) -> Measure {
        Measure {
            text: text.into(),
            held: Some(held),
        }
    }

    fn unchecked(text: impl Into<String>) -> Measure {
        Measure {
            text: text.into(),
            held: None,
        }
    }
}

/// The main picture of a scenario in the index.
#[derive(Debug, Clone, Copy)]
pub enum MainPlot {
    /// `curves_<variant>.svg` of the first variant whose name starts with this (`""`: the
    /// first variant).
    Curves(&'static str),
    /// `diff_<variant>.svg`, likewise.
    Differences(&'static str),
    /// `success.svg`.
    Success,
    /// `grad_norms_<variant>_native.svg`, likewise.
    GradNorms(&'static str),
    /// `dead_units_<variant>.svg`, likewise.
    DeadUnits(&'static str),
    /// `boundary_<variant>_native.svg`, likewise.
    Boundary(&'static str),
}

/// One scenario of the course: its chapter, what the course claims, how the run's key figure
/// is measured on one backend and what says the claim held, and its main picture.
pub struct Lesson {
    pub scenario: &'static str,
    pub chapter: &'static str,
    /// What the course says (`course.fr.txt`), in English.
    pub claim: &'static str,
    /// What nnbench checks of the run to say the claim held, as `measure` decides it.
    pub check: &'static str,
    pub measure: fn(&Evidence, &str) -> Measure,
    pub plot: MainPlot,
}

/// Every scenario of the course, in the course's order within its chapter.
pub const LESSONS: &[Lesson] = &[
    Lesson {
        scenario: "perceptron_logic",
        chapter: "perceptron",
        claim: "A single-layer perceptron cannot learn a function that is not linearly \
                separable: AND and OR yes, XOR (not linearly separable) no.",
        check: "no XOR unit reaches test accuracy 1; some AND and some OR units do.",
        measure: |e, b| {
            let [and, or, xor] = ["and", "or", "xor"].map(|gate| e.solved(b, |v| first(v) == gate));
            Measure::new(
                format!(
                    "units solved: AND {}, OR {}, XOR {}",
                    fraction(and),
                    fraction(or),
                    fraction(xor)
                ),
                xor.0 == 0 && and.0 > 0 && or.0 > 0,
            )
        },
        plot: MainPlot::Success,
    },
    Lesson {
        scenario: "perceptron_blobs",
        chapter: "perceptron",
        claim: "The perceptron classifies linearly separable data (the notebook: blobs, \
                separable and not separable).",
        check: "training accuracy 100 % on the separable blobs, below 100 % on the \
                overlapping ones.",
        measure: |e, b| {
            let (Some(separable), Some(overlapping)) = (e.variants.first(), e.variants.last())
            else {
                return Measure::unchecked("no variant ran");
            };
            let (a, o) = (
                e.train_accuracy(b, separable),
                e.train_accuracy(b, overlapping),
            );
            Measure {
                text: format!(
                    "training accuracy after the last epoch: {separable} {}, {overlapping} {}",
                    percent(a),
                    percent(o)
                ),
                held: a.zip(o).map(|(a, o)| a >= SOLVED && o < SOLVED),
            }
        },
        plot: MainPlot::Boundary(""),
    },
    Lesson {
        scenario: "perceptron_course",
        chapter: "perceptron",
        claim: "The course's perceptron: weights start at 0, a prediction is 1 when the \
                weighted sum exceeds the threshold (seuil), and each error moves the weights \
                by the learning rate times the input; its separable example (y = [1, 0, 1, 0]) \
                is learnt.",
        check: "the course's own run (threshold 0.5, zero init, rate 0.2) reaches test \
                accuracy 100 %; with threshold 0 and zero init every rate ends the same (a \
                rate only rescales the weights), and from a random init the rates differ.",
        measure: |e, b| {
            let rates_of = |prefix: &str| -> Vec<Option<f64>> {
                e.variants
                    .iter()
                    .filter(|v| v.starts_with(prefix))
                    .map(|v| e.accuracy(b, v))
                    .collect()
            };
            let (zeros, random) = (
                rates_of("threshold=0.0 zeros"),
                rates_of("threshold=0.0 random"),
            );
            let course = e.accuracy(b, "threshold=0.5 zeros lr=0.2");
            let all_equal = |xs: &[Option<f64>]| xs.windows(2).all(|w| w[0] == w[1]);
            let list = |xs: &[Option<f64>]| {
                xs.iter()
                    .map(|&a| percent(a))
                    .collect::<Vec<_>>()
                    .join(" / ")
            };
            Measure {
                text: format!(
                    "the course's run {}; threshold 0, zero init, by rate: {}; threshold 0, \
                     random init, by rate: {}",
                    percent(course),
                    list(&zeros),
                    list(&random)
                ),
                held: course.map(|c| {
                    c == 1.0 && zeros.len() > 1 && all_equal(&zeros) && !all_equal(&random)
                }),
            }
        },
        plot: MainPlot::Boundary("threshold=0.5 zeros lr=0.2"),
    },
    Lesson {
        scenario: "perceptron_multiclass",
        chapter: "perceptron",
        claim: "One layer of several cells (one neuron per class, e.g. three for A, B, C) \
                classifies several classes, but each neuron sees the raw inputs: it is still \
                linear.",
        check: "with either head, test accuracy at least 95 % on the blobs 5 apart and below \
                90 % on the overlapping ones (1.5 apart).",
        measure: |e, b| {
            let (apart, overlapping) = (
                e.accuracy_of(b, |v| v.ends_with("separation=5.0")),
                e.accuracy_of(b, |v| v.ends_with("separation=1.5")),
            );
            Measure {
                text: format!("test accuracy: {}", e.accuracies(b)),
                held: apart.zip(overlapping).map(|(a, o)| a >= 0.95 && o < 0.90),
            }
        },
        plot: MainPlot::Boundary("softmax separation=1.5"),
    },
    Lesson {
        scenario: "xor_mlp",
        chapter: "mlp",
        claim: "A multi-layer perceptron's hidden layers build non-linear features: it can \
                solve XOR.",
        check: "more than half of the seeds reach test accuracy 1 on XOR.",
        measure: |e, b| {
            let solved = e.solved(b, |_| true);
            Measure::new(
                format!("XOR solved by {} seeds", fraction(solved)),
                2 * solved.0 > solved.1,
            )
        },
        plot: MainPlot::Boundary(""),
    },
    Lesson {
        scenario: "mlp_xor",
        chapter: "mlp",
        claim: "An MLP has several local minima, so it is sensitive to its initialization.",
        check: "some seeds solve XOR and some do not.",
        measure: |e, b| {
            let parts: Vec<String> = e
                .variants
                .iter()
                .map(|v| format!("{v} {}", fraction(e.solved(b, |w| w == v))))
                .collect();
            let all = e.solved(b, |_| true);
            Measure::new(
                format!("seeds solving XOR: {}", parts.join(", ")),
                all.0 > 0 && all.0 < all.1,
            )
        },
        plot: MainPlot::Success,
    },
    Lesson {
        scenario: "init_influence",
        chapter: "mlp",
        claim: "The initialization of the weights and the bias matters (the notebook's \
                “influence de l'initialisation”; against exploding gradients, “initialisation \
                appropriée des poids”).",
        check: "all-zero weights end below both Glorot and He in test accuracy.",
        measure: |e, b| {
            let zeros = e.accuracy(b, "zeros");
            let scaled = [e.accuracy(b, "glorot_uniform"), e.accuracy(b, "he_normal")];
            Measure {
                text: format!("test accuracy: {}", e.accuracies(b)),
                held: match (zeros, scaled) {
                    (Some(z), [Some(g), Some(h)]) => Some(z < g.min(h)),
                    _ => None,
                },
            }
        },
        plot: MainPlot::Curves("zeros"),
    },
    Lesson {
        scenario: "mnist_normalization",
        chapter: "mlp",
        claim: "An MLP needs normalized inputs (“nécessite normalisation”).",
        check: "raw 0–255 pixels diverge or end at least 10 points below pixels / 255, with \
                the same net, init, batches and rate.",
        measure: |e, b| {
            let (raw, unit) = (e.accuracy(b, "none"), e.accuracy(b, "unit"));
            let raw_failed = e.status(b, "none").is_some_and(|s| s != Status::Ok);
            Measure {
                text: format!(
                    "raw pixels {}, test accuracy: {}",
                    e.status_text(b, "none"),
                    e.accuracies(b)
                ),
                held: unit.map(|u| raw_failed || raw.is_some_and(|r| r <= u - 0.10)),
            }
        },
        plot: MainPlot::Curves("unit"),
    },
    Lesson {
        scenario: "parity_tanh_blobs",
        chapter: "backpropagation",
        claim: "Backpropagation is the chain rule applied layer by layer, each layer \
                receiving the gradient from the next: the same computation whichever \
                framework carries it out.",
        check: "every framework's training loss within 10⁻³ of native's at every epoch, from \
                the same initial weights and batches.",
        measure: |e, b| {
            if b == "native" {
                return Measure::unchecked("the reference");
            }
            match e.largest_loss_difference(b) {
                Some(d) => Measure::new(
                    format!("largest |training loss − native's|: {}", scientific(d)),
                    d < 1e-3,
                ),
                None => Measure::unchecked("no epoch to compare with native"),
            }
        },
        plot: MainPlot::Differences("sgd"),
    },
    Lesson {
        scenario: "backprop_example",
        chapter: "backpropagation",
        claim: "The worked example the course points to (Mazur's “step by step \
                backpropagation example”: a 2-2-2 sigmoid network, squared error, one SGD \
                step at η = 0.5) computes each weight's gradient by hand with the chain rule; \
                a framework's backpropagation gives the same numbers.",
        check: "each backend's gradient of w1 … w8 (from one plain SGD step) within 10⁻⁶ of \
                the post's, and its loss within 10⁻⁶ of the post's E_total = 0.298371109.",
        measure: |e, b| {
            let Some(hand) = crate::worked_examples::for_scenario("backprop_example") else {
                return Measure::unchecked("no hand computation");
            };
            match e.hand_difference(b, hand) {
                Some((gradient, loss)) => Measure::new(
                    format!(
                        "largest |gradient − hand value| {}, |loss − E_total| {}",
                        scientific(gradient),
                        scientific(loss)
                    ),
                    gradient <= hand.tolerance && loss <= hand.tolerance,
                ),
                None => Measure::unchecked("no gradient recorded for w1 … w8"),
            }
        },
        plot: MainPlot::Curves(""),
    },
    Lesson {
        scenario: "loss_functions",
        chapter: "backpropagation",
        claim: "Backpropagation adapts the weights from the gradient of the cost function \
                (fonction de coût), the gap between prediction and truth. (The course \
                compares no cost functions; which one to use is nnbench's question.)",
        check: "cross-entropy ends above mean squared error on one-hot targets in test \
                accuracy, with the same net, init, batches and rate (nnbench's expectation).",
        measure: |e, b| {
            let (ce, mse) = (
                e.accuracy(b, "softmax_cross_entropy"),
                e.accuracy(b, "identity_mse"),
            );
            Measure {
                text: format!("test accuracy: {}", e.accuracies(b)),
                held: ce.zip(mse).map(|(c, m)| c > m),
            }
        },
        plot: MainPlot::Curves("softmax_cross_entropy"),
    },
    Lesson {
        scenario: "activations",
        chapter: "activations",
        claim: "ReLU is simple and fast and favours convergence; sigmoid, whose derivative is \
                at most 0.25, suffers from vanishing gradients.",
        check: "the best of ReLU, leaky ReLU, ELU and SELU beats sigmoid in test accuracy.",
        measure: |e, b| {
            let sigmoid = e.accuracy_of(b, |v| v.starts_with("sigmoid"));
            let relus = ["relu", "leaky_relu", "elu", "selu"]
                .iter()
                .filter_map(|name| e.accuracy_of(b, |v| first_activation(v) == *name))
                .fold(None, |best: Option<f64>, a| {
                    Some(best.map_or(a, |b| b.max(a)))
                });
            Measure {
                text: format!("test accuracy: {}", e.accuracies(b)),
                held: sigmoid.zip(relus).map(|(s, r)| r > s),
            }
        },
        plot: MainPlot::Curves("sigmoid"),
    },
    Lesson {
        scenario: "dead_relu",
        chapter: "activations",
        claim: "ReLU has dead zones: a unit whose input stays negative outputs 0, gets a \
                gradient of 0 and never changes again; leaky ReLU avoids them.",
        check: "ReLU at rate 1.0 ends with more dead units than ReLU at 0.05 and than leaky \
                ReLU at 0.05.",
        measure: |e, b| {
            let parts: Vec<String> = e
                .variants
                .iter()
                .filter_map(|v| {
                    e.dead_share(b, v)
                        .map(|d| format!("{v} {}", percent(Some(d))))
                })
                .collect();
            let high = e.dead_share(b, "relu lr=1.0");
            let low = e.dead_share(b, "relu lr=0.05");
            let leaky = e.dead_share(b, "leaky_relu lr=0.05");
            Measure {
                text: format!("dead units after the last epoch: {}", parts.join(", ")),
                held: match (high, low, leaky) {
                    (Some(h), Some(l), Some(k)) => Some(h > l && h > k),
                    _ => None,
                },
            }
        },
        plot: MainPlot::DeadUnits("relu lr=1.0"),
    },
    Lesson {
        scenario: "vanishing_gradient",
        chapter: "gradients",
        claim: "With sigmoid the gradient is multiplied by at most 0.25 per layer: the first \
                hidden layer is “almost dead”. ReLU, batch normalization and skip connections \
                (ResNets) are the remedies.",
        check: "sigmoid's first-layer gradient norm below 1/100 of the last layer's in the \
                first epoch, ReLU's ratio above sigmoid's, and the same sigmoid stack with \
                residual blocks at least 100 times sigmoid's ratio.",
        measure: |e, b| {
            let sigmoid = e.gradient_ratio(b, "sigmoid");
            let relu = e.gradient_ratio(b, "relu");
            let residual = e.gradient_ratio(b, "sigmoid_residual");
            let parts: Vec<String> = e
                .variants
                .iter()
                .filter_map(|v| {
                    e.gradient_ratio(b, v)
                        .map(|r| format!("{v} {}", scientific(r)))
                })
                .collect();
            Measure {
                text: format!(
                    "first-layer gradient norm / last layer's, first epoch: {}",
                    parts.join(", ")
                ),
                held: match (sigmoid, relu, residual) {
                    (Some(s), Some(r), Some(k)) => Some(s < 1e-2 && r > s && k >= 100.0 * s),
                    _ => None,
                },
            }
        },
        plot: MainPlot::GradNorms("sigmoid"),
    },
    Lesson {
        scenario: "exploding_gradient",
        chapter: "gradients",
        claim: "Gradients can also explode: training oscillates and fails. Remedies: gradient \
                clipping, a proper initialization, a lower learning rate.",
        check: "without a fix the run diverges; with clipping, a smaller init, a lower rate or \
                batch norm (where the backend has it) every seed ends `ok`. ELU and SELU are \
                shown but not checked: the scenario documents that they do not rescue this \
                init.",
        measure: |e, b| {
            let parts: Vec<String> = e
                .variants
                .iter()
                .map(|v| format!("{v} {}", e.status_text(b, v)))
                .collect();
            let unfixed = e.status(b, "none");
            let fixes: Vec<Option<Status>> = e
                .variants
                .iter()
                .filter(|v| !["none", "elu", "selu"].contains(&v.as_str()))
                .map(|v| e.status(b, v))
                .filter(|status| *status != Some(Status::Unsupported))
                .collect();
            Measure {
                text: parts.join(", "),
                held: unfixed
                    .map(|s| s == Status::Diverged && fixes.iter().all(|f| *f == Some(Status::Ok))),
            }
        },
        plot: MainPlot::Curves("clip_value"),
    },
    Lesson {
        scenario: "lr_sweep",
        chapter: "optimizers",
        claim: "The learning rate is the hyperparameter to experiment with; too large a rate \
                makes training blow up (lowering it is a remedy).",
        check: "for SGD and for Adam, the smallest rate ends below the best one, and the \
                largest diverges or ends below the best.",
        measure: |e, b| {
            let mut parts = Vec::new();
            let mut held = Some(true);
            for optimizer in ["sgd", "adam"] {
                let rates: Vec<&String> = e
                    .variants
                    .iter()
                    .filter(|v| first(v) == optimizer)
                    .collect();
                let (Some(smallest), Some(largest)) = (rates.first(), rates.last()) else {
                    continue;
                };
                let best = rates
                    .iter()
                    .filter_map(|v| e.accuracy(b, v).map(|a| (v, a)))
                    .max_by(|x, y| x.1.total_cmp(&y.1));
                let Some((best, top)) = best else {
                    held = None;
                    continue;
                };
                parts.push(format!(
                    "{optimizer}: best {} ({}), smallest rate {}, largest {}",
                    best.split_once(' ').map_or(best.as_str(), |(_, r)| r),
                    percent(Some(top)),
                    percent(e.accuracy(b, smallest)),
                    e.status_text(b, largest)
                ));
                let slow = e.accuracy(b, smallest).is_none_or(|a| a < top);
                let blows_up = e.status(b, largest) != Some(Status::Ok)
                    || e.accuracy(b, largest).is_some_and(|a| a < top);
                held = held.map(|h| h && slow && blows_up);
            }
            Measure {
                text: parts.join("; "),
                held,
            }
        },
        plot: MainPlot::Curves("sgd lr=1.0"),
    },
    Lesson {
        scenario: "optimizers_mnist",
        chapter: "optimizers",
        claim: "SGD is slow but stable; momentum and RMSprop are fast; Adam is very fast and \
                the default choice.",
        check: "Adam's test accuracy above SGD's after the same epochs.",
        measure: |e, b| {
            let sgd = e.accuracy(b, "sgd");
            let adam = e.accuracy(b, "adam");
            Measure {
                text: format!("test accuracy: {}", e.accuracies(b)),
                held: sgd.zip(adam).map(|(s, a)| a > s),
            }
        },
        plot: MainPlot::Curves("sgd"),
    },
    Lesson {
        scenario: "batch_size_mnist",
        chapter: "optimizers",
        claim: "Stochastic gradient descent updates the weights from a few examples at a \
                time; gradient descent on the whole set makes one update per pass. (The \
                course names SGD and scikit-learn's batch_size; it compares no batch sizes.)",
        check: "at the same rate and epochs, the full batch ends below both batch 1 and the \
                mini-batch in test accuracy (fewer updates per epoch).",
        measure: |e, b| {
            let [one, mini, full] = ["batch=1", "batch=32", "full"].map(|v| e.accuracy(b, v));
            Measure {
                text: format!("test accuracy: {}", e.accuracies(b)),
                held: full.map(|f| one.is_some_and(|o| o > f) && mini.is_some_and(|m| m > f)),
            }
        },
        plot: MainPlot::Curves("full"),
    },
    Lesson {
        scenario: "mnist_sgd",
        chapter: "mnist",
        claim: "The MLP workshop: MNIST's 28×28 digits, 60 000 for training, 10 000 for \
                testing; SGD is slow but stable.",
        check: "test accuracy at least 96.5 % after 10 epochs (nnbench's bar: the course \
                gives no figure; plain SGD at rate 0.1 is still climbing there).",
        measure: |e, b| at_least(e, b, 0.965),
        plot: MainPlot::Curves(""),
    },
    Lesson {
        scenario: "mnist_adam",
        chapter: "mnist",
        claim: "“Adam first, then adjust if needed”: it works well everywhere.",
        check: "test accuracy at least 97 % (nnbench's bar: the course gives no figure).",
        measure: |e, b| at_least(e, b, 0.97),
        plot: MainPlot::Curves(""),
    },
    Lesson {
        scenario: "fashion_mnist_adam",
        chapter: "mnist",
        claim: "(Not in the course: Fashion-MNIST, MNIST's drop-in with clothes, tries the \
                workshop's MLP on a harder set.)",
        check: "test accuracy at least 84 % (nnbench's bar).",
        measure: |e, b| at_least(e, b, 0.84),
        plot: MainPlot::Curves(""),
    },
    Lesson {
        scenario: "mnist_binary",
        chapter: "mnist",
        claim: "The MNIST workshop can be a binary or a multi-class classification.",
        check: "on the digits 3 and 8, every model (one sigmoid unit or a two-unit softmax, \
                with and without a hidden layer) reaches test accuracy at least 95 % \
                (nnbench's bar).",
        measure: |e, b| {
            let accuracies: Vec<f64> = e.variants.iter().filter_map(|v| e.accuracy(b, v)).collect();
            Measure {
                text: format!("test accuracy: {}", e.accuracies(b)),
                held: (!accuracies.is_empty()).then(|| accuracies.iter().all(|&a| a >= 0.95)),
            }
        },
        plot: MainPlot::Curves("sigmoid linear"),
    },
    Lesson {
        scenario: "regularization_mnist",
        chapter: "regularization",
        claim: "Regularization limits overfitting: L1/L2, dropout, batch normalization, early \
                stopping.",
        check: "at least one regularizer leaves a smaller gap between training and test \
                accuracy than none.",
        measure: narrower_gap,
        plot: MainPlot::Curves("none"),
    },
    Lesson {
        scenario: "regularization_course",
        chapter: "regularization",
        claim: "The course's own remedies against overfitting: dropout (“ex: p=0.2”), \
                reducing the network's complexity (fewer layers, fewer neurons), noise added \
                to the data, and early stopping.",
        check: "at least one of them leaves a smaller gap between training and test accuracy \
                than none.",
        measure: narrower_gap,
        plot: MainPlot::Curves("input_noise"),
    },
    Lesson {
        scenario: "sklearn_mlp_mnist",
        chapter: "sklearn",
        claim: "scikit-learn's MLPClassifier, with the defaults the course lists: 100 ReLU \
                units, Adam, alpha = 0.0001, learning_rate_init = 0.001.",
        check: "test accuracy at least 95 % (nnbench's bar: the course gives no figure).",
        measure: |e, b| at_least(e, b, 0.95),
        plot: MainPlot::Curves(""),
    },
    Lesson {
        scenario: "sklearn_mlp_params",
        chapter: "sklearn",
        claim: "MLPClassifier's parameters (activation, hidden_layer_sizes, alpha, solver, \
                learning_rate) change what it learns.",
        check: "ReLU beats the identity activation (a linear model) in test accuracy.",
        measure: |e, b| {
            let relu = e.accuracy(b, "relu");
            let identity = e.accuracy(b, "identity");
            Measure {
                text: format!("test accuracy: {}", e.accuracies(b)),
                held: relu.zip(identity).map(|(r, i)| r > i),
            }
        },
        plot: MainPlot::Curves("relu"),
    },
    Lesson {
        scenario: "mnist_cnn",
        chapter: "beyond",
        claim: "(Not in the course: every framework's own MNIST example is a convolutional \
                net; LeNet-5, Adam, 5 epochs.)",
        check: "test accuracy at least 98.5 % (nnbench's bar).",
        measure: |e, b| at_least(e, b, 0.985),
        plot: MainPlot::Curves(""),
    },
    Lesson {
        scenario: "fashion_mnist_cnn",
        chapter: "beyond",
        claim: "(Not in the course: the same LeNet-5 on Fashion-MNIST, against \
                fashion_mnist_adam's MLP.)",
        check: "test accuracy at least 89 % (nnbench's bar).",
        measure: |e, b| at_least(e, b, 0.89),
        plot: MainPlot::Curves(""),
    },
];

/// The README's table of the course (chapter, scenario, claim), generated from [`LESSONS`].
pub fn lessons_markdown() -> String {
    let mut out = String::from(
        "| chapter | scenario | what the course claims | what says it held |\n|---|---|---|---|\n",
    );
    for chapter in &CHAPTERS {
        for lesson in LESSONS.iter().filter(|l| l.chapter == chapter.id) {
            out.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                chapter.title, lesson.scenario, lesson.claim, lesson.check
            ));
        }
    }
    out
}

/// The train − test accuracy gap of every variant, and whether some regularizer narrows
/// the gap of the variant `none`.
fn narrower_gap(e: &Evidence, b: &str) -> Measure {
    let parts: Vec<String> = e
        .variants
        .iter()
        .filter_map(|v| e.gap(b, v).map(|g| format!("{v} {}", points(g))))
        .collect();
    let none = e.gap(b, "none");
    let best = e
        .variants
        .iter()
        .filter(|v| *v != "none")
        .filter_map(|v| e.gap(b, v))
        .fold(None, |best: Option<f64>, g| {
            Some(best.map_or(g, |b| b.min(g)))
        });
    Measure {
        text: format!("train − test accuracy: {}", parts.join(", ")),
        held: none.zip(best).map(|(n, r)| r < n),
    }
}

/// A scenario's test accuracy against the course's figure.
fn at_least(e: &Evidence, backend: &str, threshold: f64) -> Measure {
    let a = e.accuracy_of(backend, |_| true);
    Measure {
        text: format!("test accuracy {}", percent(a)),
        held: a.map(|a| a >= threshold),
    }
}

/// The first word of a variant name (`and lr=0.2 zeros` → `and`).
fn first(variant: &str) -> &str {
    variant.split(' ').next().unwrap_or(variant)
}

/// The activation of a layer label (`leaky_relu128-leaky_relu64` → `leaky_relu`).
fn first_activation(variant: &str) -> &str {
    variant
        .trim_end_matches(|c: char| c.is_ascii_digit() || c == '-')
        .split(|c: char| c.is_ascii_digit())
        .next()
        .unwrap_or(variant)
}

fn fraction((solved, of): (usize, usize)) -> String {
    format!("{solved}/{of}")
}

fn percent(value: Option<f64>) -> String {
    value.map_or("–".to_string(), |v| format!("{:.1} %", 100.0 * v))
}

fn points(value: f64) -> String {
    format!("{:+.1} pts", 100.0 * value)
}

/// `2.2·10⁻⁵`.
fn scientific(value: f64) -> String {
    if value == 0.0 {
        return "0".into();
    }
    if (1e-2..1e3).contains(&value.abs()) {
        return format!("{value:.3}");
    }
    let exponent = value.abs().log10().floor() as i32;
    let mantissa = value / 10f64.powi(exponent);
    let superscript: String = exponent
        .to_string()
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            d => ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹']
                [d.to_digit(10).unwrap_or(0) as usize],
        })
        .collect();
    format!("{mantissa:.1}·10{superscript}")
}

/// One finished scenario's files, as the measures read them.
pub struct Evidence {
    pub data: RunData,
    /// The variants in the scenario's order.
    pub variants: Vec<String>,
}

impl Evidence {
    pub fn read(dir: &Path) -> Result<Evidence, RunFolderError> {
        let folder = RunFolder::read(dir)?;
        let variants = folder
            .resolved()?
            .get("variants")
            .and_then(|v| v.as_array())
            .map(|variants| {
                variants
                    .iter()
                    .filter_map(|v| v.get("name")?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Evidence {
            data: RunData::from_folder(folder)?,
            variants,
        })
    }

    fn units<'a>(
        &'a self,
        backend: &'a str,
        variant: impl Fn(&str) -> bool + 'a,
    ) -> impl Iterator<Item = &'a UnitRow> + 'a {
        self.data
            .units
            .iter()
            .filter(move |u| u.backend == backend && variant(&u.variant))
    }

    /// (units whose test accuracy reached 1.0, units that trained) among the variants chosen.
    fn solved(&self, backend: &str, variant: impl Fn(&str) -> bool) -> (usize, usize) {
        let trained: Vec<&UnitRow> = self
            .units(backend, variant)
            .filter(|u| trained(u.status))
            .collect();
        let solved = trained
            .iter()
            .filter(|u| u.status == Status::Ok && u.test_accuracy.is_some_and(|a| a >= SOLVED))
            .count();
        (solved, trained.len())
    }

    /// Mean test accuracy over the seeds that ended `ok` of the variants chosen.
    fn accuracy_of(&self, backend: &str, variant: impl Fn(&str) -> bool) -> Option<f64> {
        let values: Vec<f64> = self
            .units(backend, variant)
            .filter(|u| u.status == Status::Ok)
            .filter_map(|u| u.test_accuracy)
            .collect();
        Estimate::of(&values).map(|e| e.mean)
    }

    fn accuracy(&self, backend: &str, variant: &str) -> Option<f64> {
        self.accuracy_of(backend, |v| v == variant)
    }

    /// `variant 97.1 %, ...` over every variant.
    fn accuracies(&self, backend: &str) -> String {
        self.variants
            .iter()
            .map(|v| format!("{v} {}", percent(self.accuracy(backend, v))))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The status every seed of the variant ended with, when they agree (else the first
    /// that is not `ok`).
    fn status(&self, backend: &str, variant: &str) -> Option<Status> {
        let statuses: Vec<Status> = self
            .units(backend, |v| v == variant)
            .map(|u| u.status)
            .collect();
        statuses
            .iter()
            .copied()
            .find(|s| *s != Status::Ok)
            .or_else(|| statuses.first().copied())
    }

    fn status_text(&self, backend: &str, variant: &str) -> String {
        self.status(backend, variant)
            .map_or("–".to_string(), |s| s.name().to_string())
    }

    /// Mean over seeds of the last epoch's training accuracy.
    fn train_accuracy(&self, backend: &str, variant: &str) -> Option<f64> {
        let values: Vec<f64> = self
            .units(backend, |v| v == variant)
            .filter(|u| u.status == Status::Ok)
            .filter_map(|u| Some(self.last_epoch(u)?.train_accuracy))
            .collect();
        Estimate::of(&values).map(|e| e.mean)
    }

    fn last_epoch(&self, unit: &UnitRow) -> Option<&crate::run_folder::EpochRow> {
        self.data
            .epochs
            .iter()
            .filter(|e| {
                e.variant == unit.variant && e.backend == unit.backend && e.seed == unit.seed
            })
            .max_by_key(|e| e.epoch)
    }

    /// Mean over seeds of the last epoch's train accuracy minus the test accuracy.
    fn gap(&self, backend: &str, variant: &str) -> Option<f64> {
        let gaps: Vec<f64> = self
            .units(backend, |v| v == variant)
            .filter(|u| u.status == Status::Ok)
            .filter_map(|u| Some(self.last_epoch(u)?.train_accuracy - u.test_accuracy?))
            .collect();
        Estimate::of(&gaps).map(|e| e.mean)
    }

    /// The first layer's gradient norm over the last layer's in the first epoch, mean over
    /// seeds.
    fn gradient_ratio(&self, backend: &str, variant: &str) -> Option<f64> {
        let rows: Vec<_> = self
            .data
            .grad_norms
            .iter()
            .filter(|g| g.backend == backend && g.variant == variant && g.epoch == 1)
            .collect();
        let seeds = crate::report::stats::distinct(&rows, |g| g.seed);
        let ratios: Vec<f64> = seeds
            .iter()
            .filter_map(|&seed| {
                let mine: Vec<_> = rows.iter().filter(|g| g.seed == seed).collect();
                let first = mine.iter().min_by_key(|g| g.layer)?.value;
                let last = mine.iter().max_by_key(|g| g.layer)?.value;
                (last > 0.0).then(|| first / last)
            })
            .collect();
        Estimate::of(&ratios).map(|e| e.mean)
    }

    /// The share of dead hidden units after the last epoch (mean over layers and seeds).
    fn dead_share(&self, backend: &str, variant: &str) -> Option<f64> {
        let rows: Vec<_> = self
            .data
            .dead_units
            .iter()
            .filter(|d| d.backend == backend && d.variant == variant)
            .collect();
        let last = rows.iter().map(|d| d.epoch).max()?;
        let values: Vec<f64> = rows
            .iter()
            .filter(|d| d.epoch == last)
            .map(|d| d.value)
            .collect();
        Estimate::of(&values).map(|e| e.mean)
    }

    /// The largest |train loss − native's| over every variant, seed and epoch.
    fn largest_loss_difference(&self, backend: &str) -> Option<f64> {
        let native: std::collections::HashMap<(&str, u64, u64), f64> = self
            .data
            .epochs
            .iter()
            .filter(|e| e.backend == "native")
            .map(|e| ((e.variant.as_str(), e.seed, e.epoch), e.train_loss))
            .collect();
        self.data
            .epochs
            .iter()
            .filter(|e| e.backend == backend)
            .filter_map(|e| {
                let reference = native.get(&(e.variant.as_str(), e.seed, e.epoch))?;
                Some((e.train_loss - reference).abs())
            })
            .fold(None, |largest: Option<f64>, d| {
                Some(largest.map_or(d, |l| l.max(d)))
            })
    }

    /// Against a hand computation: the largest |gradient − hand value| over its parameters
    /// and every seed of the backend, and the largest |step loss − its loss|; `None` when a
    /// parameter has no recorded gradient.
    fn hand_difference(
        &self,
        backend: &str,
        hand: &crate::worked_examples::HandComputation,
    ) -> Option<(f64, f64)> {
        let rows: Vec<_> = self
            .data
            .gradients
            .iter()
            .filter(|g| g.backend == backend)
            .collect();
        let mut gradient = 0.0f64;
        for parameter in hand.parameters {
            let mine: Vec<_> = rows
                .iter()
                .filter(|g| {
                    g.layer == parameter.layer
                        && g.tensor == parameter.tensor
                        && g.index == parameter.index
                })
                .collect();
            if mine.is_empty() {
                return None;
            }
            for g in mine {
                gradient =
                    gradient.max((g.gradient - parameter.gradient(hand.learning_rate)).abs());
            }
        }
        let loss = self
            .data
            .epochs
            .iter()
            .filter(|e| e.backend == backend && e.epoch == 1)
            .map(|e| (e.step_loss - hand.loss).abs())
            .fold(None, |largest: Option<f64>, d| {
                Some(largest.map_or(d, |l| l.max(d)))
            })?;
        Some((gradient, loss))
    }

    /// Why a backend trained no unit (its units' reason), or `None` when it trained some.
    fn not_trained(&self, backend: &str) -> Option<String> {
        let units: Vec<&UnitRow> = self.units(backend, |_| true).collect();
        if units.iter().any(|u| trained(u.status)) {
            return None;
        }
        Some(units.first().map_or("no unit".to_string(), |u| {
            format!("{}: {}", u.status.name(), u.reason)
        }))
    }

    /// The backends in the order the scenario ran them.
    fn backends(&self) -> Vec<String> {
        crate::report::stats::distinct(&self.data.units, |u| u.backend.clone())
    }
}

/// Whether a unit with this status trained (diverging or timing out is training).
fn trained(status: Status) -> bool {
    matches!(status, Status::Ok | Status::Diverged | Status::Timeout)
}

/// The lesson of a scenario, when [`LESSONS`] has one.
pub fn lesson(scenario: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|l| l.scenario == scenario)
}

/// The chapter of a scenario: its lesson's, else the first chapter (most specific first)
/// whose keyword its `course_section` holds, else "beyond the course".
pub fn chapter_of(scenario: &str, course_section: &str) -> usize {
    let position = |id: &str| CHAPTERS.iter().position(|c| c.id == id);
    if let Some(index) = lesson(scenario).and_then(|l| position(l.chapter)) {
        return index;
    }
    let section = course_section.to_lowercase();
    KEYWORD_ORDER
        .iter()
        .filter_map(|id| position(id))
        .find(|&index| CHAPTERS[index].keywords.iter().any(|k| section.contains(k)))
        .unwrap_or(CHAPTERS.len() - 1)
}

/// `course.json`: what a course folder was run with, and its scenarios in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub quick: bool,
    pub backends: Option<Vec<String>>,
    pub scenarios: Vec<Planned>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    pub name: String,
    /// The scenario's run folder, inside the course folder.
    pub folder: String,
    pub chapter: String,
}

pub const PLAN_FILE: &str = "course.json";
pub const INDEX_FILE: &str = "index.md";

/// A scenario's `course_section`, empty for a user's own scenario that has none.
fn section(scenario: &Scenario) -> &str {
    scenario.course_section.as_deref().unwrap_or("")
}

/// The bundled scenarios with a `course_section`, in the course's order: by chapter, then
/// as [`LESSONS`] lists them, then by name. A scenario that does not load stops the course
/// before anything runs.
pub fn plan(overrides: &OverrideArgs) -> Result<Vec<Scenario>> {
    let mut found = Vec::new();
    for path in scenarios::bundled() {
        let (scenario, _) = scenarios::load(&path.display().to_string(), overrides)?;
        if !section(&scenario).trim().is_empty() {
            found.push(scenario);
        }
    }
    found.sort_by_key(|s| {
        (
            chapter_of(&s.name, section(s)),
            LESSONS
                .iter()
                .position(|l| l.scenario == s.name)
                .unwrap_or(usize::MAX),
            s.name.clone(),
        )
    });
    Ok(found)
}

/// What happened to one scenario of the course.
enum Outcome {
    Ran(Box<Evidence>),
    Failed(String),
}

/// `nnbench course`.
pub fn command(args: &CourseArgs) -> Result<bool> {
    let data = args.data.options()?;
    let (dir, plan) = match &args.resume {
        Some(dir) => {
            let recorded = read_plan(dir)?;
            if (args.quick && !recorded.quick)
                || (args.backends.is_some() && args.backends != recorded.backends)
            {
                return Err(RunFolderError::new(format!(
                    "cannot resume {}: it was run with {}; resume it without options, or \
                     start a new course",
                    dir.display(),
                    options_text(&recorded)
                ))
                .into());
            }
            (dir.clone(), recorded)
        }
        None => {
            let overrides = overrides(args.quick, &args.backends);
            let scenarios = plan(&overrides)?;
            let dir =
                run_folder::create_run_dir(args.out.as_deref(), Path::new("results"), "course")?;
            let plan = Plan {
                quick: args.quick,
                backends: args.backends.clone(),
                scenarios: scenarios
                    .iter()
                    .enumerate()
                    .map(|(i, s)| Planned {
                        name: s.name.clone(),
                        folder: format!("{:02}_{}", i + 1, slug(&s.name)),
                        chapter: CHAPTERS[chapter_of(&s.name, section(s))].id.to_string(),
                    })
                    .collect(),
            };
            run_folder::write_file(
                &dir,
                PLAN_FILE,
                serde_json::to_string_pretty(&plan)?.as_bytes(),
            )?;
            (dir, plan)
        }
    };
    let overrides = overrides(plan.quick, &plan.backends);
    let total = plan.scenarios.len();
    let mut outcomes = Vec::with_capacity(total);
    for (index, planned) in plan.scenarios.iter().enumerate() {
        let folder = dir.join(&planned.folder);
        eprintln!("\n[{}/{total}] {}", index + 1, planned.name);
        let outcome = match run_one(planned, &folder, &overrides, &data, args.jobs.jobs) {
            Ok(evidence) => Outcome::Ran(Box::new(evidence)),
            Err(error) => {
                eprintln!("error: {}: {error:#}", planned.name);
                Outcome::Failed(format!("{error:#}"))
            }
        };
        outcomes.push(outcome);
    }
    let scenarios: Vec<Option<Scenario>> = plan
        .scenarios
        .iter()
        .map(|p| {
            scenarios::load(&p.name, &overrides)
                .ok()
                .map(|(scenario, _)| scenario)
        })
        .collect();
    run_folder::write_file(
        &dir,
        INDEX_FILE,
        index(&dir, &plan, &scenarios, &outcomes).as_bytes(),
    )?;
    println!("course: {}", dir.join(INDEX_FILE).display());
    let complete = outcomes.iter().all(|o| matches!(o, Outcome::Ran(_)));
    Ok(complete)
}

fn overrides(quick: bool, backends: &Option<Vec<String>>) -> OverrideArgs {
    OverrideArgs {
        quick,
        backends: backends.clone(),
        ..OverrideArgs::default()
    }
}

fn options_text(plan: &Plan) -> String {
    let mut parts = Vec::new();
    if plan.quick {
        parts.push("--quick".to_string());
    }
    if let Some(backends) = &plan.backends {
        parts.push(format!("--backends {}", backends.join(",")));
    }
    if parts.is_empty() {
        "no options".to_string()
    } else {
        parts.join(" ")
    }
}

fn read_plan(dir: &Path) -> Result<Plan, RunFolderError> {
    let path = dir.join(PLAN_FILE);
    let bytes = std::fs::read(&path).map_err(|error| {
        RunFolderError::in_file(
            &path,
            format!("{error}; is this a course folder `nnbench course` wrote?"),
        )
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|error| RunFolderError::in_file(&path, format!("not a course plan: {error}")))
}

/// Runs (or resumes, or keeps) one scenario of the course into `folder`.
fn run_one(
    planned: &Planned,
    folder: &Path,
    overrides: &OverrideArgs,
    data: &nnbench_core::data::DataOptions,
    jobs: Jobs,
) -> Result<Evidence> {
    let (scenario, text) = scenarios::load(&planned.name, overrides)?;
    let started = folder.join(<UnitRow as Table>::FILE).is_file();
    if started
        && folder
            .join(<run_folder::SummaryRow as Table>::FILE)
            .is_file()
    {
        let finished = RunFolder::read(folder)?.finished();
        if crate::shard::units(&scenario)
            .iter()
            .all(|key| finished.contains(key))
        {
            if !folder.join(run_folder::REPORT_FILE).is_file() {
                // Killed while drawing its report: draw it again from the files.
                crate::report::generate(folder)?;
            }
            eprintln!("finished before: kept as it is");
            return Ok(Evidence::read(folder)?);
        }
    }
    if !started && folder.exists() {
        // Killed before its first unit was written: nothing was measured, start it afresh.
        clear_unstarted(folder)?;
    }
    let resume: Option<&Path> = started.then_some(folder);
    runner::run_with(
        &runner::RunRequest {
            scenario: &scenario,
            source_text: &text,
            out: Some(folder),
            results_root: Path::new("results"),
            data,
            progress: Mode::detect(),
        },
        &runner::RunOptions {
            resume,
            jobs,
            ..runner::RunOptions::default()
        },
    )?;
    Ok(Evidence::read(folder)?)
}

/// Removes a scenario folder that holds only the description files a killed run wrote before
/// its first unit; anything else in it is left alone and refused.
fn clear_unstarted(folder: &Path) -> Result<()> {
    let description = [
        run_folder::SCENARIO_FILE,
        run_folder::RESOLVED_FILE,
        run_folder::ENVIRONMENT_FILE,
        run_folder::RUN_FILE,
    ];
    for entry in
        std::fs::read_dir(folder).with_context(|| format!("reading {}", folder.display()))?
    {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Temporary files of an atomic write cut short are the description's too.
        let ours = description
            .iter()
            .any(|d| name == *d || (name.starts_with(&format!(".{d}")) && name.ends_with(".tmp")));
        if !ours || !entry.path().is_file() {
            return Err(RunFolderError::new(format!(
                "cannot resume {}: it holds {name} but no units.csv; results are never \
                 overwritten: move it away and resume again",
                folder.display()
            ))
            .into());
        }
    }
    std::fs::remove_dir_all(folder).with_context(|| format!("removing {}", folder.display()))
}

/// The main plot's file (inside the scenario folder), when the run drew it.
fn main_plot(folder: &Path, plot: MainPlot, variants: &[String]) -> Option<String> {
    let pick = |prefix: &str| {
        variants
            .iter()
            .find(|v| v.starts_with(prefix))
            .or(variants.first())
            .map(|v| slug(v))
    };
    let file = match plot {
        MainPlot::Curves(p) => format!("curves_{}.svg", pick(p)?),
        MainPlot::Differences(p) => format!("diff_{}.svg", pick(p)?),
        MainPlot::Success => "success.svg".to_string(),
        MainPlot::GradNorms(p) => format!("grad_norms_{}_native.svg", pick(p)?),
        MainPlot::DeadUnits(p) => format!("dead_units_{}.svg", pick(p)?),
        MainPlot::Boundary(p) => format!("boundary_{}_native.svg", pick(p)?),
    };
    let path = format!("{}/{file}", run_folder::PLOTS_DIR);
    folder.join(&path).is_file().then_some(path)
}

/// Per backend that trained: the key figure and whether the claim held. A reference model
/// (the linear baseline) is measured but never checked: the course's claims are about
/// neural networks, and the baseline is there to show what a network adds.
fn measures(name: &str, evidence: &Evidence) -> Vec<(String, Measure)> {
    evidence
        .backends()
        .into_iter()
        .filter(|backend| evidence.not_trained(backend).is_none())
        .map(|backend| {
            let mut measure = match lesson(name) {
                Some(lesson) => (lesson.measure)(evidence, &backend),
                None => {
                    Measure::unchecked(format!("test accuracy: {}", evidence.accuracies(&backend)))
                }
            };
            if is_reference_model(&backend) && measure.held.is_some() {
                measure =
                    Measure::unchecked(format!("{} (reference model: not checked)", measure.text));
            }
            (backend, measure)
        })
        .collect()
}

fn is_reference_model(backend: &str) -> bool {
    crate::registry::find(backend).is_some_and(|backend| backend.is_reference_model())
}

/// The backends that trained no unit, and why.
fn not_trained(evidence: &Evidence) -> Vec<(String, String)> {
    evidence
        .backends()
        .into_iter()
        .filter_map(|backend| {
            let reason = evidence.not_trained(&backend)?;
            Some((backend, reason))
        })
        .collect()
}

/// Whether a claim held on every backend that was checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Held,
    /// The backends where it did not.
    NotHeld(Vec<String>),
    Unchecked,
}

fn verdict(measures: &[(String, Measure)]) -> Verdict {
    let failed: Vec<String> = measures
        .iter()
        .filter(|(_, m)| m.held == Some(false))
        .map(|(b, _)| b.clone())
        .collect();
    if !failed.is_empty() {
        Verdict::NotHeld(failed)
    } else if measures.iter().any(|(_, m)| m.held == Some(true)) {
        Verdict::Held
    } else {
        Verdict::Unchecked
    }
}

fn verdict_text(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Held => "yes".into(),
        Verdict::NotHeld(backends) => format!("**no** (not on {})", backends.join(", ")),
        Verdict::Unchecked => "not checked".into(),
    }
}

fn chapter_title(id: &str) -> &'static str {
    CHAPTERS
        .iter()
        .find(|c| c.id == id)
        .map_or("Beyond the course", |c| c.title)
}

/// `index.md` of the course folder `dir`: one section per chapter, one subsection per
/// scenario.
fn index(dir: &Path, plan: &Plan, scenarios: &[Option<Scenario>], outcomes: &[Outcome]) -> String {
    let mut out = String::from("# The course, reproduced\n\n");
    out.push_str(
        "Every scenario of the course (perceptron, multi-layer perceptron, backpropagation, \
         activation functions, vanishing and exploding gradients, optimizers, MNIST, \
         regularization, scikit-learn), run by `nnbench course` in the course's order. For \
         each: what the course claims, what this run measured, and whether the claim held on \
         every backend that trained.\n\n",
    );
    if plan.quick {
        out.push_str(
            "**This is a `--quick` run**: tiny subsets and one or two epochs, a smoke test. \
             Checks meant for full training (MNIST accuracies, say) are not expected to \
             hold here; run `nnbench course` for the real figures.\n\n",
        );
    }
    out.push_str(&format!("Options: {}.\n\n", options_text(plan)));
    let shared: Vec<(&str, u64)> = plan
        .scenarios
        .iter()
        .zip(outcomes)
        .filter_map(|(planned, outcome)| match outcome {
            Outcome::Ran(evidence) => {
                let jobs = evidence.data.units.iter().map(|u| u.jobs).max()?;
                (jobs > 1).then_some((planned.name.as_str(), jobs))
            }
            Outcome::Failed(_) => None,
        })
        .collect();
    if let Some(most) = shared.iter().map(|(_, jobs)| *jobs).max() {
        out.push_str(&format!(
            "**Times shared the machine:** units ran up to {most} side by side (`--jobs`) in \
             {} of the {} scenarios, so their epoch times are not those of a unit alone \
             (each report says so; the `jobs` column of the CSV files says under how many \
             each row was measured).\n\n",
            shared.len(),
            plan.scenarios.len()
        ));
    }
    let held_mark = |held: Option<bool>| match held {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "–",
    };
    let verdicts: Vec<Option<Verdict>> = plan
        .scenarios
        .iter()
        .zip(outcomes)
        .map(|(planned, outcome)| match outcome {
            Outcome::Ran(evidence) => Some(verdict(&measures(&planned.name, evidence))),
            Outcome::Failed(_) => None,
        })
        .collect();
    out.push_str("| chapter | scenario | claim held on every backend |\n|---|---|---|\n");
    for (planned, verdict) in plan.scenarios.iter().zip(&verdicts) {
        out.push_str(&format!(
            "| {} | [{}](#{}) | {} |\n",
            chapter_title(&planned.chapter),
            planned.name,
            planned.name.to_lowercase(),
            verdict.as_ref().map_or("not run".to_string(), verdict_text)
        ));
    }
    out.push('\n');
    let mut chapter = "";
    let mut number = 0;
    for (((planned, outcome), scenario), verdict) in plan
        .scenarios
        .iter()
        .zip(outcomes)
        .zip(scenarios)
        .zip(&verdicts)
    {
        if planned.chapter != chapter {
            chapter = &planned.chapter;
            number += 1;
            out.push_str(&format!("## {number}. {}\n\n", chapter_title(chapter)));
        }
        out.push_str(&format!("### {}\n\n", planned.name));
        if let Some(scenario) = scenario {
            out.push_str(&format!(
                "*Course section: {}.* {}\n\n",
                section(scenario).trim_end_matches('.'),
                scenario.description
            ));
        }
        let claim = lesson(&planned.name).map_or(
            "(not in nnbench's course table, `course::LESSONS`: the description above stands \
             for the claim, and it is not checked)",
            |l| l.claim,
        );
        out.push_str(&format!("**The course:** {claim}\n\n"));
        if let Some(lesson) = lesson(&planned.name) {
            out.push_str(&format!("**Checked:** {}\n\n", lesson.check));
        }
        let evidence = match outcome {
            Outcome::Failed(error) => {
                out.push_str(&format!(
                    "**Not run:** {error}\n\nFix the cause and resume the course \
                     (`nnbench course --resume <this folder>`).\n\n"
                ));
                continue;
            }
            Outcome::Ran(evidence) => evidence,
        };
        out.push_str("| backend | measured | claim held |\n|---|---|---|\n");
        for (backend, measure) in measures(&planned.name, evidence) {
            out.push_str(&format!(
                "| {backend} | {} | {} |\n",
                measure.text.replace('|', "\\|"),
                held_mark(measure.held)
            ));
        }
        if let Some(verdict) = verdict {
            out.push_str(&format!(
                "\n**Held on every backend that trained:** {}\n\n",
                verdict_text(verdict)
            ));
        }
        let absent = not_trained(evidence);
        if !absent.is_empty() {
            out.push_str("Did not train: ");
            let parts: Vec<String> = absent
                .iter()
                .map(|(backend, reason)| format!("{backend} ({reason})"))
                .collect();
            out.push_str(&parts.join("; "));
            out.push_str("\n\n");
        }
        let folder = planned.folder.as_str();
        let plot = lesson(&planned.name).map_or(MainPlot::Curves(""), |l| l.plot);
        if let Some(file) = main_plot(&dir.join(folder), plot, &evidence.variants) {
            out.push_str(&format!(
                "![{}: main plot]({folder}/{file})\n\n",
                planned.name
            ));
        }
        out.push_str(&format!(
            "Full report: [{folder}/report.md]({folder}/report.md)\n\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lesson_names_a_chapter_and_the_chapters_follow_the_course() {
        for lesson in LESSONS {
            assert!(
                CHAPTERS.iter().any(|c| c.id == lesson.chapter),
                "{}",
                lesson.scenario
            );
        }
        let ids: Vec<&str> = CHAPTERS.iter().map(|c| c.id).collect();
        assert_eq!(
            ids,
            [
                "perceptron",
                "mlp",
                "backpropagation",
                "activations",
                "gradients",
                "optimizers",
                "mnist",
                "regularization",
                "sklearn",
                "beyond"
            ]
        );
        for id in KEYWORD_ORDER {
            assert!(ids.contains(&id), "{id}");
        }
    }

    #[test]
    fn a_scenario_missing_from_the_lessons_is_placed_by_its_course_section() {
        let chapter = |section: &str| CHAPTERS[chapter_of("new_one", section)].id;
        assert_eq!(chapter("MNIST with a convolutional network"), "mnist");
        assert_eq!(chapter("Multi-layer perceptron: hidden layers"), "mlp");
        assert_eq!(
            chapter("The Rosenblatt perceptron; its learning rule"),
            "perceptron"
        );
        assert_eq!(chapter("Optimizers: Adam's epsilon"), "optimizers");
        assert_eq!(
            chapter("Regularization: dropout on MNIST"),
            "regularization"
        );
        assert_eq!(chapter("MLP avec scikit-learn"), "sklearn");
        assert_eq!(chapter("Exploding gradients"), "gradients");
        assert_eq!(chapter("Something else entirely"), "beyond");
        // A listed scenario keeps its lesson's chapter whatever its section says.
        assert_eq!(CHAPTERS[chapter_of("mnist_adam", "Optimizers")].id, "mnist");
    }

    #[test]
    fn the_linear_reference_model_is_measured_but_not_in_the_verdict() {
        assert!(!is_reference_model("native"));
        #[cfg(feature = "linfa")]
        assert!(is_reference_model("linear"));
        let measures = [
            ("native".to_string(), Measure::new("97.1 %", true)),
            (
                "linear".to_string(),
                Measure::unchecked("92.6 % (reference model: not checked)"),
            ),
        ];
        assert_eq!(verdict(&measures), Verdict::Held);
    }

    #[test]
    fn figures_read_as_people_write_them() {
        assert_eq!(scientific(2.2e-5), "2.2·10⁻⁵");
        assert_eq!(scientific(0.5), "0.500");
        assert_eq!(scientific(12345.0), "1.2·10⁴");
        assert_eq!(first_activation("leaky_relu128-leaky_relu64"), "leaky_relu");
        assert_eq!(first_activation("sigmoid128-sigmoid64"), "sigmoid");
        assert_eq!(first("and lr=0.2 zeros"), "and");
    }
}
