//! SVG plots of a run, drawn with plotters from the run folder's CSV files alone:
//!
//! - `curves_<variant>.svg`: training loss and accuracy per epoch, one line per backend (the
//!   mean over seeds with a 95 % band when there are several), validation dashed-light;
//! - `diff_<variant>.svg`: each backend's difference from native per epoch, training loss and
//!   accuracy (|difference| on a log axis, so rounding-level agreement and divergence both
//!   show; 0 is drawn at the axis floor);
//! - `epoch_time.svg`: median seconds per epoch per variant and backend (bars; one dot per seed);
//! - `success.svg`: the fraction of seeds reaching test accuracy 1.0, per variant and backend;
//! - `grad_norms_<variant>_<backend>.svg`: each dense layer's gradient norm per epoch, log axis;
//! - `dead_units_<variant>.svg`: each hidden layer's share of dead units per epoch, one color
//!   per backend (mean over seeds);
//! - `boundary_<variant>_<backend>.svg`: a 2-D dataset's predicted class over the input
//!   plane (first seed), with the training (filled) and test (hollow) examples.

use anyhow::Result;
use plotters::prelude::*;

use super::stats::{Estimate, distinct, slug};
use super::{LayerRow, RunData};
use crate::run_folder::{BoundaryRow, EpochRow};

/// One picture: its file name (inside `plots/`), what it shows, and the SVG text.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    pub file: String,
    pub title: String,
    pub svg: String,
}

/// Test accuracy at or above this counts as solved in `success.svg`.
pub const SOLVED: f64 = 1.0 - 1e-9;

const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

fn color(index: usize) -> RGBColor {
    COLORS[index % COLORS.len()]
}

const FONT: &str = "sans-serif";

/// Every plot the run's data allows, in report order.
pub fn all(data: &RunData) -> Result<Vec<Plot>> {
    let mut plots = Vec::new();
    for variant in distinct(&data.epochs, |e| e.variant.clone()) {
        plots.push(curves(data, &variant)?);
        if let Some(plot) = differences(data, &variant)? {
            plots.push(plot);
        }
    }
    if let Some(plot) = epoch_time(data)? {
        plots.push(plot);
    }
    if let Some(plot) = success(data)? {
        plots.push(plot);
    }
    for (variant, backend) in distinct(&data.grad_norms, |g| (g.variant.clone(), g.backend.clone()))
    {
        if let Some(plot) = grad_norms(data, &variant, &backend)? {
            plots.push(plot);
        }
    }
    for variant in distinct(&data.dead_units, |d| d.variant.clone()) {
        plots.push(dead_units(data, &variant)?);
    }
    for (variant, backend) in distinct(&data.boundary, |b| (b.variant.clone(), b.backend.clone())) {
        if let Some(plot) = boundary(data, &variant, &backend)? {
            plots.push(plot);
        }
    }
    Ok(plots)
}

