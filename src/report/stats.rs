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

/// The longest [`slug`]: with the longest prefix and two slugs, a plot's file name stays
/// within 80 characters.
pub const SLUG_MAX: usize = 32;

/// A file-name-safe form of a variant or backend name, at most [`SLUG_MAX`] characters. A
/// longer name keeps its beginning and ends with a hash of the whole name, so that the same
/// name always gives the same file and two names sharing a beginning do not share a file.
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
    if slug.is_empty() {
        return "_".into();
    }
    if slug.len() <= SLUG_MAX {
        return slug;
    }
    // FNV-1a: stable across builds and platforms, unlike the standard library's hasher.
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{}-{:08x}", &slug[..SLUG_MAX - 9], hash as u32)
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
        assert_eq!(slug("relu lr=1.0"), "relu_lr_1.0");
        let long = "model.layers[*].activation=relu,optimizer.learning_rate=1.0";
        let other = "model.layers[*].activation=relu,optimizer.learning_rate=0.1";
        assert_eq!(slug(long).len(), SLUG_MAX);
        assert_eq!(slug(long), slug(long));
        assert_ne!(slug(long), slug(other));
    }
}
