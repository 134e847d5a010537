//! Table columns that follow the width they get: each column asks for the
//! width of its widest cell among the rows shown, short columns keep their
//! text whole, long ones share what is left, and when even the narrowest
//! useful widths do not fit, whole columns are dropped in a set order —
//! never a column of two characters.
//!
//! A table describes its columns with [`Col`], calls [`plan`] with the
//! inner width, then builds its rows from the [`Plan`]: cells cut to
//! [`Plan::width`], and only the shown ones ([`Plan::pick`]).

use ratatui::layout::Constraint;

/// One column of a table. Widths are in terminal cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Col {
    /// The widest cell of the rows shown, header included.
    pub want: u16,
    /// The narrowest useful width: rather than narrower, the column is
    /// dropped (or, for a column that is never dropped, cut).
    pub min: u16,
    /// The width kept before a droppable column is kept (`min..=want`): a
    /// name stays readable rather than squeezed beside an optional column.
    pub keep: u16,
    /// When the column goes if the table does not fit: 0 never; otherwise
    /// the highest number goes first.
    pub drop: u8,
    /// Takes the space left once every column has its `want`.
    pub grow: bool,
    /// Not in this table at all (a SOURCE column with one source): lets a
    /// table keep one column order whatever it shows.
    pub absent: bool,
}

impl Col {
    /// A column of fixed width (a pid, a percentage), never dropped.
    pub const fn fixed(width: u16) -> Col {
        Col { want: width, min: width, keep: width, drop: 0, grow: false, absent: false }
    }

    /// A text column whose widest cell is `want` and which is cut down to `min`.
    pub fn text(want: usize, min: u16) -> Col {
        let want = u16::try_from(want).unwrap_or(u16::MAX);
        let min = min.min(want);
        Col { want, min, keep: min, drop: 0, grow: false, absent: false }
    }

    /// A column this table does not have now: never shown, takes no space.
    pub const fn absent() -> Col {
        Col { want: 0, min: 0, keep: 0, drop: 0, grow: false, absent: true }
    }

    /// Keeps `width` (at most its `want`) before optional columns are kept.
    pub fn keep(mut self, width: u16) -> Col {
        self.keep = width.min(self.want).max(self.min);
        self
    }

    /// Dropped in turn `order` (the highest first) when the table does not fit.
    pub const fn drop(mut self, order: u8) -> Col {
        self.drop = order;
        self
    }

    /// Takes the space nobody else wants.
    pub const fn grow(mut self) -> Col {
        self.grow = true;
        self
    }
}

/// The widths [`plan`] chose: `None` for a dropped column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    widths: Vec<Option<u16>>,
}

impl Plan {
    /// Column `k`'s width in cells (0 when dropped or out of range).
    pub fn width(&self, k: usize) -> usize {
        self.widths.get(k).copied().flatten().map_or(0, usize::from)
    }

    /// Whether column `k` is drawn.
    pub fn shown(&self, k: usize) -> bool {
        self.widths.get(k).is_some_and(Option::is_some)
    }

    /// The `Table` widths of the shown columns, in order.
    pub fn constraints(&self) -> Vec<Constraint> {
        self.widths.iter().flatten().map(|w| Constraint::Length(*w)).collect()
    }

    /// The items (cells, headers) of the shown columns, in order; `items`
    /// has one per column of the plan.
    pub fn pick<T>(&self, items: impl IntoIterator<Item = T>) -> Vec<T> {
        items.into_iter().zip(&self.widths).filter_map(|(x, w)| w.map(|_| x)).collect()
    }
}

