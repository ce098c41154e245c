//! The SVG plots of `cargo bench --bench paper_mnist`, drawn with plotters' SVG backend (text
//! is written as SVG `<text>`, so no font files are needed).

// The quick test uses part of this file.
#![allow(dead_code)]

use std::path::Path;

use plotters::prelude::*;
use tensorize::{Error, Result};

use crate::harness::Plot;

/// Colours of the curves, in order (cycled).
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

/// The smallest and largest finite value of `values`, widened a little (and to a non-empty
/// range when they are equal).
fn range(values: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !lo.is_finite() {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if log {
        (lo / 1.5, hi * 1.5)
    } else {
        let pad = if hi > lo { 0.05 * (hi - lo) } else { 0.5f64.max(lo.abs() * 0.05) };
        (lo - pad, hi + pad)
    }
}

/// Writes `plot` as SVG to `path`.
///
/// # Errors
/// [`Error::Io`] naming `path` if plotters cannot draw or write it.
pub fn write_svg(plot: &Plot, path: &Path) -> Result<()> {
    let io = |e: &dyn std::fmt::Display| Error::Io {
        path: path.display().to_string(),
        detail: e.to_string(),
    };
    let root = SVGBackend::new(path, (760, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| io(&e))?;
    let points = || plot.series.iter().flat_map(|s| s.points.iter().copied());
    let (x0, x1) = range(points().map(|p| p.0), plot.log_x);
    let (y0, y1) = range(points().map(|p| p.1), false);
    let mut builder = ChartBuilder::on(&root);
    builder
        .caption(&plot.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60);
    // The two scales give two chart types; one closure draws the curves on either.
    macro_rules! draw {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(plot.x_label.as_str())
                .y_desc(plot.y_label.as_str())
                .draw()
                .map_err(|e| io(&e))?;
            for (i, s) in plot.series.iter().enumerate() {
                let color = PALETTE[i % PALETTE.len()];
                let pts: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .copied()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                    .collect();
                chart
                    .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                    .map_err(|e| io(&e))?
                    .label(s.name.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
                chart
                    .draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))
                    .map_err(|e| io(&e))?;
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::LowerRight)
                .draw()
                .map_err(|e| io(&e))?;
        }};
    }
    if plot.log_x {
        draw!(builder.build_cartesian_2d((x0..x1).log_scale(), y0..y1).map_err(|e| io(&e))?);
    } else {
        draw!(builder.build_cartesian_2d(x0..x1, y0..y1).map_err(|e| io(&e))?);
    }
    root.present().map_err(|e| io(&e))?;
    Ok(())
}
