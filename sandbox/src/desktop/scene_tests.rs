//! Tests of the whole desktop: input semantics and rendered pixels.

use super::*;
use crate::desktop::keysym::{BACKSPACE, CONTROL_L, KP_ENTER, RETURN, SHIFT_L, TAB};

fn press(desktop: &mut Desktop, keysym: u32) {
    desktop.apply(&DesktopInput::KeyPress { keysym });
}

fn type_str(desktop: &mut Desktop, text: &str) {
    for c in text.chars() {
        press(desktop, c as u32);
    }
}

fn click_at(desktop: &mut Desktop, x: u32, y: u32) {
    desktop.apply(&DesktopInput::Move {
        x: x as i32,
        y: y as i32,
    });
    desktop.apply(&DesktopInput::Click { code: 1 });
}

fn frame(desktop: &mut Desktop) -> Vec<u8> {
    let (w, h) = desktop.size();
    let mut out = vec![0; (w * h * 4) as usize];
    desktop.render(1, 2, &mut out);
    out
}

fn pixel(desktop: &Desktop, buf: &[u8], (x, y): (u32, u32)) -> [u8; 3] {
    let i = ((y * desktop.size().0 + x) * 4) as usize;
    [buf[i], buf[i + 1], buf[i + 2]]
}

#[test]
fn clicking_inside_a_region_toggles_it() {
    let mut desktop = Desktop::new(1280, 720);
    let red = desktop.region("red").unwrap();
    assert_eq!(red.color, [220, 40, 40]);
    assert!(red.rect.w >= 128);
    click_at(&mut desktop, red.rect.center().0, red.rect.center().1);
    let red_after = desktop.region("red").unwrap();
    assert!(red_after.clicked);
    assert_eq!(red_after.clicks, 1);
    assert_ne!(red_after.color, red.color);

    desktop.apply(&DesktopInput::ButtonDown { code: 1 });
    desktop.apply(&DesktopInput::ButtonUp { code: 1 });
    let red_again = desktop.region("red").unwrap();
    assert!(!red_again.clicked);
    assert_eq!(red_again.clicks, 2);
    assert_eq!(red_again.color, red.color);
}

#[test]
fn clicks_outside_regions_or_with_other_buttons_do_nothing() {
    let mut desktop = Desktop::new(1280, 720);
    let blue = desktop.region("blue").unwrap();
    click_at(&mut desktop, blue.rect.x - 1, blue.rect.y);
    desktop.apply(&DesktopInput::Move {
        x: blue.rect.center().0 as i32,
        y: blue.rect.center().1 as i32,
    });
    desktop.apply(&DesktopInput::Click { code: 3 });
    assert!(
        desktop
            .regions()
            .iter()
            .all(|r| !r.clicked && r.clicks == 0)
    );
    assert!(desktop.region("purple").is_none());
}

#[test]
fn rendered_region_centres_show_their_colours() {
    let mut desktop = Desktop::new(1280, 720);
    let out = frame(&mut desktop);
    for region in desktop.regions() {
        assert_eq!(pixel(&desktop, &out, region.rect.center()), region.color);
    }
    let green = desktop.region("green").unwrap();
    click_at(
        &mut desktop,
        green.rect.x + 5,
        green.rect.y + green.rect.h - 5,
    );
    let out = frame(&mut desktop);
    let green = desktop.region("green").unwrap();
    assert_eq!(pixel(&desktop, &out, green.rect.center()), green.color);
    assert_ne!(green.color, [40, 180, 60]);
}

#[test]
fn render_carries_the_stamp_and_draws_the_cursor() {
    let mut desktop = Desktop::new(1280, 720);
    desktop.apply(&DesktopInput::Move { x: 700, y: 650 });
    let mut out = vec![0; 1280 * 720 * 4];
    desktop.render(12_345, 1_700_000_000_321, &mut out);
    assert_eq!(
        stamp::decode(&out, 1280 * 4, 4),
        Some(1_700_000_000_321 & ((1 << stamp::VALUE_BITS) - 1))
    );
    // The arrow's tip is black outline, right below it white fill.
    assert_eq!(pixel(&desktop, &out, (700, 650)), [0, 0, 0]);
    assert_eq!(pixel(&desktop, &out, (701, 653)), [255, 255, 255]);
    // Moving the pointer away restores the background there.
    desktop.apply(&DesktopInput::Move { x: 10, y: 700 });
    desktop.render(12_346, 0, &mut out);
    assert_ne!(pixel(&desktop, &out, (701, 653)), [255, 255, 255]);
}

