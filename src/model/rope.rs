//! Qwen2-VL multimodal rotary positions (M-RoPE): transformers' `get_rope_index` for one
//! sequence without padding.

/// Prefill positions on the three M-RoPE axes and the offset decode steps add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RopePositions {
    /// `[3, seq_len]` row-major: temporal, height and width axes.
    pub positions: Vec<i64>,
    /// `max(positions) + 1 - seq_len`; a decode step at cache length `past` uses `past + delta`
    /// on all three axes.
    pub delta: i64,
}

/// Positions for `ids`, where each contiguous run of `image_token` is one image whose merged grid
/// is `grids[i]` = `[t, h, w]` in merged tokens (patch grid divided by the merge size).
///
/// Text tokens get the same position on all axes, one past the largest position so far. The
/// tokens of an image starting at offset `o` get `(o + t, o + row, o + col)` in raster order,
/// and text after it resumes at the largest of those plus one.
///
/// # Panics
/// If a run of image tokens does not have exactly `t·h·w` tokens, or there are more runs than
/// grids (the caller builds the ids, so this is a programming error).
pub fn rope_index(ids: &[u32], image_token: u32, grids: &[[usize; 3]]) -> RopePositions {
    let n = ids.len();
    let mut positions = vec![0i64; 3 * n];
    let (t_axis, rest) = positions.split_at_mut(n);
    let (h_axis, w_axis) = rest.split_at_mut(n);
    let mut next = 0i64;
    let mut images = grids.iter();
    let mut i = 0;
    while i < n {
        if ids[i] != image_token {
            t_axis[i] = next;
            h_axis[i] = next;
            w_axis[i] = next;
            next += 1;
            i += 1;
            continue;
        }
        let [t, h, w] = *images.next().expect("one grid per image");
        let count = t * h * w;
        assert!(
            i + count <= n && ids[i..i + count].iter().all(|&id| id == image_token),
            "image token run at {i} is not {count} tokens long"
        );
        for k in 0..count {
            t_axis[i + k] = next + (k / (h * w)) as i64;
            h_axis[i + k] = next + (k / w % h) as i64;
            w_axis[i + k] = next + (k % w) as i64;
        }
        next += t.max(h).max(w) as i64;
        i += count;
    }
    assert!(images.next().is_none(), "more grids than image token runs");
    RopePositions {
        positions,
        delta: next - n as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAD: u32 = 151655;

    #[test]
    fn text_only_counts_up_on_every_axis() {
        let r = rope_index(&[5, 6, 7], PAD, &[]);
        assert_eq!(r.positions, vec![0, 1, 2, 0, 1, 2, 0, 1, 2]);
        assert_eq!(r.delta, 0);
    }

    /// showui-onnx.md B.5: a 224² image (merged grid 8×8) after L text tokens spans L..L+7 on the
    /// row and column axes, text resumes at L+8, and rope_delta is 8 − 64 = −56.
    #[test]
    fn worked_example_from_the_notes() {
        let l = 5;
        let mut ids = vec![1u32; l];
        ids.extend(std::iter::repeat_n(PAD, 64));
        ids.extend([2, 3]);
        let r = rope_index(&ids, PAD, &[[1, 8, 8]]);
        let n = ids.len();
        let (t, h, w) = (
            &r.positions[..n],
            &r.positions[n..2 * n],
            &r.positions[2 * n..],
        );
        assert_eq!(&t[..l], &[0, 1, 2, 3, 4]);
        assert!(t[l..l + 64].iter().all(|&p| p == 5));
        assert_eq!(h[l], 5);
        assert_eq!(h[l + 8], 6);
        assert_eq!(h[l + 63], 12);
        assert_eq!(w[l + 1], 6);
        assert_eq!(w[l + 7], 12);
        assert_eq!(w[l + 8], 5);
        assert_eq!((t[n - 2], h[n - 2], w[n - 2]), (13, 13, 13));
        assert_eq!(t[n - 1], 14);
        assert_eq!(r.delta, 8 - 64);
        assert_eq!(r.delta, 15 - n as i64);
    }

    #[test]
    fn non_square_grids_advance_by_the_longer_side() {
        // Merged grid 2 rows × 3 columns.
        let ids = [1, PAD, PAD, PAD, PAD, PAD, PAD, 2];
        let r = rope_index(&ids, PAD, &[[1, 2, 3]]);
        assert_eq!(
            r.positions,
            vec![
                0, 1, 1, 1, 1, 1, 1, 4, // t
                0, 1, 1, 1, 2, 2, 2, 4, // h
                0, 1, 2, 3, 1, 2, 3, 4, // w
            ]
        );
        assert_eq!(r.delta, 5 - 8);
    }

    #[test]
    fn two_images_each_start_after_the_previous_maximum() {
        let ids = [PAD, PAD, PAD, PAD, 7, PAD];
        let r = rope_index(&ids, PAD, &[[1, 2, 2], [1, 1, 1]]);
        assert_eq!(r.positions[..6], [0, 0, 0, 0, 2, 3]);
        assert_eq!(r.positions[12..], [0, 1, 0, 1, 2, 3]);
        assert_eq!(r.delta, 4 - 6);
    }
}