/// Range of finite values with a little room; a flat or empty range gets some height.
fn span(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if hi - lo < 1e-12 {
        return (lo - 0.5, hi + 0.5);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

/// How many epoch labels to ask plotters for: one per epoch up to ten, so that short runs
/// get every epoch and no fractional ones.
fn epoch_ticks(max_epoch: f64) -> usize {
    (max_epoch.max(2.0) as usize).min(10)
}

/// An epoch axis label: whole epochs only (plotters may place a key point between two).
fn epoch_label(x: &f64) -> String {
    if (x - x.round()).abs() < 1e-9 {
        format!("{}", x.round() as i64)
    } else {
        String::new()
    }
}

/// Per backend: (epoch, estimate over seeds) of one column.
type Curve = Vec<(f64, Estimate)>;

fn curve(
    data: &RunData,
    variant: &str,
    backend: &str,
    value: impl Fn(&EpochRow) -> Option<f64>,
) -> Curve {
    // One pass over the rows, grouped by epoch: full runs have hundreds of thousands.
    let mut by_epoch: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    for row in data
        .epochs
        .iter()
        .filter(|e| e.variant == variant && e.backend == backend)
    {
        let values = by_epoch.entry(row.epoch).or_default();
        if let Some(v) = value(row) {
            values.push(v);
        }
    }
    by_epoch
        .into_iter()
        .filter_map(|(epoch, values)| Estimate::of(&values).map(|e| (epoch as f64, e)))
        .collect()
}

fn curves(data: &RunData, variant: &str) -> Result<Plot> {
    let backends = distinct(
        &data
            .epochs
            .iter()
            .filter(|e| e.variant == variant)
            .collect::<Vec<_>>(),
        |e| e.backend.clone(),
    );
    // A loss spanning several decades (a diverging run) is drawn as log10.
    let losses: Vec<f64> = data
        .epochs
        .iter()
        .filter(|e| e.variant == variant)
        .map(|e| e.train_loss)
        .filter(|v| v.is_finite())
        .collect();
    let (lo, hi) = span(losses.iter().copied());
    let log_loss = lo > 0.0 && hi / lo.max(1e-300) > 1e3;
    let loss_of = move |v: f64| if log_loss { v.log10() } else { v };
    let panels = [
        (
            if log_loss {
                "log10 training loss"
            } else {
                "training loss"
            },
            true,
        ),
        ("accuracy (train solid, validation light)", false),
    ];
    let mut series: Vec<Vec<(String, RGBAColor, Curve)>> = vec![Vec::new(), Vec::new()];
    for (index, backend) in backends.iter().enumerate() {
        let c = color(index);
        series[0].push((
            backend.clone(),
            c.to_rgba(),
            curve(data, variant, backend, |e| Some(loss_of(e.train_loss))),
        ));
        series[1].push((
            backend.clone(),
            c.to_rgba(),
            curve(data, variant, backend, |e| Some(e.train_accuracy)),
        ));
        let val = curve(data, variant, backend, |e| e.val_accuracy);
        if !val.is_empty() {
            series[1].push((format!("{backend} (validation)"), c.mix(0.45), val));
        }
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 400)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(&format!("{variant}: training curves"), (FONT, 20))?;
        let areas = root.split_evenly((1, 2));
        for ((area, (label, _)), lines) in areas.iter().zip(panels).zip(&series) {
            let max_epoch = lines
                .iter()
                .flat_map(|(_, _, c)| c.iter().map(|(e, _)| *e))
                .fold(1.0, f64::max);
            let (y0, y1) = span(
                lines
                    .iter()
                    .flat_map(|(_, _, c)| c.iter().flat_map(|(_, e)| [e.low(), e.high()])),
            );
            let mut chart = ChartBuilder::on(area)
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(55)
                .build_cartesian_2d(1.0..max_epoch.max(2.0), y0..y1)?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .x_labels(epoch_ticks(max_epoch))
                .x_label_formatter(&epoch_label)
                .y_desc(label)
                .label_style((FONT, 12))
                .draw()?;
            for (name, c, points) in lines {
                if points.iter().any(|(_, e)| e.n > 1) {
                    let mut band: Vec<(f64, f64)> =
                        points.iter().map(|(x, e)| (*x, e.high())).collect();
                    band.extend(points.iter().rev().map(|(x, e)| (*x, e.low())));
                    chart.draw_series(std::iter::once(Polygon::new(band, c.mix(0.18))))?;
                }
                let c = *c;
                chart
                    .draw_series(LineSeries::new(
                        points.iter().map(|(x, e)| (*x, e.mean)),
                        c.stroke_width(2),
                    ))?
                    .label(name.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c));
                if points.len() == 1 {
                    chart.draw_series(
                        points
                            .iter()
                            .map(|(x, e)| Circle::new((*x, e.mean), 3, c.filled())),
                    )?;
                }
            }
            chart
                .configure_series_labels()
                .label_font((FONT, 12))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
        root.present()?;
    }
    Ok(Plot {
        file: format!("curves_{}.svg", slug(variant)),
        title: format!("{variant}: loss and accuracy per epoch"),
        svg,
    })
}

/// Differences smaller than this (0 included) are drawn at it: the floor of the log axis.
const DIFF_FLOOR: f64 = 1e-9;

/// Per epoch, the mean over seeds of |value(backend) - value(native)|, pairing rows by seed
/// and epoch.
fn difference(
    data: &RunData,
    variant: &str,
    backend: &str,
    value: impl Fn(&EpochRow) -> f64,
) -> Vec<(f64, f64)> {
    let native: std::collections::HashMap<(u64, u64), &EpochRow> = data
        .epochs
        .iter()
        .filter(|e| e.variant == variant && e.backend == "native")
        .map(|e| ((e.seed, e.epoch), e))
        .collect();
    let mut sums: std::collections::BTreeMap<u64, (f64, usize)> = Default::default();
    for row in data
        .epochs
        .iter()
        .filter(|e| e.variant == variant && e.backend == backend)
    {
        let Some(reference) = native.get(&(row.seed, row.epoch)) else {
            continue;
        };
        let d = (value(row) - value(reference)).abs();
        if d.is_finite() {
            let entry = sums.entry(row.epoch).or_default();
            entry.0 += d;
            entry.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(epoch, (sum, n))| (epoch as f64, (sum / n as f64).max(DIFF_FLOOR)))
        .collect()
}

/// One backend's line of a difference panel: its index among the others, its name, and
/// (epoch, mean |difference|).
type DiffLine<'a> = (usize, &'a String, Vec<(f64, f64)>);

/// Each backend's distance from native per epoch (loss and accuracy), when native and
/// another backend both ran the variant.
fn differences(data: &RunData, variant: &str) -> Result<Option<Plot>> {
    let backends = distinct(
        &data
            .epochs
            .iter()
            .filter(|e| e.variant == variant)
            .collect::<Vec<_>>(),
        |e| e.backend.clone(),
    );
    if !backends.iter().any(|b| b == "native") {
        return Ok(None);
    }
    let others: Vec<&String> = backends.iter().filter(|b| *b != "native").collect();
    let panels: [(&str, Vec<DiffLine>); 2] = [
        (
            "|training loss − native's|",
            others
                .iter()
                .enumerate()
                .map(|(i, b)| (i, *b, difference(data, variant, b, |e| e.train_loss)))
                .filter(|(_, _, points)| !points.is_empty())
                .collect(),
        ),
        (
            "|training accuracy − native's|",
            others
                .iter()
                .enumerate()
                .map(|(i, b)| (i, *b, difference(data, variant, b, |e| e.train_accuracy)))
                .filter(|(_, _, points)| !points.is_empty())
                .collect(),
        ),
    ];
    if panels.iter().all(|(_, lines)| lines.is_empty()) {
        return Ok(None);
    }
    let max_epoch = panels
        .iter()
        .flat_map(|(_, lines)| lines.iter().flat_map(|(_, _, p)| p.iter().map(|(e, _)| *e)))
        .fold(1.0, f64::max);
    let top = panels
        .iter()
        .flat_map(|(_, lines)| lines.iter().flat_map(|(_, _, p)| p.iter().map(|(_, v)| *v)))
        .fold(DIFF_FLOOR * 10.0, f64::max)
        * 3.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (1000, 400)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(
            &format!("{variant}: difference from native (mean over seeds)"),
            (FONT, 20),
        )?;
        let areas = root.split_evenly((1, 2));
        for (area, (label, lines)) in areas.iter().zip(&panels) {
            let mut chart = ChartBuilder::on(area)
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(60)
                .build_cartesian_2d(1.0..max_epoch.max(2.0), (DIFF_FLOOR..top).log_scale())?;
            chart
                .configure_mesh()
                .x_desc("epoch")
                .x_labels(epoch_ticks(max_epoch))
                .x_label_formatter(&epoch_label)
                .y_desc(*label)
                .y_label_formatter(&|v| {
                    if *v <= DIFF_FLOOR * 1.01 {
                        "≤1e-9".to_string()
                    } else {
                        format!("{v:.0e}")
                    }
                })
                .label_style((FONT, 12))
                .draw()?;
            for (index, backend, points) in lines {
                // Native's own color is the first; the others keep theirs from the curves.
                let c = color(
                    backends
                        .iter()
                        .position(|b| b == *backend)
                        .unwrap_or(*index),
                );
                chart
                    .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))?
                    .label(backend.as_str())
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c));
                // A dot per epoch while they can be told apart (and the file stays small).
                if points.len() <= 50 {
                    chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
                }
            }
            if !lines.is_empty() {
                chart
                    .configure_series_labels()
                    .label_font((FONT, 12))
                    .background_style(WHITE.mix(0.8))
                    .border_style(BLACK)
                    .draw()?;
            }
        }
        root.present()?;
    }
    Ok(Some(Plot {
        file: format!("diff_{}.svg", slug(variant)),
        title: format!("{variant}: each backend's difference from native per epoch (log scale)"),
        svg,
    }))
}

