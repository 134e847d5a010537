use ratatui::Terminal;
use ratatui::layout::Size;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::*;

fn term(w: u16, h: u16) -> Terminal<LeanBackend<Vec<u8>>> {
    Terminal::new(LeanBackend::with_size(Vec::new(), Size { width: w, height: h })).unwrap()
}

/// Draw `line` on row 0 and return the bytes written for it.
fn frame(t: &mut Terminal<LeanBackend<Vec<u8>>>, line: Line<'static>) -> Vec<u8> {
    t.draw(|f| f.render_widget(line, f.area())).unwrap();
    std::mem::take(t.backend_mut().writer_mut())
}

fn s(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn first_frame_states_the_pen_once_and_hides_the_cursor() {
    let mut t = term(10, 2);
    let out = frame(&mut t, Line::from(Span::styled("ab", Style::new().fg(Color::Red))));
    assert_eq!(s(&out), "\x1b[1;1H\x1b[0;31mab\x1b[?25l");
}

#[test]
fn an_unchanged_cell_between_two_changes_is_reprinted_instead_of_moving_over_it() {
    let mut t = term(10, 2);
    frame(&mut t, Line::from("abcdef"));
    frame(&mut t, Line::from("Xbcdef"));
    // The cursor is after X; "b" is one byte, a move three.
    assert_eq!(s(&frame(&mut t, Line::from("XbYdef"))), "bY");
}

#[test]
fn a_longer_gap_on_the_same_row_is_a_relative_move() {
    let mut t = term(20, 2);
    frame(&mut t, Line::from("abcdefghij"));
    frame(&mut t, Line::from("Xbcdefghij"));
    assert_eq!(s(&frame(&mut t, Line::from("XbcdefghiY"))), "\x1b[8CY");
}

#[test]
fn a_gap_in_another_style_is_moved_over_not_reprinted() {
    let mut t = term(10, 2);
    let red = Style::new().fg(Color::Red);
    frame(&mut t, Line::from(vec![Span::raw("a"), Span::styled("b", red), Span::raw("c")]));
    frame(&mut t, Line::from(vec![Span::raw("X"), Span::styled("b", red), Span::raw("c")]));
    assert_eq!(s(&frame(&mut t, Line::from(vec![Span::raw("X"), Span::styled("b", red), Span::raw("Y")]))), "\x1b[CY");
}

#[test]
fn only_the_colour_that_changed_is_named() {
    let mut t = term(10, 1);
    let base = Style::new().fg(Color::Rgb(1, 2, 3)).bg(Color::Rgb(4, 5, 6));
    frame(&mut t, Line::from(vec![Span::styled("a", base), Span::styled("b", base.fg(Color::Indexed(200)))]));
    let out = frame(&mut t, Line::from(vec![Span::styled("c", base), Span::styled("d", base.fg(Color::White))]));
    assert_eq!(s(&out), "\x1b[1;1H\x1b[38;2;1;2;3mc\x1b[97md");
}

#[test]
fn bold_to_dim_turns_intensity_off_then_dim_on() {
    let mut t = term(10, 1);
    frame(&mut t, Line::from(Span::styled("a", Style::new().add_modifier(Modifier::BOLD))));
    let out = frame(&mut t, Line::from(Span::styled("b", Style::new().add_modifier(Modifier::DIM))));
    assert_eq!(s(&out), "\x1b[1;1H\x1b[22;2mb");
}

#[test]
fn an_underline_colour_is_a_sequence_of_its_own() {
    let mut t = term(10, 1);
    let out = frame(&mut t, Line::from(Span::styled("a", Style::new().underline_color(Color::Rgb(9, 8, 7)))));
    assert_eq!(s(&out), "\x1b[1;1H\x1b[0m\x1b[58;2;9;8;7ma\x1b[?25l");
}

#[test]
fn after_a_wide_cell_the_next_one_is_addressed_absolutely() {
    let mut t = term(10, 1);
    let out = frame(&mut t, Line::from("コa"));
    assert_eq!(s(&out), "\x1b[1;1H\x1b[0mコ\x1b[1;3Ha\x1b[?25l");
}

#[test]
fn a_clear_erases_with_the_default_pen_and_everything_is_drawn_again() {
    let mut t = term(10, 1);
    let red = Style::new().bg(Color::Red);
    frame(&mut t, Line::from(Span::styled("ab", red)));
    t.clear().unwrap();
    let cleared = std::mem::take(t.backend_mut().writer_mut());
    // Back to the default background (erasing uses the current one); the
    // hidden cursor is not moved back.
    assert_eq!(s(&cleared), "\x1b[49m\x1b[2J");
    assert_eq!(s(&frame(&mut t, Line::from(Span::styled("ab", red)))), "\x1b[1;1H\x1b[41mab");
}

#[test]
fn nothing_changed_writes_nothing() {
    let mut t = term(10, 1);
    frame(&mut t, Line::from("ab"));
    assert_eq!(frame(&mut t, Line::from("ab")), b"");
}

#[test]
fn a_shown_cursor_is_moved_where_the_frame_wants_it() {
    let mut t = term(10, 2);
    t.draw(|f| {
        f.render_widget(Line::from("ab"), f.area());
        f.set_cursor_position((5, 1));
    })
    .unwrap();
    let out = std::mem::take(t.backend_mut().writer_mut());
    assert_eq!(s(&out), "\x1b[1;1H\x1b[0mab\x1b[?25h\x1b[2;6H");
}
