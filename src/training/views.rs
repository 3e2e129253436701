//! How many augmented views training keeps of each sample: views pay with a few samples a
//! class, not with many.

/// Rows (samples and their augmented views) within which training keeps every view asked for:
/// the rows' products with the default head's basis (see `span`) then stay a few tenths of a
/// second in a browser. Past it, every sample keeps fewer views, none past 600 samples:
/// augmentation helps with a few samples a class, and with many the views no longer pay (on
/// Sign Language Digits with MobileNetV2 at 50 and 100 a class, 0 views matched 4; see
/// docs/performance.md). It keeps memory small as well: 20,000 MobileNetV2 samples take 365 MB
/// of spatial rows with no views, 1.8 GB with 4.
pub const VIEWS_ROWS: usize = 1200;

/// The augmented views each of `samples` samples keeps: `wanted`, or as many as keep the rows
/// within [`VIEWS_ROWS`].
pub fn affordable_views(wanted: usize, samples: usize) -> usize {
    wanted.min((VIEWS_ROWS / samples.max(1)).saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_views_budget_keeps_every_view_for_few_samples_and_fewer_for_many() {
        // 4 classes of 30: every view.
        assert_eq!(affordable_views(4, 120), 4);
        assert_eq!(affordable_views(4, 240), 4);
        // Past 240 samples, fewer: 10 classes of 30 keep 3, of 50 one, of 100 none.
        assert_eq!(affordable_views(4, 300), 3);
        assert_eq!(affordable_views(4, 500), 1);
        assert_eq!(affordable_views(4, 1_000), 0);
        assert_eq!(affordable_views(4, 20_000), 0);
        // Fewer asked than fit: as asked.
        assert_eq!(affordable_views(2, 120), 2);
    }
}