/// Grouped bars: one group per variant, one bar per backend, values in [0, top].
struct Bars {
    variants: Vec<String>,
    backends: Vec<String>,
    /// (variant index, backend index, bar height, dots, text above the bar)
    bars: Vec<(usize, usize, f64, Vec<f64>, String)>,
}

fn draw_bars(bars: &Bars, title: &str, y_label: &str, top: f64) -> Result<String> {
    let mut svg = String::new();
    {
        let width = (320 + 90 * bars.variants.len() * bars.backends.len().max(1)).min(1600) as u32;
        let root = SVGBackend::with_string(&mut svg, (width.max(600), 420)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = bars.variants.len();
        let names = bars.variants.clone();
        let formatter = move |x: &f64| {
            let index = x.round();
            if (x - index).abs() < 1e-6 && index >= 0.0 && (index as usize) < names.len() {
                names[index as usize].clone()
            } else {
                String::new()
            }
        };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n.max(1) * 2 + 1)
            .x_label_formatter(&formatter)
            .x_desc("variant")
            .y_desc(y_label)
            .label_style((FONT, 12))
            .draw()?;
        let slots = bars.backends.len().max(1) as f64;
        let width = 0.8 / slots;
        for (b, backend) in bars.backends.iter().enumerate() {
            let c = color(b);
            let mine: Vec<_> = bars.bars.iter().filter(|bar| bar.1 == b).collect();
            let left = |v: usize| v as f64 - 0.4 + width * b as f64;
            chart
                .draw_series(mine.iter().map(|(v, _, h, _, _)| {
                    Rectangle::new([(left(*v), 0.0), (left(*v) + width * 0.9, *h)], c.filled())
                }))?
                .label(backend.as_str())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
            chart.draw_series(mine.iter().flat_map(|(v, _, _, dots, _)| {
                let x = left(*v) + width * 0.45;
                dots.iter()
                    .map(move |d| Circle::new((x, *d), 3, BLACK.mix(0.7).filled()))
            }))?;
            chart.draw_series(mine.iter().map(|(v, _, h, _, text)| {
                Text::new(
                    text.clone(),
                    (left(*v), (*h + top * 0.02).min(top * 0.97)),
                    (FONT, 11),
                )
            }))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 12))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

fn epoch_time(data: &RunData) -> Result<Option<Plot>> {
    let units: Vec<_> = data
        .units
        .iter()
        .filter(|u| u.epoch_s_median.is_some_and(f64::is_finite))
        .collect();
    if units.is_empty() {
        return Ok(None);
    }
    let variants = distinct(&data.units, |u| u.variant.clone());
    let backends = distinct(&units, |u| u.backend.clone());
    let mut bars = Vec::new();
    let mut top: f64 = 0.0;
    for (v, variant) in variants.iter().enumerate() {
        for (b, backend) in backends.iter().enumerate() {
            let dots: Vec<f64> = units
                .iter()
                .filter(|u| &u.variant == variant && &u.backend == backend)
                .filter_map(|u| u.epoch_s_median)
                .collect();
            if let Some(median) = crate::stats::median(&dots) {
                top = top.max(dots.iter().copied().fold(median, f64::max));
                bars.push((v, b, median, dots, seconds(median)));
            }
        }
    }
    let bars = Bars {
        variants,
        backends,
        bars,
    };
    // Times measured with units side by side (`--jobs`) say so on the picture itself.
    let shared = match units.iter().map(|u| u.jobs).max().unwrap_or(1) {
        1 => String::new(),
        jobs => format!(", {jobs} units side by side"),
    };
    let svg = draw_bars(
        &bars,
        &format!("Seconds per epoch (median; dots: one per seed{shared})"),
        "s / epoch",
        (top * 1.15).max(1e-6),
    )?;
    Ok(Some(Plot {
        file: "epoch_time.svg".into(),
        title: format!("Seconds per epoch per variant and backend{shared}"),
        svg,
    }))
}

fn seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2}")
    } else if s >= 0.001 {
        format!("{:.1}ms", s * 1e3)
    } else {
        format!("{:.0}µs", s * 1e6)
    }
}