#[test]
fn typing_follows_shift() {
    let mut desktop = Desktop::new(1280, 720);
    type_str(&mut desktop, "Hi");
    desktop.apply(&DesktopInput::KeyDown { keysym: SHIFT_L });
    type_str(&mut desktop, "ab!");
    desktop.apply(&DesktopInput::KeyUp { keysym: SHIFT_L });
    type_str(&mut desktop, "C");
    assert_eq!(desktop.text(), "hiAB!c");
}

#[test]
fn unicode_backspace_return_and_tab() {
    let mut desktop = Desktop::new(1280, 720);
    press(&mut desktop, 0x0100_20ac);
    press(&mut desktop, 0x0100_6f22);
    press(&mut desktop, BACKSPACE);
    press(&mut desktop, RETURN);
    type_str(&mut desktop, "x");
    press(&mut desktop, KP_ENTER);
    press(&mut desktop, TAB);
    press(&mut desktop, 0xffbe); // F1 types nothing
    assert_eq!(desktop.text(), "€\nx\n    ");
    frame(&mut desktop);
}

#[test]
fn paste_select_all_and_ctrl_shortcuts() {
    let mut desktop = Desktop::new(1280, 720);
    desktop.apply(&DesktopInput::Paste {
        text: "héllo 漢".into(),
    });
    assert_eq!(desktop.text(), "héllo 漢");
    frame(&mut desktop);

    desktop.apply(&DesktopInput::KeyDown { keysym: CONTROL_L });
    press(&mut desktop, 'a' as u32);
    press(&mut desktop, 'q' as u32);
    desktop.apply(&DesktopInput::KeyUp { keysym: CONTROL_L });
    assert_eq!(desktop.text(), "héllo 漢", "Ctrl+Q types nothing");
    press(&mut desktop, BACKSPACE);
    assert_eq!(desktop.text(), "");

    desktop.apply(&DesktopInput::KeyDown { keysym: CONTROL_L });
    press(&mut desktop, 'v' as u32);
    press(&mut desktop, 'V' as u32);
    assert_eq!(desktop.text(), "héllo 漢héllo 漢");
    press(&mut desktop, 'a' as u32);
    press(&mut desktop, 'x' as u32);
    desktop.apply(&DesktopInput::ReleaseAll);
    assert_eq!(desktop.text(), "");
    type_str(&mut desktop, "v");
    assert_eq!(desktop.text(), "v");
}

#[test]
fn release_all_clears_held_keys_and_buttons() {
    let mut desktop = Desktop::new(640, 480);
    desktop.apply(&DesktopInput::KeyDown { keysym: SHIFT_L });
    desktop.apply(&DesktopInput::ButtonDown { code: 3 });
    assert_eq!(desktop.held_keys(), &[SHIFT_L]);
    assert_eq!(desktop.held_buttons(), &[3]);
    desktop.apply(&DesktopInput::ReleaseAll);
    assert!(desktop.held_keys().is_empty() && desktop.held_buttons().is_empty());
    type_str(&mut desktop, "A");
    assert_eq!(desktop.text(), "a");
}

#[test]
fn scroll_is_counted_and_moves_the_text_view() {
    let mut desktop = Desktop::new(1280, 720);
    let lines: String = (0..100).map(|i| format!("line {i}\n")).collect();
    desktop.apply(&DesktopInput::Paste { text: lines });
    let before = frame(&mut desktop);
    desktop.apply(&DesktopInput::Scroll {
        delta_x: 2,
        delta_y: -5,
    });
    let after = frame(&mut desktop);
    assert_eq!(
        desktop.scroll_stats(),
        ScrollStats {
            x: 2,
            y: -5,
            events: 1
        }
    );
    let text_box = desktop.layout.text_box;
    let row = |buf: &[u8], y: u32| {
        let start = ((y * 1280 + text_box.x) * 4) as usize;
        buf[start..start + (text_box.w * 4) as usize].to_vec()
    };
    let changed = (text_box.y..text_box.y + text_box.h).any(|y| row(&before, y) != row(&after, y));
    assert!(changed, "the text box view moved");
}

