//! The order in which the harness visits the training rows: one seeded permutation per epoch,
//! each epoch shuffling the previous epoch's order again (or the rows in file order when the
//! scenario turns shuffling off). The training loop and the replay export (`nnbench parity`
//! writes every epoch's order) both take it from here, so they cannot disagree.

use crate::rng::Rng;

#[derive(Debug, Clone)]
pub struct BatchOrder {
    order: Vec<usize>,
    rng: Rng,
    shuffle: bool,
}

impl BatchOrder {
    /// The order of `rows` training rows for a unit trained from `seed`.
    pub fn new(rows: usize, seed: u64, shuffle: bool) -> BatchOrder {
        BatchOrder {
            order: (0..rows).collect(),
            rng: Rng::derive(seed, "shuffle"),
            shuffle,
        }
    }

    /// The row order of the next epoch (the first call gives epoch 1's).
    pub fn next_epoch(&mut self) -> &[usize] {
        if self.shuffle {
            self.rng.shuffle(&mut self.order);
        }
        &self.order
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_epoch_is_a_permutation_of_its_own() {
        let mut order = BatchOrder::new(50, 7, true);
        let first = order.next_epoch().to_vec();
        let second = order.next_epoch().to_vec();
        assert_ne!(first, second);
        let mut sorted = second.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..50).collect::<Vec<_>>());
        assert_eq!(BatchOrder::new(50, 7, true).next_epoch(), first);
        assert_eq!(BatchOrder::new(5, 7, false).next_epoch(), [0, 1, 2, 3, 4]);
    }
}
