//! Pictures (plotters): the shift of one run (`pacer run --plot`) and a sweep's busy factor
//! against abandon rate with its Pareto frontier (`pacer sweep --plot`).
//!
//! The file name's extension picks the format: `.svg` (text left to the viewer's fonts) or
//! `.png` (text drawn with the system's fonts, found through fontconfig at run time).

use std::path::Path;

use anyhow::{Context, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use serde::Serialize;

/// The group's state at one instant of a run.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TracePoint {
    /// Seconds from the start of the run.
    pub t_s: f64,
    /// Calls in progress per available agent after the engine's last decision.
    pub dial_level: f64,
    /// Agents talking or in after-call work.
    pub agents_busy: u32,
    /// Agents ready and waiting for a call.
    pub agents_ready: u32,
    /// Dials placed and not answered yet.
    pub calls_in_flight: u32,
    /// Answered calls waiting for an agent.
    pub calls_waiting: u32,
    /// Abandoned / answered over the compliance window (what the governor enforces).
    pub abandon_rate: f64,
    /// Abandoned / answered over the last `overdial_last_t` (15 minutes by default).
    pub abandon_rate_15min: f64,
    /// The compliance cap.
    pub abandon_cap: f64,
}

/// One point of a sweep as the Pareto plot shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParetoPoint {
    /// The grid values, `key=value` joined.
    pub label: String,
    /// Mean abandon rate (share).
    pub abandon_rate: f64,
    /// Half-width of its 95% confidence interval.
    pub abandon_ci: f64,
    /// Mean busy factor (share).
    pub busy_factor: f64,
    /// Half-width of its 95% confidence interval.
    pub busy_ci: f64,
}

/// Indices of the points no other point dominates (at least as busy with no more abandons,
/// better in one), in order of abandon rate.
pub fn pareto_frontier(points: &[ParetoPoint]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|&a, &b| {
        points[a]
            .abandon_rate
            .total_cmp(&points[b].abandon_rate)
            .then(points[b].busy_factor.total_cmp(&points[a].busy_factor))
    });
    let mut frontier = Vec::new();
    let mut best = f64::NEG_INFINITY;
    for i in order {
        if points[i].busy_factor > best {
            best = points[i].busy_factor;
            frontier.push(i);
        }
    }
    frontier
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn to_file(
    path: &Path,
    size: (u32, u32),
    draw: impl Fn(DrawingArea<SVGBackend, Shift>) -> DrawResult,
    draw_png: impl Fn(DrawingArea<BitMapBackend, Shift>) -> DrawResult,
) -> anyhow::Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("svg") => {
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw(root).map_err(|e| anyhow!("drawing {}: {e}", path.display()))
        }
        Some("png") => {
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw_png(root).map_err(|e| {
                anyhow!("drawing {}: {e} (PNG text needs a system font through fontconfig)", path.display())
            })
        }
        _ => bail!("{}: the plot's file name must end in .svg or .png", path.display()),
    }
}

/// Draws the shift of a run: agents busy and ready, the dial level, answered calls waiting
/// and the abandon rate against its cap, over simulated minutes.
pub fn draw_run(trace: &[TracePoint], title: &str, path: &Path) -> anyhow::Result<()> {
    if trace.is_empty() {
        bail!("nothing to plot: the run has no samples");
    }
    to_file(path, (1200, 1100), |root| run_chart(&root, trace, title), |root| run_chart(&root, trace, title))
        .with_context(|| format!("plotting the run to {}", path.display()))
}

