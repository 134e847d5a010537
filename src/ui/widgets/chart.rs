//! A time chart: y axis with unit labels, x axis with window labels, series
//! drawn in braille (2x4 dots a cell), half blocks (1x2) or ASCII (1x3), gaps
//! left empty, thresholds drawn as dashed lines with a glyph on the axis and
//! data above them recoloured.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Widget;

use crate::config::settings::Marker;

pub struct ChartSeries {
    /// One value per x dot (see [`TimeChart::x_dots`]); NaN = gap.
    pub values: Vec<f32>,
    pub style: Style,
}

#[derive(Clone, Copy)]
pub struct Threshold {
    pub value: f64,
    pub style: Style,
    pub critical: bool,
}

pub struct TimeChart {
    pub marker: Marker,
    pub y_min: f64,
    pub y_max: f64,
    pub y_fmt: fn(f64) -> String,
    pub x_labels: [String; 2],
    pub series: Vec<ChartSeries>,
    pub thresholds: Vec<Threshold>,
    /// Positions in [0, 1] along the time axis to mark (annotations), with their style.
    pub marks: Vec<(f64, Style)>,
    pub axis_style: Style,
    pub label_style: Style,
}

impl TimeChart {
    /// Dots per cell (x, y) for the marker.
    pub fn resolution(marker: Marker) -> (u16, u16) {
        match marker {
            Marker::Braille => (2, 4),
            Marker::Block => (1, 2),
            Marker::Ascii => (1, 3),
        }
    }

    fn label_width(&self) -> u16 {
        [self.y_max, (self.y_min + self.y_max) / 2.0, self.y_min]
            .iter()
            .map(|v| (self.y_fmt)(*v).chars().count())
            .max()
            .unwrap_or(0) as u16
    }

    /// Where the data goes inside `area`.
    pub fn plot_area(&self, area: Rect) -> Rect {
        let lw = self.label_width() + 1;
        if area.width <= lw + 2 || area.height < 3 {
            return Rect::new(area.x, area.y, area.width, area.height);
        }
        Rect::new(area.x + lw, area.y, area.width - lw, area.height - 1)
    }

    /// How many values each series needs for `area`.
    pub fn x_dots(&self, area: Rect) -> usize {
        (self.plot_area(area).width * Self::resolution(self.marker).0) as usize
    }
}

impl Widget for TimeChart {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let plot = self.plot_area(area);
        if plot.width == 0 || plot.height == 0 {
            return;
        }
        let (xr, yr) = Self::resolution(self.marker);
        let (w, h) = (plot.width as usize * xr as usize, plot.height as usize * yr as usize);
        let span = (self.y_max - self.y_min).max(f64::EPSILON);
        let dot_row =
            |v: f64| -> usize { (((v - self.y_min) / span).clamp(0.0, 1.0) * (h - 1) as f64).round() as usize };

