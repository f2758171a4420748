//! The server folds recorded histogram samples into their buckets by itself:
//! one that nobody scrapes does not keep every sample it ever recorded (a few
//! per stored message).
use std::time::Duration;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// Bytes live in this test process.
fn live() -> isize {
    dhat::HeapStats::get().curr_bytes as isize
}

/// Rounds of samples recorded one upkeep period apart, as a busy server
/// records them: memory held by samples must stay that of a round or two,
/// not grow with every round (it grew by all of them before the upkeep).
#[test]
fn histogram_samples_are_folded_without_a_scrape() {
    let _profiler = dhat::Profiler::builder().testing().build();
    chat_server::metrics::init();
    let histogram = metrics::histogram!("chat_test_upkeep_seconds");
    histogram.record(0.0);
    let before = live();
    let mut round_bytes = 0;
    let mut held = Vec::new();
    for round in 0..6 {
        let start = live();
        for i in 0..200_000 {
            histogram.record(f64::from(i) * 1e-6);
        }
        if round == 0 {
            round_bytes = live() - start;
            assert!(
                round_bytes > 1_000_000,
                "200,000 samples wait for the next upkeep in memory: {round_bytes} bytes"
            );
        }
        // Folded samples are freed once later recordings move the
        // collector's epoch on, as traffic does.
        std::thread::sleep(UPKEEP_WAIT);
        held.push(live() - before);
    }
    let last = held[held.len() - 1];
    assert!(
        last < 3 * round_bytes,
        "memory held by samples after 6 rounds of {round_bytes} bytes, nothing scraping: {held:?}"
    );
}

/// Longer than the server's upkeep period.
const UPKEEP_WAIT: Duration = Duration::from_millis(2_500);