fn run_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    trace: &[TracePoint],
    title: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 26))?;
    let panels = root.split_evenly((4, 1));
    let t_max = trace.last().map_or(1.0, |p| p.t_s / 60.0).max(1.0);
    let minutes = |p: &TracePoint| p.t_s / 60.0;

    let line = |label, color, width, value: &dyn Fn(&TracePoint) -> f64| Line {
        label,
        color,
        width,
        dashed: false,
        points: trace.iter().map(|p| (minutes(p), value(p))).collect(),
    };

    let agents_max = trace.iter().map(|p| p.agents_busy + p.agents_ready).max().unwrap_or(1).max(1) as f64;
    panel(
        &panels[0],
        ("Agents", "agents"),
        t_max,
        agents_max * 1.1,
        &[
            line("busy (talk + after-call work)", BLUE, 2, &|p| f64::from(p.agents_busy)),
            line("ready (waiting for a call)", GREEN, 2, &|p| f64::from(p.agents_ready)),
        ],
        SeriesLabelPosition::MiddleRight,
    )?;

    let level_max = trace.iter().map(|p| p.dial_level).fold(0.0, f64::max).max(1.0);
    panel(
        &panels[1],
        ("Dial level", "calls per available agent"),
        t_max,
        level_max * 1.1,
        &[line("calls in progress per available agent", MAGENTA, 2, &|p| p.dial_level)],
        SeriesLabelPosition::UpperRight,
    )?;

    let calls_max =
        trace.iter().map(|p| p.calls_waiting.max(p.calls_in_flight)).max().unwrap_or(1).max(1) as f64;
    panel(
        &panels[2],
        ("Calls", "calls"),
        t_max,
        calls_max * 1.1,
        &[
            line("dials in flight (not answered yet)", CYAN, 1, &|p| f64::from(p.calls_in_flight)),
            line("answered calls waiting for an agent", RED, 2, &|p| f64::from(p.calls_waiting)),
        ],
        SeriesLabelPosition::UpperRight,
    )?;

    // Abandon rate against the cap.
    let rate_max = trace
        .iter()
        .map(|p| p.abandon_rate.max(p.abandon_rate_15min).max(p.abandon_cap))
        .fold(0.0, f64::max)
        .clamp(0.01, 1.0)
        * 100.0;
    panel(
        &panels[3],
        ("Abandon rate", "abandoned / answered (%)"),
        t_max,
        rate_max * 1.15,
        &[
            line("last 15 min", RGBColor(255, 160, 0), 1, &|p| p.abandon_rate_15min * 100.0),
            line("compliance window (governed)", BLACK, 2, &|p| p.abandon_rate * 100.0),
            Line { dashed: true, ..line("cap", RED, 2, &|p| p.abandon_cap * 100.0) },
        ],
        SeriesLabelPosition::UpperRight,
    )?;
    root.present()?;
    Ok(())
}