        // Per series and x dot, the dot rows its line covers (y = 0 at the
        // bottom): the value's row, joined to the previous value's row.
        let n = self.series.len();
        let mut ranges: Vec<Option<(usize, usize)>> = vec![None; n * w];
        for (si, s) in self.series.iter().enumerate() {
            let mut prev: Option<usize> = None;
            for x in 0..w.min(s.values.len()) {
                let v = s.values[x];
                if !v.is_finite() {
                    prev = None;
                    continue;
                }
                let y = dot_row(f64::from(v));
                ranges[si * w + x] = Some(match prev {
                    Some(p) if p < y => (p + 1, y),
                    Some(p) if p > y => (y, p - 1),
                    _ => (y, y),
                });
                prev = Some(y);
            }
        }
        let th_rows: Vec<(usize, Threshold)> = self
            .thresholds
            .iter()
            .filter(|t| t.value > self.y_min && t.value < self.y_max)
            .map(|t| (dot_row(t.value), *t))
            .collect();
        let (xu, yu) = (usize::from(xr), usize::from(yr));
        // The cell row (from the top) that holds dot row `gy`.
        let cell_row = |gy: usize| (h - 1 - gy) / yu;
        // A cell's dots: (bit pattern, highest series index + 1, highest dot row).
        let dots = |cx: usize, cy: usize| -> (u8, usize, usize) {
            let top = h - 1 - cy * yu;
            let (mut bits, mut owner, mut highest) = (0u8, 0usize, 0usize);
            for dx in 0..xu {
                for si in 0..n {
                    let Some((lo, hi)) = ranges[si * w + cx * xu + dx] else { continue };
                    let (from, to) = (lo.max(top + 1 - yu), hi.min(top));
                    for gy in from..=to {
                        bits |= dot_bit(self.marker, dx, top - gy);
                        owner = owner.max(si + 1);
                        highest = highest.max(gy);
                    }
                }
            }
            (bits, owner, highest)
        };
        let dash = if self.marker == Marker::Ascii { '.' } else { '╌' };
        for cx in 0..plot.width as usize {
            // Only the rows this column's lines reach hold data.
            let mut rows: Option<(usize, usize)> = None;
            for dx in 0..xu {
                for si in 0..n {
                    if let Some((lo, hi)) = ranges[si * w + cx * xu + dx] {
                        let (a, b) = (cell_row(hi), cell_row(lo));
                        rows = Some(rows.map_or((a, b), |(r0, r1)| (r0.min(a), r1.max(b))));
                    }
                }
            }
            let mut drawn = |cy: usize| -> bool {
                let (bits, owner, highest) = dots(cx, cy);
                if bits == 0 {
                    return false;
                }
                let mut style = self.series[owner - 1].style;
                // The strongest threshold crossed in this cell wins.
                let crossed = th_rows.iter().filter(|(ty, _)| highest >= *ty).max_by_key(|(ty, t)| (t.critical, *ty));
                if let Some((_, t)) = crossed {
                    style = style.patch(t.style);
                }
                if let Some(cell) = buf.cell_mut((plot.x + cx as u16, plot.y + cy as u16)) {
                    cell.set_char(glyph(self.marker, bits)).set_style(style);
                }
                true
            };
            let mut data_rows = Vec::new();
            if let Some((r0, r1)) = rows {
                for cy in r0..=r1 {
                    if drawn(cy) {
                        data_rows.push(cy);
                    }
                }
            }
            // Threshold lines where no data is: the first threshold in a cell.
            for (i, (ty, t)) in th_rows.iter().enumerate() {
                let cy = cell_row(*ty);
                if data_rows.contains(&cy) || th_rows[..i].iter().any(|(y, _)| cell_row(*y) == cy) {
                    continue;
                }
                if let Some(cell) = buf.cell_mut((plot.x + cx as u16, plot.y + cy as u16)) {
                    cell.set_char(dash).set_style(t.style);
                }
            }
        }

        // annotation marks: a dotted column wherever no data is drawn
        for (pos, style) in &self.marks {
            let cx = plot.x + ((pos.clamp(0.0, 1.0)) * f64::from(plot.width.saturating_sub(1))).round() as u16;
            for cy in plot.y..plot.y + plot.height {
                if let Some(cell) = buf.cell_mut((cx, cy))
                    && (cell.symbol() == " " || cell.symbol() == "╌" || cell.symbol() == ".")
                {
                    cell.set_char(if self.marker == Marker::Ascii { ':' } else { '┊' }).set_style(*style);
                }
            }
        }

        // No room for the axes (a tiny box): the data alone, never drawn
        // over the box's border.
        if plot.x == area.x {
            return;
        }
        // y axis: line, labels at top / middle / bottom, threshold glyphs
        let ax = plot.x - 1;
        let ascii = self.marker == Marker::Ascii;
        for y in plot.y..plot.y + plot.height {
            if let Some(c) = buf.cell_mut((ax, y)) {
                c.set_char(if ascii { '|' } else { '│' }).set_style(self.axis_style);
            }
        }
        for (ty, t) in &th_rows {
            let cy = plot.y + (plot.height - 1) - (*ty / yr as usize) as u16;
            let g = match (ascii, t.critical) {
                (true, true) => '!',
                (true, false) => '^',
                (false, true) => '▲',
                (false, false) => '△',
            };
            if let Some(c) = buf.cell_mut((ax, cy)) {
                c.set_char(g).set_style(t.style);
            }
        }
        let lw = ax.saturating_sub(area.x);
        let mid = (self.y_min + self.y_max) / 2.0;
        let labels = [(plot.y, self.y_max), (plot.y + plot.height / 2, mid), (plot.y + plot.height - 1, self.y_min)];
        for (i, (y, v)) in labels.iter().enumerate() {
            if i == 1 && plot.height < 5 {
                continue;
            }
            let s = (self.y_fmt)(*v);
            let x = area.x + lw.saturating_sub(s.chars().count() as u16);
            buf.set_stringn(x, *y, &s, lw as usize, self.label_style);
        }
        // x axis
        let by = plot.y + plot.height;
        if by < area.y + area.height {
            if let Some(c) = buf.cell_mut((ax, by)) {
                c.set_char(if ascii { '+' } else { '└' }).set_style(self.axis_style);
            }
            let line = if ascii { "-" } else { "─" };
            for x in plot.x..plot.x + plot.width {
                buf.set_string(x, by, line, self.axis_style);
            }
            let [left, right] = &self.x_labels;
            buf.set_stringn(plot.x, by, left, plot.width as usize, self.label_style);
            let rw = right.chars().count() as u16;
            if plot.width > left.chars().count() as u16 + rw + 1 {
                buf.set_string(plot.x + plot.width - rw, by, right, self.label_style);
            }
        }
    }
}