#[test]
fn resize_rescales_regions_and_clamps_the_cursor() {
    let mut desktop = Desktop::new(1920, 1080);
    desktop.apply(&DesktopInput::Move { x: 1900, y: 1000 });
    let big = desktop.region("yellow").unwrap();
    desktop.resize(1280, 720);
    assert_eq!(desktop.size(), (1280, 720));
    assert_eq!(desktop.cursor(), (1279, 719));
    let small = desktop.region("yellow").unwrap();
    // Two thirds of the 1080p geometry, up to rounding.
    assert!((small.rect.x * 3).abs_diff(big.rect.x * 2) <= 3);
    assert!((small.rect.w * 3).abs_diff(big.rect.w * 2) <= 3);
    assert!(small.rect.w < big.rect.w);
    click_at(&mut desktop, small.rect.center().0, small.rect.center().1);
    let out = frame(&mut desktop);
    let small = desktop.region("yellow").unwrap();
    assert!(small.clicked);
    // The arrow hangs right and down from the pointer, so up-left of it is clean.
    let (cx, cy) = small.rect.center();
    assert_eq!(pixel(&desktop, &out, (cx, cy)), [0, 0, 0]);
    assert_eq!(pixel(&desktop, &out, (cx - 4, cy - 4)), small.color);
}

#[test]
fn cursor_is_clamped_to_the_screen() {
    let mut desktop = Desktop::new(800, 600);
    assert_eq!(desktop.cursor(), (400, 300));
    desktop.apply(&DesktopInput::Move { x: -50, y: 10_000 });
    assert_eq!(desktop.cursor(), (0, 599));
    desktop.apply(&DesktopInput::Move {
        x: i32::MAX,
        y: i32::MIN,
    });
    assert_eq!(desktop.cursor(), (799, 0));
    frame(&mut desktop);
}

#[test]
fn degenerate_sizes_and_buffers_do_not_panic() {
    let mut desktop = Desktop::new(0, 0);
    assert_eq!(desktop.size(), (1, 1));
    let mut out = vec![0; 4];
    desktop.render(0, 0, &mut out);
    desktop.resize(u32::MAX, 3);
    assert_eq!(desktop.size(), (8192, 3));
    desktop.apply(&DesktopInput::Paste {
        text: "x".repeat(100),
    });
    desktop.apply(&DesktopInput::Scroll {
        delta_x: i32::MIN,
        delta_y: i32::MIN,
    });
    desktop.render(u64::MAX, u64::MAX, &mut out);
    desktop.render(u64::MAX, u64::MAX, &mut []);
    desktop.resize(1280, 720);
    let mut short = vec![0; 1280 * 10 * 4 + 3];
    desktop.render(1, 1, &mut short);
    let mut long = vec![0; 1280 * 720 * 4 + 100];
    desktop.render(1, 1, &mut long);
}

/// Prints how long rendering takes; run with `--ignored --nocapture`.
#[test]
#[ignore = "timing report, not a check"]
fn render_timing() {
    for (w, h) in [(1280, 720), (1920, 1080)] {
        let mut desktop = Desktop::new(w, h);
        let mut out = vec![0; (w * h * 4) as usize];
        desktop.render(0, 0, &mut out);
        let frames = 60;
        let start = std::time::Instant::now();
        for i in 0..frames {
            desktop.apply(&DesktopInput::Move { x: i * 7, y: i * 5 });
            desktop.render(i as u64, i as u64, &mut out);
        }
        let steady = start.elapsed() / frames as u32;
        let start = std::time::Instant::now();
        for i in 0..frames {
            press(&mut desktop, 'a' as u32 + (i as u32 % 26));
            desktop.render(i as u64, i as u64, &mut out);
        }
        let typing = start.elapsed() / frames as u32;
        println!("{w}x{h}: {steady:?} per frame, {typing:?} per frame while typing");
    }
}

#[test]
fn set_clipboard_types_nothing_until_ctrl_v() {
    let mut desktop = Desktop::new(320, 240);
    let clipboard = Clipboard {
        text: "from the client".into(),
        html: "<b>from the client</b>".into(),
    };
    desktop.apply(&DesktopInput::SetClipboard(clipboard.clone()));
    assert_eq!(desktop.text(), "");
    assert_eq!(desktop.clipboard(), &clipboard);

    desktop.apply(&DesktopInput::KeyDown { keysym: CONTROL_L });
    press(&mut desktop, 'v' as u32);
    press(&mut desktop, 'a' as u32);
    press(&mut desktop, 'c' as u32);
    desktop.apply(&DesktopInput::KeyUp { keysym: CONTROL_L });
    assert_eq!(desktop.text(), "from the client");
    assert_eq!(
        desktop.clipboard(),
        &Clipboard::plain("from the client"),
        "a copy leaves plain text only"
    );
}
