//! The sweep's plot, DIR/sweep.svg: Fmax against LUTs (the unit alone) of every row the
//! flow measured, one colour per unit, with the Pareto front (no other design has as few
//! LUTs and a higher Fmax) marked. SVG from plotters' own backend, without fonts: no
//! system library is needed to build or run it.

use plotters::prelude::*;

/// One measured design.
pub struct Point {
    pub unit: String,
    pub luts: f64,
    pub fmax_mhz: f64,
}

/// The designs on the Pareto front, by increasing LUTs: each faster than every design
/// with as few LUTs or fewer.
pub fn pareto(points: &[Point]) -> Vec<(f64, f64)> {
    let mut v: Vec<(f64, f64)> = points.iter().map(|p| (p.luts, p.fmax_mhz)).collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
    let mut front: Vec<(f64, f64)> = Vec::new();
    for p in v {
        if front.last().is_none_or(|l| p.1 > l.1) {
            front.push(p);
        }
    }
    front
}

/// The SVG text of the plot; `None` when nothing was measured.
pub fn svg(points: &[Point], title: &str) -> Result<Option<String>, String> {
    if points.is_empty() {
        return Ok(None);
    }
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, (900, 600)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let xmax = points.iter().map(|p| p.luts).fold(1.0, f64::max) * 1.1;
        let ymax = points.iter().map(|p| p.fmax_mhz).fold(1.0, f64::max) * 1.1;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(20)
            .x_label_area_size(45)
            .y_label_area_size(55)
            .build_cartesian_2d(0f64..xmax, 0f64..ymax)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("LUTs (unit alone)")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .y_desc("Fmax (MHz, post-route)")
            .draw()
            .map_err(|e| err(&e))?;
        let mut units: Vec<&str> = Vec::new();
        for p in points {
            if !units.contains(&p.unit.as_str()) {
                units.push(&p.unit);
            }
        }
        for (i, unit) in units.iter().enumerate() {
            let colour = Palette99::pick(i).to_rgba();
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|p| p.unit == *unit)
                        .map(|p| Circle::new((p.luts, p.fmax_mhz), 4, colour.filled())),
                )
                .map_err(|e| err(&e))?
                .label(*unit)
                .legend(move |(x, y)| Circle::new((x, y), 4, colour.filled()));
        }
        let front = pareto(points);
        chart
            .draw_series(LineSeries::new(front.clone(), BLACK.stroke_width(1)))
            .map_err(|e| err(&e))?
            .label("Pareto front")
            .legend(|(x, y)| PathElement::new(vec![(x - 8, y), (x + 8, y)], BLACK));
        chart
            .draw_series(
                front
                    .iter()
                    .map(|&(x, y)| Circle::new((x, y), 7, BLACK.stroke_width(1))),
            )
            .map_err(|e| err(&e))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
        root.present().map_err(|e| err(&e))?;
    }
    Ok(Some(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(luts: f64, fmax_mhz: f64) -> Point {
        Point {
            unit: "mac".into(),
            luts,
            fmax_mhz,
        }
    }

    #[test]
    fn the_front_keeps_only_designs_no_other_beats() {
        let pts = [
            p(100.0, 50.0),
            p(80.0, 40.0),
            p(120.0, 45.0),
            p(200.0, 90.0),
            p(100.0, 30.0),
        ];
        assert_eq!(
            pareto(&pts),
            vec![(80.0, 40.0), (100.0, 50.0), (200.0, 90.0)]
        );
        let s = svg(&pts, "t").unwrap().unwrap();
        assert!(s.starts_with("<svg") && s.contains("Pareto front") && s.contains("LUTs"));
        assert!(svg(&[], "t").unwrap().is_none());
    }
}