fn dot_bit(marker: Marker, dx: usize, dy: usize) -> u8 {
    match marker {
        // braille dot numbering: column-major 1-2-3 then 4-5-6, 7 and 8 on the last row
        Marker::Braille => match (dx, dy) {
            (0, 3) => 0x40,
            (1, 3) => 0x80,
            (0, y) => 1 << y,
            (_, y) => 1 << (y + 3),
        },
        _ => 1 << dy,
    }
}

fn glyph(marker: Marker, bits: u8) -> char {
    match marker {
        Marker::Braille => char::from_u32(0x2800 + u32::from(bits)).unwrap_or('⣿'),
        Marker::Block => match bits {
            1 => '▀',
            2 => '▄',
            _ => '█',
        },
        Marker::Ascii => match bits {
            1 => '\'',
            2 => '-',
            4 => '_',
            _ => '|',
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(marker: Marker, values: Vec<f32>) -> TimeChart {
        TimeChart {
            marker,
            y_min: 0.0,
            y_max: 100.0,
            y_fmt: |v| format!("{v:.0}"),
            x_labels: ["-1m".into(), "now".into()],
            series: vec![ChartSeries { values, style: Style::default() }],
            thresholds: vec![Threshold { value: 50.0, style: Style::default(), critical: true }],
            marks: Vec::new(),
            axis_style: Style::default(),
            label_style: Style::default(),
        }
    }

    fn render(c: TimeChart, w: u16, h: u16) -> Vec<String> {
        let area = Rect::new(0, 0, w, h);
        let mut buf = Buffer::empty(area);
        c.render(area, &mut buf);
        (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect()).collect()
    }

    #[test]
    fn ascii_chart_has_axes_gaps_and_threshold() {
        let c = chart(Marker::Ascii, vec![]);
        let n = c.x_dots(Rect::new(0, 0, 12, 5));
        let mut v = vec![f32::NAN; n];
        v[0] = 0.0;
        v[1] = 0.0;
        v[n - 1] = 100.0;
        let mut c = chart(Marker::Ascii, vec![]);
        c.series[0].values = v;
        let lines = render(c, 12, 5);
        assert!(lines[0].starts_with("100|"), "{lines:?}");
        assert!(lines[3].starts_with("  0|__"), "{lines:?}");
        assert!(lines[0].ends_with('\''), "max at top right: {lines:?}");
        assert!(lines[4].contains("-1m") && lines[4].ends_with("now"), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains('!')), "threshold glyph on the axis: {lines:?}");
        // the gap between x=1 and the last point stays empty except the threshold dashes
        assert!(!lines[3][6..10].contains('_'), "{lines:?}");
    }

    #[test]
    fn annotation_marks_draw_a_column_where_no_data_is() {
        let mut c = chart(Marker::Ascii, vec![0.0; 8]);
        c.thresholds.clear();
        c.marks = vec![(0.5, Style::default())];
        let lines = render(c, 12, 5);
        let col: String = lines[..3].iter().map(|l| l.chars().nth(4 + 4).unwrap_or(' ')).collect();
        assert_eq!(col, ":::", "{lines:?}");
        assert!(lines[3].contains('_'), "data is not overwritten: {lines:?}");
    }

    #[test]
    fn braille_dots_encode() {
        assert_eq!(glyph(Marker::Braille, dot_bit(Marker::Braille, 0, 0)), '⠁');
        assert_eq!(glyph(Marker::Braille, dot_bit(Marker::Braille, 1, 3)), '⢀');
    }

    #[test]
    fn tiny_areas_do_not_panic_or_draw_outside() {
        for w in 0..8 {
            for h in 0..5 {
                let c = chart(Marker::Braille, vec![50.0; 20]);
                render(c, w, h);
            }
        }
        // Too small for axes: nothing is drawn left of the area (the box's
        // border), so no threshold glyph lands on it.
        let mut buf = Buffer::empty(Rect::new(0, 0, 10, 3));
        buf.set_string(0, 0, "│", Style::default());
        buf.set_string(0, 1, "│", Style::default());
        chart(Marker::Braille, vec![60.0; 20]).render(Rect::new(1, 0, 4, 2), &mut buf);
        assert_eq!((buf[(0, 0)].symbol(), buf[(0, 1)].symbol()), ("│", "│"));
    }
}