/// Success rates: drawn when the task can be solved exactly (some unit reached accuracy 1.0)
/// or the data is 2-D (the logic gates and blobs of the perceptron and XOR scenarios).
fn success(data: &RunData) -> Result<Option<Plot>> {
    let solvable = data
        .units
        .iter()
        .any(|u| u.test_accuracy.is_some_and(|a| a >= SOLVED))
        || !data.points.is_empty();
    if !solvable || data.units.is_empty() {
        return Ok(None);
    }
    let variants = distinct(&data.units, |u| u.variant.clone());
    let backends = distinct(&data.units, |u| u.backend.clone());
    let mut bars = Vec::new();
    for (v, variant) in variants.iter().enumerate() {
        for (b, backend) in backends.iter().enumerate() {
            let group: Vec<_> = data
                .units
                .iter()
                .filter(|u| &u.variant == variant && &u.backend == backend)
                .filter(|u| u.test_accuracy.is_some())
                .collect();
            if group.is_empty() {
                continue;
            }
            let solved = group
                .iter()
                .filter(|u| u.test_accuracy.is_some_and(|a| a >= SOLVED))
                .count();
            let rate = solved as f64 / group.len() as f64;
            bars.push((v, b, rate, Vec::new(), format!("{solved}/{}", group.len())));
        }
    }
    let bars = Bars {
        variants,
        backends,
        bars,
    };
    let svg = draw_bars(
        &bars,
        "Seeds reaching test accuracy 1.0",
        "fraction of seeds",
        1.15,
    )?;
    Ok(Some(Plot {
        file: "success.svg".into(),
        title: "Fraction of seeds reaching test accuracy 1.0".into(),
        svg,
    }))
}

