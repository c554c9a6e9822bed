//! Statistics over seeds: the mean and its 95 % interval (mean ± 1.96·sd/√n), and keeping
//! keys in the order they first appear.

use crate::stats;

/// Mean of finite values with its 95 % half-width (0 for one value).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub mean: f64,
    pub half_width: f64,
    pub n: usize,
}

impl Estimate {
    pub fn of(values: &[f64]) -> Option<Estimate> {
        let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        let mean = stats::mean(&finite)?;
        let sd = stats::std_dev(&finite).unwrap_or(0.0);
        let n = finite.len();
        Some(Estimate {
            mean,
            half_width: 1.96 * sd / (n as f64).sqrt(),
            n,
        })
    }

    pub fn low(&self) -> f64 {
        self.mean - self.half_width
    }

    pub fn high(&self) -> f64 {
        self.mean + self.half_width
    }
}

/// The distinct keys of `items`, in the order they first appear.
pub fn distinct<T, K: PartialEq + Clone>(items: &[T], key: impl Fn(&T) -> K) -> Vec<K> {
    let mut keys: Vec<K> = Vec::new();
    for item in items {
        let k = key(item);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    keys
}

/// A file-name-safe form of a variant or backend name.
pub fn slug(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if slug.is_empty() { "_".into() } else { slug }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_and_slug() {
        let e = Estimate::of(&[1.0, 3.0]).unwrap();
        assert_eq!(e.mean, 2.0);
        assert!((e.half_width - 1.96 * 2f64.sqrt() / 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(Estimate::of(&[f64::NAN]), None);
        assert_eq!(
            slug("optimizer.learning_rate=0.1/x"),
            "optimizer.learning_rate_0.1_x"
        );
    }
}