/// Widths for `cols` in `width` cells with `spacing` cells between columns.
///
/// 1. While the columns' `keep` widths do not fit, the column with the
///    highest `drop` goes; a dropped column comes back (lowest `drop` first)
///    when every shown column still gets its `want` with it there.
/// 2. When every `want` fits, the space left goes to the last `grow` column.
///    Otherwise each column gets `min(want, L)` (at least its `keep`) for the
///    largest level `L` that fits: short columns stay whole and the long
///    ones are cut to the same width. Only when nothing is left to drop and
///    the `keep`s still do not fit do columns go down to their `min`.
pub fn plan(cols: &[Col], spacing: u16, width: u16) -> Plan {
    let room = |on: &[bool], f: &dyn Fn(&Col) -> u16| -> u32 {
        let n = on.iter().filter(|o| **o).count() as u32;
        let sum: u32 = cols.iter().zip(on).filter(|(_, o)| **o).map(|(c, _)| u32::from(f(c))).sum();
        sum + u32::from(spacing) * n.saturating_sub(1)
    };
    let width32 = u32::from(width);
    let mut on: Vec<bool> = cols.iter().map(|c| !c.absent).collect();
    while room(&on, &|c| c.keep) > width32 {
        let Some(k) = (0..cols.len()).filter(|k| on[*k] && cols[*k].drop > 0).max_by_key(|k| (cols[*k].drop, *k))
        else {
            break;
        };
        on[k] = false;
    }
    let mut dropped: Vec<usize> = (0..cols.len()).filter(|k| !on[*k] && !cols[*k].absent).collect();
    dropped.sort_by_key(|k| cols[*k].drop);
    for k in dropped {
        on[k] = true;
        if room(&on, &|c| c.want.max(c.min)) > width32 {
            on[k] = false;
        }
    }
    let n = on.iter().filter(|o| **o).count() as u32;
    let avail = width32.saturating_sub(u32::from(spacing) * n.saturating_sub(1));
    let floor_keep = room(&on, &|c| c.keep) <= width32;
    let at = |level: u32, c: &Col| u32::from(c.want).min(level).max(u32::from(if floor_keep { c.keep } else { c.min }));
    let total = |level: u32| -> u32 { cols.iter().zip(&on).filter(|(_, o)| **o).map(|(c, _)| at(level, c)).sum() };
    let top = cols.iter().map(|c| u32::from(c.want)).max().unwrap_or(0);
    let mut w: Vec<u32> = vec![0; cols.len()];
    if total(top) <= avail {
        for k in (0..cols.len()).filter(|k| on[*k]) {
            w[k] = at(top, &cols[k]);
        }
        if let Some(g) = (0..cols.len()).rev().find(|k| on[*k] && cols[*k].grow) {
            w[g] += avail - total(top);
        }
    } else {
        // The largest level that fits (total is monotonic in the level).
        let (mut lo, mut hi) = (0, top);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if total(mid) <= avail { lo = mid } else { hi = mid - 1 }
        }
        let mut spare = avail.saturating_sub(total(lo));
        for k in (0..cols.len()).filter(|k| on[*k]) {
            w[k] = at(lo, &cols[k]);
            // What the level leaves over goes one cell each to the cut columns.
            if spare > 0 && u32::from(cols[k].want) > w[k] {
                w[k] += 1;
                spare -= 1;
            }
        }
    }
    Plan { widths: (0..cols.len()).map(|k| on[k].then(|| u16::try_from(w[k]).unwrap_or(u16::MAX))).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn widths(p: &Plan) -> Vec<Option<u16>> {
        p.widths.clone()
    }

    #[test]
    fn short_columns_stay_whole_and_long_ones_share_the_rest() {
        // name 10, target 12 (whole), probe 80 (cut): the probe gets the rest.
        let cols = [Col::fixed(1), Col::text(10, 6), Col::text(12, 8).grow(), Col::text(80, 12)];
        let p = plan(&cols, 1, 60);
        assert_eq!(widths(&p), vec![Some(1), Some(10), Some(12), Some(34)]);
        // Two long columns are cut to the same width; the sum is the width.
        let cols = [Col::text(50, 8), Col::text(70, 8), Col::fixed(5)];
        let p = plan(&cols, 1, 40);
        assert_eq!(widths(&p), vec![Some(17), Some(16), Some(5)]);
        assert_eq!(p.constraints().len(), 3);
    }

    #[test]
    fn the_space_left_goes_to_the_last_growing_column() {
        let cols = [Col::text(5, 3).grow(), Col::fixed(4), Col::text(6, 4).grow(), Col::fixed(2)];
        assert_eq!(widths(&plan(&cols, 1, 40)), vec![Some(5), Some(4), Some(26), Some(2)]);
        // Without a growing column the rest stays blank.
        let cols = [Col::fixed(4), Col::text(6, 4)];
        assert_eq!(widths(&plan(&cols, 1, 40)), vec![Some(4), Some(6)]);
    }

    #[test]
    fn columns_are_dropped_in_order_rather_than_squeezed() {
        // The process table at 80x24 (46 cells): PID NAME CPU MEM MEM% STATE COMMAND.
        let cols = [
            Col::fixed(8),
            Col::text(16, 8).keep(16).grow(),
            Col::fixed(6),
            Col::fixed(10),
            Col::fixed(5).drop(2),
            Col::text(9, 5).drop(3),
            Col::text(120, 12).drop(1).grow(),
        ];
        let p = plan(&cols, 1, 46);
        assert_eq!(widths(&p), vec![Some(8), Some(19), Some(6), Some(10), None, None, None]);
        assert_eq!(p.pick(["P", "N", "C", "M", "%", "S", "X"]), vec!["P", "N", "C", "M"]);
        assert!(!p.shown(6) && p.width(6) == 0);
        // Wide: everything, the command takes the rest.
        let p = plan(&cols, 1, 120);
        assert!((0..7).all(|k| p.shown(k)), "{p:?}");
        assert_eq!(p.width(6), 120 - 8 - 16 - 6 - 10 - 5 - 9 - 6);
        // A dropped column comes back when it costs nobody anything: here
        // the command must go, and MEM% fits beside the whole name.
        let p = plan(&cols, 1, 54);
        assert_eq!(widths(&p), vec![Some(8), Some(21), Some(6), Some(10), Some(5), None, None]);
        // Narrower than the kept widths with nothing left to drop: down to the minimums.
        let p = plan(&cols, 1, 36);
        assert_eq!(widths(&p), vec![Some(8), Some(9), Some(6), Some(10), None, None, None]);
    }

    #[test]
    fn what_cannot_fit_keeps_its_minimum_and_no_width_overflows() {
        let cols = [Col::fixed(10), Col::text(30, 10)];
        let p = plan(&cols, 1, 12);
        assert_eq!(widths(&p), vec![Some(10), Some(10)], "nothing may drop: minimums, the table clips");
        assert_eq!(widths(&plan(&[], 1, 10)), Vec::<Option<u16>>::new());
        // An absent column takes no space, not even its spacing.
        let p = plan(&[Col::fixed(3), Col::absent(), Col::text(9, 2).grow()], 1, 10);
        assert_eq!(widths(&p), vec![Some(3), None, Some(6)]);
        assert_eq!(widths(&plan(&[Col::text(0, 0)], 1, 0)), vec![Some(0)]);
        // Huge wants do not overflow.
        let cols = [Col::text(usize::MAX, 4), Col::text(usize::MAX, 4).grow()];
        let p = plan(&cols, 1, u16::MAX);
        assert!(p.width(0) + p.width(1) < usize::from(u16::MAX));
    }

    #[test]
    fn a_table_draws_the_planned_widths() {
        use ratatui::buffer::Buffer;
        use ratatui::layout::Rect;
        use ratatui::widgets::{Row, Table, Widget};
        let cols = [Col::fixed(6), Col::text(40, 4).grow(), Col::fixed(3)];
        let p = plan(&cols, 1, 20);
        let long = "abcdefghijklmnopqrstuvwxyz";
        let row = Row::new((0..3).map(|k| crate::text::fit(long, p.width(k))).collect::<Vec<_>>());
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 1));
        Widget::render(Table::new([row], p.constraints()), buf.area, &mut buf);
        let drawn: String = (0..20).map(|x| buf[(x, 0)].symbol()).collect();
        assert_eq!(drawn, "abcde… abcdefgh… ab…");
    }

    proptest::proptest! {
        #[test]
        fn a_plan_fits_whenever_the_minimums_of_the_kept_columns_do(
            spec in proptest::collection::vec((0usize..200, 0u16..20, 0u8..4, proptest::bool::ANY), 0..9),
            width in 0u16..300,
        ) {
            let cols: Vec<Col> = spec
                .iter()
                .map(|(want, min, drop, grow)| {
                    let c = Col::text(*want, *min).drop(*drop);
                    if *grow { c.grow() } else { c }
                })
                .collect();
            let p = plan(&cols, 1, width);
            let shown: Vec<usize> = (0..cols.len()).filter(|k| p.shown(*k)).collect();
            let used: usize = shown.iter().map(|k| p.width(*k)).sum::<usize>() + shown.len().saturating_sub(1);
            let mins: usize =
                shown.iter().map(|k| usize::from(cols[*k].min)).sum::<usize>() + shown.len().saturating_sub(1);
            proptest::prop_assert!(used <= usize::from(width) || used == mins, "{cols:?} {p:?} in {width}");
            for k in &shown {
                proptest::prop_assert!(p.width(*k) >= usize::from(cols[*k].min));
            }
            // Never-dropped columns are always there.
            proptest::prop_assert!(!p.shown(cols.len()));
            for (k, c) in cols.iter().enumerate() {
                proptest::prop_assert!(c.drop > 0 || p.shown(k));
            }
        }
    }
}