/// One curve of a shift panel.
struct Line {
    label: &'static str,
    color: RGBColor,
    /// Stroke width of the curve; the legend's sample is always 2 wide so thin curves stay
    /// visible there.
    width: u32,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

/// Draws one panel of the shift: its axes over `0..t_max` minutes and `0..y_max`, the curves
/// in order, and their legend at `legend`.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    (caption, y_desc): (&str, &str),
    t_max: f64,
    y_max: f64,
    lines: &[Line],
    legend: SeriesLabelPosition,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", 20))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..t_max, 0.0..y_max)?;
    chart.configure_mesh().x_desc("simulated time (min)").y_desc(y_desc).draw()?;
    for line in lines {
        let style = line.color.stroke_width(line.width);
        let points = line.points.iter().copied();
        let series = if line.dashed {
            chart.draw_series(DashedLineSeries::new(points, 8, 5, style))?
        } else {
            chart.draw_series(LineSeries::new(points, style))?
        };
        let color = line.color;
        series
            .label(line.label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(legend)
        .draw()?;
    Ok(())
}

/// Draws a sweep: busy factor against abandon rate, one point per grid point with its 95%
/// confidence intervals as error bars, the Pareto frontier joined and marked, and the cap
/// (if given) as a vertical line.
pub fn draw_sweep(points: &[ParetoPoint], cap: Option<f64>, title: &str, path: &Path) -> anyhow::Result<()> {
    if points.is_empty() {
        bail!("nothing to plot: the sweep has no points");
    }
    to_file(
        path,
        (1100, 800),
        |root| sweep_chart(&root, points, cap, title),
        |root| sweep_chart(&root, points, cap, title),
    )
    .with_context(|| format!("plotting the sweep to {}", path.display()))
}

fn sweep_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    points: &[ParetoPoint],
    cap: Option<f64>,
    title: &str,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let x_max =
        points.iter().map(|p| p.abandon_rate + p.abandon_ci).chain(cap).fold(0.0, f64::max).max(0.005)
            * 100.0
            * 1.1;
    let y_lo = points.iter().map(|p| p.busy_factor - p.busy_ci).fold(1.0, f64::min).clamp(0.0, 1.0) * 100.0;
    let y_hi = points.iter().map(|p| p.busy_factor + p.busy_ci).fold(0.0, f64::max).clamp(0.0, 1.0) * 100.0;
    let pad = ((y_hi - y_lo) * 0.1).max(1.0);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(65)
        .build_cartesian_2d(0.0..x_max, (y_lo - pad).max(0.0)..(y_hi + pad).min(100.0))?;
    chart
        .configure_mesh()
        .x_desc("abandon rate: abandoned / answered live (%)")
        .y_desc("busy factor: talk + after-call work / logged in (%)")
        .draw()?;
    let grey = RGBColor(120, 120, 120);
    chart.draw_series(points.iter().map(|p| {
        let (x, y) = (p.abandon_rate * 100.0, p.busy_factor * 100.0);
        PathElement::new(vec![(x - p.abandon_ci * 100.0, y), (x + p.abandon_ci * 100.0, y)], grey)
    }))?;
    chart.draw_series(points.iter().map(|p| {
        let (x, y) = (p.abandon_rate * 100.0, p.busy_factor * 100.0);
        PathElement::new(vec![(x, y - p.busy_ci * 100.0), (x, y + p.busy_ci * 100.0)], grey)
    }))?;
    chart
        .draw_series(
            points
                .iter()
                .map(|p| Circle::new((p.abandon_rate * 100.0, p.busy_factor * 100.0), 4, BLUE.filled())),
        )?
        .label("grid point (mean, 95% CI bars)")
        .legend(|(x, y)| Circle::new((x + 10, y), 4, BLUE.filled()));
    let frontier = pareto_frontier(points);
    chart
        .draw_series(LineSeries::new(
            frontier.iter().map(|&i| (points[i].abandon_rate * 100.0, points[i].busy_factor * 100.0)),
            RED.stroke_width(2),
        ))?
        .label("Pareto frontier")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED.stroke_width(2)));
    chart.draw_series(frontier.iter().map(|&i| {
        Circle::new((points[i].abandon_rate * 100.0, points[i].busy_factor * 100.0), 7, RED.stroke_width(2))
    }))?;
    // Labels only on the frontier: elsewhere they would pile up.
    chart.draw_series(frontier.iter().map(|&i| {
        EmptyElement::at((points[i].abandon_rate * 100.0, points[i].busy_factor * 100.0))
            + Text::new(points[i].label.clone(), (9, -16), ("sans-serif", 13).into_font().color(&BLACK))
    }))?;
    if let Some(cap) = cap {
        let (lo, hi) = ((y_lo - pad).max(0.0), (y_hi + pad).min(100.0));
        chart
            .draw_series(DashedLineSeries::new(
                [(cap * 100.0, lo), (cap * 100.0, hi)],
                8,
                5,
                BLACK.stroke_width(1),
            ))?
            .label("abandon-rate cap")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(1)));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::LowerRight)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(label: &str, abandon: f64, busy: f64) -> ParetoPoint {
        ParetoPoint {
            label: label.into(),
            abandon_rate: abandon,
            abandon_ci: 0.0,
            busy_factor: busy,
            busy_ci: 0.0,
        }
    }

    #[test]
    fn frontier_keeps_only_undominated_points() {
        let points = [
            p("a", 0.01, 0.80),
            p("b", 0.02, 0.78),
            p("c", 0.02, 0.85),
            p("d", 0.05, 0.90),
            p("e", 0.04, 0.84),
        ];
        assert_eq!(pareto_frontier(&points), vec![0, 2, 3]);
        assert!(pareto_frontier(&[]).is_empty());
    }
}
