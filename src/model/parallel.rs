//! Splitting per-row image work over the CPU cores (scoped threads, no pool).

use std::num::NonZeroUsize;

/// Fewest rows worth a thread of their own.
const MIN_ROWS_PER_THREAD: usize = 32;

/// Calls `f(first_row, chunk)` on consecutive chunks of whole rows of `data` (rows of `row_len`
/// elements), one chunk per core, in parallel; small inputs run on the calling thread.
pub fn for_each_row_chunk<T: Send>(
    data: &mut [T],
    row_len: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let rows = data.len() / row_len.max(1);
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let threads = cores.min(rows / MIN_ROWS_PER_THREAD).max(1);
    if threads == 1 {
        f(0, data);
        return;
    }
    let rows_per_chunk = rows.div_ceil(threads);
    std::thread::scope(|scope| {
        let f = &f;
        for (i, chunk) in data.chunks_mut(rows_per_chunk * row_len).enumerate() {
            scope.spawn(move || f(i * rows_per_chunk, chunk));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_visited_once_with_its_index() {
        for rows in [1, 31, 64, 1000] {
            let mut data = vec![0usize; rows * 3];
            for_each_row_chunk(&mut data, 3, |first, chunk| {
                for (i, row) in chunk.chunks_exact_mut(3).enumerate() {
                    row.iter_mut().for_each(|v| *v += first + i + 1);
                }
            });
            let expected: Vec<usize> = (1..=rows).flat_map(|r| [r, r, r]).collect();
            assert_eq!(data, expected, "{rows} rows");
        }
    }
}
