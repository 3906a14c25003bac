//! A sweep's plots: one SVG per `[[plot]]` table (or the default ones, docs/sweep.md),
//! column `y` against column `x` of every row that has both, one colour per series,
//! optionally joined by lines, with the Pareto front marked and the legend in a column of
//! its own. SVG from plotters' own
//! backend, without fonts: no system library is needed to build or run it. Log axes
//! plot `log10` of the values and label the ticks with the values themselves.

use plotters::prelude::*;

use super::spec::{Front, PlotSpec};

/// One row on a plot.
pub struct Point {
    pub series: String,
    pub x: f64,
    pub y: f64,
}

/// The points on the Pareto front, by increasing x: each better in y than every point
/// with as small an x or smaller.
pub fn pareto(points: &[(f64, f64)], front: Front) -> Vec<(f64, f64)> {
    let better = |a: f64, b: f64| match front {
        Front::Max => a > b,
        Front::Min => a < b,
    };
    let mut v = points.to_vec();
    v.sort_by(|a, b| {
        a.0.total_cmp(&b.0).then(match front {
            Front::Max => b.1.total_cmp(&a.1),
            Front::Min => a.1.total_cmp(&b.1),
        })
    });
    let mut out: Vec<(f64, f64)> = Vec::new();
    for p in v {
        if out.last().is_none_or(|l| better(p.1, l.1)) {
            out.push(p);
        }
    }
    out
}

/// How an axis shows a column.
pub fn describe(column: &str) -> String {
    match column {
        "luts" => "LUTs (unit alone)".into(),
        "ffs" => "flip-flops".into(),
        "dsps" => "DSP blocks".into(),
        "carries" => "carry cells".into(),
        "logic_cells" => "logic cells (unit and wrapper)".into(),
        "fmax_mhz" => "Fmax (MHz, post-route)".into(),
        "mmacs_per_lut" => "MAC/s per LUT (millions)".into(),
        "macs_per_cycle" => "products per cycle".into(),
        "snr_db" => "SNR against the exact result (dB)".into(),
        "rel_rms" => "relative RMS error".into(),
        "max_rel" => "largest error / RMS of the exact results".into(),
        "flagged" => "share of results flagged (overflow)".into(),
        "k" => "dot-product length K".into(),
        "latency" => "latency (cycles)".into(),
        "pipeline" => "pipeline depth".into(),
        other => format!("--{other}"),
    }
}

/// A tick label: the value (of `log10` when the axis is logarithmic), short.
fn tick(v: f64, log: bool) -> String {
    let v = if log { 10f64.powf(v) } else { v };
    let a = v.abs();
    if a == 0.0 || (1.0..1e6).contains(&a) {
        format!("{v:.0}")
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.0e}")
    } else {
        format!("{v:.3}").trim_end_matches('0').to_string()
    }
}

/// The range of values on an axis, padded.
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    if hi - lo < 1e-9 {
        (lo, hi) = (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.06;
    (lo - pad, hi + pad)
}

/// Ten colours that stay apart on white (Tableau 10, the light ones darkened).
const COLOURS: [(u8, u8, u8); 10] = [
    (0x4e, 0x79, 0xa7),
    (0xf2, 0x8e, 0x2b),
    (0xe1, 0x57, 0x59),
    (0x3d, 0x8c, 0x86),
    (0x59, 0xa1, 0x4f),
    (0xb8, 0x86, 0x0b),
    (0xb0, 0x7a, 0xa1),
    (0xd3, 0x72, 0x95),
    (0x9c, 0x75, 0x5f),
    (0x55, 0x55, 0x55),
];

/// The colour and marker shape of series `i`: ten colours, then the next shape.
fn style(i: usize) -> (RGBColor, usize) {
    let (r, g, b) = COLOURS[i % COLOURS.len()];
    (RGBColor(r, g, b), (i / COLOURS.len()) % 4)
}

/// A marker at pixel `at`: a disc, a triangle, a square or a cross.
fn marker<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    at: (i32, i32),
    shape: usize,
    colour: RGBColor,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    let area = area.strip_coord_spec();
    let base = area.get_base_pixel();
    let at = (at.0 - base.0, at.1 - base.1);
    match shape {
        0 => area.draw(&Circle::new(at, 4, colour.filled())),
        1 => area.draw(&TriangleMarker::new(at, 5, colour.filled())),
        2 => area.draw(&Rectangle::new(
            [(at.0 - 4, at.1 - 4), (at.0 + 4, at.1 + 4)],
            colour.filled(),
        )),
        _ => area.draw(&Cross::new(at, 4, colour.stroke_width(2))),
    }
}