/// (epoch, mean over seeds) of per-layer rows, in epoch order.
fn epoch_means(rows: &[&LayerRow]) -> Vec<(f64, f64)> {
    let mut by_epoch: std::collections::BTreeMap<u64, Vec<f64>> = Default::default();
    for row in rows {
        by_epoch.entry(row.epoch).or_default().push(row.value);
    }
    by_epoch
        .into_iter()
        .filter_map(|(epoch, values)| Estimate::of(&values).map(|e| (epoch as f64, e.mean)))
        .collect()
}

fn grad_norms(data: &RunData, variant: &str, backend: &str) -> Result<Option<Plot>> {
    let rows: Vec<_> = data
        .grad_norms
        .iter()
        .filter(|g| g.variant == variant && g.backend == backend)
        .collect();
    let mut layers = distinct(&rows, |g| g.layer);
    layers.sort_unstable();
    let mut lines = Vec::new();
    for &layer in &layers {
        let mine: Vec<_> = rows
            .iter()
            .copied()
            .filter(|g| g.layer == layer && g.value > 0.0)
            .collect();
        let points = epoch_means(&mine);
        if !points.is_empty() {
            lines.push((layer, points));
        }
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let (mut lo, mut hi) = (f64::INFINITY, 0.0f64);
    for (_, points) in &lines {
        for &(_, v) in points {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    let (lo, hi) = (lo / 2.0, hi * 2.0);
    let max_epoch = lines
        .iter()
        .flat_map(|(_, p)| p.iter().map(|(e, _)| *e))
        .fold(1.0, f64::max);
    let last = layers.len().saturating_sub(1);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 450)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{variant} · {backend}: gradient norm per layer"),
                (FONT, 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(1.0..max_epoch.max(2.0), (lo..hi).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_labels(epoch_ticks(max_epoch))
            .x_label_formatter(&epoch_label)
            .y_desc("mean ‖∂L/∂W‖ over the epoch's steps")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .label_style((FONT, 12))
            .draw()?;
        for (index, (layer, points)) in lines.iter().enumerate() {
            let c = color(index);
            let name = match *layer as usize {
                0 => "layer 0 (input side)".to_string(),
                l if l == last => format!("layer {l} (output)"),
                l => format!("layer {l}"),
            };
            chart
                .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c));
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
        }
        chart
            .configure_series_labels()
            .label_font((FONT, 12))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(Some(Plot {
        file: format!("grad_norms_{}_{}.svg", slug(variant), slug(backend)),
        title: format!("{variant} · {backend}: per-layer gradient norms (log scale)"),
        svg,
    }))
}

fn dead_units(data: &RunData, variant: &str) -> Result<Plot> {
    let rows: Vec<_> = data
        .dead_units
        .iter()
        .filter(|d| d.variant == variant)
        .collect();
    let backends = distinct(&rows, |d| d.backend.clone());
    let mut layers = distinct(&rows, |d| d.layer);
    layers.sort_unstable();
    let max_epoch = rows.iter().map(|d| d.epoch).max().unwrap_or(1) as f64;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 450)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{variant}: dead units per hidden layer"),
                (FONT, 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(1.0..max_epoch.max(2.0), 0.0..1.0)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_labels(epoch_ticks(max_epoch))
            .x_label_formatter(&epoch_label)
            .y_desc("share of units with pre-activation ≤ 0 on every row")
            .y_label_formatter(&|v| format!("{:.0} %", 100.0 * v))
            .label_style((FONT, 12))
            .draw()?;
        for (index, backend) in backends.iter().enumerate() {
            let c = color(index);
            for &layer in &layers {
                let mine: Vec<_> = rows
                    .iter()
                    .copied()
                    .filter(|d| d.backend == *backend && d.layer == layer)
                    .collect();
                let points = epoch_means(&mine);
                // The first hidden layer solid with dots, the others thin with triangles.
                let width = if layer == 0 { 2 } else { 1 };
                chart
                    .draw_series(LineSeries::new(
                        points.iter().copied(),
                        c.stroke_width(width),
                    ))?
                    .label(format!("{backend} · hidden layer {}", layer + 1))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(width))
                    });
                if layer == 0 {
                    chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
                } else {
                    chart.draw_series(
                        points
                            .iter()
                            .map(|&p| TriangleMarker::new(p, 4, c.filled())),
                    )?;
                }
            }
        }
        // The legend goes where the lines are not: low when many units are dead.
        let mostly_dead = rows.iter().any(|d| d.value > 0.5);
        chart
            .configure_series_labels()
            .position(if mostly_dead {
                SeriesLabelPosition::LowerRight
            } else {
                SeriesLabelPosition::UpperRight
            })
            .label_font((FONT, 11))
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(Plot {
        file: format!("dead_units_{}.svg", slug(variant)),
        title: format!("{variant}: share of dead units per hidden layer"),
        svg,
    })
}

