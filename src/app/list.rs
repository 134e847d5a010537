//! The one way a selection moves in a list — every pane's lists and every
//! list popup (help, palette, fleet, argument picker, export format, silence
//! durations): `j`/`k` and arrows, `g g`/`G` and Home/End, PgUp/PgDn.

use super::UserAction;

/// Rows a page key moves where the list does not say (popups, small boxes).
pub const PAGE: usize = 10;

/// The selection after motion `a` in a list of `len` rows paged by `page`;
/// `None` when `a` is not a motion (the caller handles it).
pub fn step(a: UserAction, cur: usize, len: usize, page: usize) -> Option<usize> {
    let last = len.saturating_sub(1);
    let page = page.max(1);
    Some(match a {
        UserAction::Up => cur.saturating_sub(1),
        UserAction::Down => cur.saturating_add(1).min(last),
        UserAction::PageUp => cur.saturating_sub(page),
        UserAction::PageDown => cur.saturating_add(page).min(last),
        UserAction::Top => 0,
        UserAction::Bottom => last,
        _ => return None,
    })
}

/// Whether `a` moves a selection (up, down, page, first, last).
pub fn is_motion(a: UserAction) -> bool {
    step(a, 0, 0, 0).is_some()
}

/// Move `sel` by `a`; `Some(moved)` for a motion, `None` for anything else.
pub fn apply(a: UserAction, sel: &mut usize, len: usize, page: usize) -> Option<bool> {
    let next = step(a, *sel, len, page)?;
    let moved = next != *sel;
    *sel = next;
    Some(moved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use UserAction as U;

    #[test]
    fn every_motion_stays_inside_the_list() {
        // (action, from, len, page) → expected
        let cases = [
            (U::Down, 0, 3, 10, 1),
            (U::Down, 2, 3, 10, 2),
            (U::Up, 0, 3, 10, 0),
            (U::Up, 2, 3, 10, 1),
            (U::PageDown, 0, 75, 10, 10),
            (U::PageDown, 70, 75, 10, 74),
            (U::PageUp, 5, 75, 10, 0),
            (U::PageUp, 30, 75, 0, 29),
            (U::Top, 40, 75, 10, 0),
            (U::Bottom, 4, 75, 10, 74),
            (U::Down, 0, 0, 10, 0),
            (U::Bottom, 0, 0, 10, 0),
            (U::Down, usize::MAX, usize::MAX, usize::MAX, usize::MAX - 1),
        ];
        for (a, from, len, page, want) in cases {
            assert_eq!(step(a, from, len, page), Some(want), "{a:?} from {from} of {len}");
        }
        assert_eq!(step(U::Confirm, 1, 3, 10), None, "not a motion");
        let mut sel = 2;
        assert_eq!(apply(U::Down, &mut sel, 3, 10), Some(false), "at the end nothing moves");
        assert_eq!(apply(U::Top, &mut sel, 3, 10), Some(true));
        assert_eq!(sel, 0);
    }
}