/// The SVG text of one plot; `None` when no row has both columns (values <= 0 are left
/// out of a log axis).
pub fn svg(points: &[Point], plot: &PlotSpec) -> Result<Option<String>, String> {
    let tf = |v: f64, log: bool| if log { v.log10() } else { v };
    let pts: Vec<Point> = points
        .iter()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .filter(|p| (!plot.log_x || p.x > 0.0) && (!plot.log_y || p.y > 0.0))
        .map(|p| Point {
            series: p.series.clone(),
            x: tf(p.x, plot.log_x),
            y: tf(p.y, plot.log_y),
        })
        .collect();
    if pts.is_empty() {
        return Ok(None);
    }
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let title = plot
        .title
        .clone()
        .unwrap_or_else(|| format!("{} against {}", describe(&plot.y), describe(&plot.x)));
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (1100, 620)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let root = root
            .titled(&title, ("sans-serif", 20))
            .map_err(|e| err(&e))?;
        // The legend gets its own column: it never hides a point.
        let (plot_area, legend) = root.split_horizontally(820);
        let (x0, x1) = span(pts.iter().map(|p| p.x));
        let (y0, y1) = span(pts.iter().map(|p| p.y));
        let mut chart = ChartBuilder::on(&plot_area)
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(|e| err(&e))?;
        let (lx, ly) = (plot.log_x, plot.log_y);
        chart
            .configure_mesh()
            .x_desc(describe(&plot.x) + if lx { ", log scale" } else { "" })
            .y_desc(describe(&plot.y) + if ly { ", log scale" } else { "" })
            .x_label_formatter(&|v| tick(*v, lx))
            .y_label_formatter(&|v| tick(*v, ly))
            .draw()
            .map_err(|e| err(&e))?;
        let mut names: Vec<&str> = Vec::new();
        for p in &pts {
            if !names.contains(&p.series.as_str()) {
                names.push(&p.series);
            }
        }
        let font = ("sans-serif", 13).into_font();
        for (i, name) in names.iter().enumerate() {
            let (colour, shape) = style(i);
            let mut mine: Vec<(f64, f64)> = pts
                .iter()
                .filter(|p| p.series == *name)
                .map(|p| (p.x, p.y))
                .collect();
            if plot.lines {
                mine.sort_by(|a, b| a.0.total_cmp(&b.0));
                chart
                    .draw_series(LineSeries::new(mine.clone(), colour.stroke_width(1)))
                    .map_err(|e| err(&e))?;
            }
            for &c in &mine {
                let at = chart.backend_coord(&c);
                marker(&root, at, shape, colour).map_err(|e| err(&e))?;
            }
            let row = (20, 30 + 20 * i as i32);
            let at = legend.get_base_pixel();
            marker(&root, (at.0 + row.0, at.1 + row.1), shape, colour).map_err(|e| err(&e))?;
            legend
                .draw(&Text::new(
                    name.to_string(),
                    (row.0 + 14, row.1 - 7),
                    font.clone(),
                ))
                .map_err(|e| err(&e))?;
        }
        if let Some(front) = plot.front {
            let all: Vec<(f64, f64)> = pts.iter().map(|p| (p.x, p.y)).collect();
            // The front of the values as plotted: log10 keeps the order.
            let line = pareto(&all, front);
            chart
                .draw_series(LineSeries::new(line.clone(), BLACK.stroke_width(1)))
                .map_err(|e| err(&e))?;
            chart
                .draw_series(
                    line.iter()
                        .map(|&(x, y)| Circle::new((x, y), 8, BLACK.stroke_width(1))),
                )
                .map_err(|e| err(&e))?;
            let y = 30 + 20 * names.len() as i32;
            legend
                .draw(&PathElement::new(vec![(12, y), (28, y)], BLACK))
                .map_err(|e| err(&e))?;
            legend
                .draw(&Text::new("Pareto front", (34, y - 7), font.clone()))
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plot(front: Option<Front>, log_x: bool, lines: bool) -> PlotSpec {
        PlotSpec {
            x: "luts".into(),
            y: "fmax_mhz".into(),
            series: vec!["unit".into()],
            front,
            log_x,
            log_y: false,
            lines,
            filter: Vec::new(),
            file: "sweep.svg".into(),
            title: None,
            line: 1,
        }
    }

    #[test]
    fn the_front_keeps_only_designs_no_other_beats() {
        let pts = [
            (100.0, 50.0),
            (80.0, 40.0),
            (120.0, 45.0),
            (200.0, 90.0),
            (100.0, 30.0),
        ];
        assert_eq!(
            pareto(&pts, Front::Max),
            vec![(80.0, 40.0), (100.0, 50.0), (200.0, 90.0)]
        );
        assert_eq!(pareto(&pts, Front::Min), vec![(80.0, 40.0), (100.0, 30.0)]);
        let points: Vec<Point> = pts
            .iter()
            .map(|&(x, y)| Point {
                series: "mac".into(),
                x,
                y,
            })
            .collect();
        let s = svg(&points, &plot(Some(Front::Max), false, true))
            .unwrap()
            .unwrap();
        assert!(s.starts_with("<svg") && s.contains("Pareto front") && s.contains("LUTs"));
        let log = svg(&points, &plot(None, true, false)).unwrap().unwrap();
        assert!(log.contains("log scale") && !log.contains("Pareto front"));
        assert!(svg(&[], &plot(None, false, false)).unwrap().is_none());
    }

    #[test]
    fn ticks_read_as_values() {
        assert_eq!(tick(2.0, true), "100");
        assert_eq!(tick(0.25, false), "0.25");
        assert_eq!(tick(1e-5, false), "1e-5");
        assert_eq!(tick(1234.4, false), "1234");
    }
}