/// Blue (class 0) to red (class 1); more classes take the palette. Opaque, pale as if drawn
/// with transparency on white: overlapping translucent cells would show as seams.
fn cell_color(p: f64, multiclass: bool) -> RGBAColor {
    let pale = |c: RGBAColor, alpha: f64| {
        let blend = |v: u8| (f64::from(v) * alpha + 255.0 * (1.0 - alpha)).round() as u8;
        RGBColor(blend(c.0), blend(c.1), blend(c.2)).to_rgba()
    };
    if multiclass {
        return pale(color(p.round().max(0.0) as usize).to_rgba(), 0.35);
    }
    let t = p.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    pale(
        RGBColor(lerp(70.0, 215.0), lerp(120.0, 60.0), lerp(215.0, 50.0)).to_rgba(),
        0.45,
    )
}

fn point_color(label: u64, multiclass: bool) -> RGBColor {
    if multiclass {
        color(label as usize)
    } else if label == 0 {
        RGBColor(30, 70, 170)
    } else {
        RGBColor(170, 20, 20)
    }
}

/// Distinct sorted values and half the smallest step between them.
fn axis(values: impl Iterator<Item = f64>) -> (Vec<f64>, f64) {
    let mut sorted: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    sorted.sort_by(f64::total_cmp);
    sorted.dedup();
    let step = sorted
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    (sorted, if step.is_finite() { step / 2.0 } else { 0.5 })
}

fn boundary(data: &RunData, variant: &str, backend: &str) -> Result<Option<Plot>> {
    let Some(seed) = data
        .boundary
        .iter()
        .find(|b| b.variant == variant && b.backend == backend)
        .map(|b| b.seed)
    else {
        return Ok(None);
    };
    let cells: Vec<&BoundaryRow> = data
        .boundary
        .iter()
        .filter(|b| b.variant == variant && b.backend == backend && b.seed == seed)
        .filter(|b| b.x.is_finite() && b.y.is_finite())
        .collect();
    let points: Vec<_> = data
        .points
        .iter()
        .filter(|p| p.variant == variant)
        .collect();
    let multiclass = points.iter().any(|p| p.label > 1) || cells.iter().any(|c| c.p > 1.0);
    let (xs, hx) = axis(cells.iter().map(|c| c.x));
    let (ys, hy) = axis(cells.iter().map(|c| c.y));
    let (Some(x0), Some(x1), Some(y0), Some(y1)) = (xs.first(), xs.last(), ys.first(), ys.last())
    else {
        return Ok(None);
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let caption = format!(
            "{variant} · {backend} · seed {seed}: {}",
            if multiclass {
                "predicted class"
            } else {
                "P(class 1), blue 0 → red 1"
            }
        );
        // Sweep variants make long titles: shrink the font so the title fits the 560 px.
        let size = 16.0f64.min(540.0 / (0.55 * caption.chars().count() as f64));
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, (FONT, size))
            .margin(12)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d((x0 - hx)..(x1 + hx), (y0 - hy)..(y1 + hy))?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc("x₁")
            .y_desc("x₂")
            .label_style((FONT, 12))
            .draw()?;
        chart.draw_series(cells.iter().map(|c| {
            let p = if c.p.is_finite() { c.p } else { 0.5 };
            // A hair wider than the cell, so no seams show between neighbours.
            Rectangle::new(
                [
                    (c.x - hx * 1.05, c.y - hy * 1.05),
                    (c.x + hx * 1.05, c.y + hy * 1.05),
                ],
                cell_color(p, multiclass).filled(),
            )
        }))?;
        chart.draw_series(points.iter().filter(|p| p.split == "train").map(|p| {
            Circle::new(
                (p.x, p.y),
                4,
                point_color(u64::from(p.label), multiclass).filled(),
            )
        }))?;
        chart.draw_series(
            points
                .iter()
                .filter(|p| p.split != "train")
                .map(|p| Circle::new((p.x, p.y), 4, point_color(u64::from(p.label), multiclass))),
        )?;
        root.present()?;
    }
    Ok(Some(Plot {
        file: format!("boundary_{}_{}.svg", slug(variant), slug(backend)),
        title: format!("{variant} · {backend}: decision regions (seed {seed}) and examples"),
        svg,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_axes_label_whole_epochs_only() {
        assert_eq!(epoch_label(&2.0), "2");
        assert_eq!(epoch_label(&1.5), "");
        assert_eq!(epoch_ticks(3.0), 3);
        assert_eq!(epoch_ticks(1.0), 2);
        assert_eq!(epoch_ticks(2000.0), 10);
    }
}
