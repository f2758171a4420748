//! SVG charts of the JSON reports `chat-bench --out` writes (`bench-chart` draws them): latency
//! percentiles against offered load (`fanout`, `groups`), server memory against connections
//! (`idle`) and deliveries per second against the number of instances. Each chart is made from
//! the reports given, one point per report, one line per scenario; nothing is invented between
//! them.
use std::path::Path;

use anyhow::{Context, Result, bail};
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use serde_json::Value;

/// What a chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    /// End-to-end p50 and p99 (ms, log scale) against offered messages per second.
    Latency,
    /// Server KiB per idle connection against connections.
    Memory,
    /// Deliveries per second against server instances.
    Instances,
}

impl std::str::FromStr for ChartKind {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "latency" => Ok(ChartKind::Latency),
            "memory" => Ok(ChartKind::Memory),
            "instances" => Ok(ChartKind::Instances),
            other => bail!("unknown chart {other:?}: latency, memory or instances"),
        }
    }
}

/// One point of a line: its x, its y values (one per measure) and its line's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The line it belongs to (the scenario and its shape, e.g. `groups 1000 x 5`).
    pub line: String,
    /// x.
    pub x: f64,
    /// One value per measure of the chart (e.g. p50 and p99).
    pub ys: Vec<f64>,
}

fn number(report: &Value, path: &[&str]) -> Option<f64> {
    let mut value = report;
    for key in path {
        value = value.get(key)?;
    }
    value.as_f64()
}

/// The line a report belongs to: its scenario with the shape of its load.
fn line_of(report: &Value) -> String {
    let scenario = report["scenario"]["scenario"].as_str().unwrap_or("run");
    let database = report["server"]["database"].as_str().unwrap_or("");
    let shape = match scenario {
        "fanout" => number(report, &["scenario", "members"])
            .map(|m| format!(" {m} members"))
            .unwrap_or_default(),
        "groups" => match (
            number(report, &["scenario", "groups"]),
            number(report, &["scenario", "members"]),
        ) {
            (Some(c), Some(m)) => format!(" {c} x {m}"),
            _ => String::new(),
        },
        _ => String::new(),
    };
    if database.is_empty() {
        format!("{scenario}{shape}")
    } else {
        format!("{scenario}{shape}, {database}")
    }
}

/// The point a report gives to a chart of `kind`, if it has the figures.
pub fn point(kind: ChartKind, report: &Value) -> Option<Point> {
    let results = &report["results"];
    let (x, ys) = match kind {
        ChartKind::Latency => (
            number(results, &["target_rate"])?,
            vec![
                number(results, &["e2e_latency", "p50_ms"])?,
                number(results, &["e2e_latency", "p99_ms"])?,
            ],
        ),
        // The connections that opened, not those asked for.
        ChartKind::Memory => (
            number(results, &["setup", "connections"])?
                - number(results, &["setup", "connect_failures"]).unwrap_or(0.0),
            vec![number(results, &["server_kib_per_connection"])?],
        ),
        ChartKind::Instances => (
            number(report, &["server", "instances"])?,
            vec![number(results, &["delivered_per_s"])?],
        ),
    };
    Some(Point {
        line: line_of(report),
        x,
        ys,
    })
}

/// The points of `reports` for a chart of `kind`, each line sorted by x.
pub fn points(kind: ChartKind, reports: &[Value]) -> Result<Vec<Point>> {
    let mut points = Vec::with_capacity(reports.len());
    for (i, report) in reports.iter().enumerate() {
        points
            .push(point(kind, report).with_context(|| {
                format!("report {} has no figures for a {kind:?} chart", i + 1)
            })?);
    }
    points.sort_by(|a, b| a.line.cmp(&b.line).then(a.x.total_cmp(&b.x)));
    Ok(points)
}

/// Names of the measures of a chart, and the axes' captions.
fn labels(kind: ChartKind) -> (&'static [&'static str], &'static str, &'static str) {
    match kind {
        ChartKind::Latency => (
            &["p50", "p99"],
            "offered load (messages/s)",
            "end-to-end latency (ms, log scale)",
        ),
        ChartKind::Memory => (
            &["server"],
            "idle connections",
            "server memory per connection (KiB)",
        ),
        ChartKind::Instances => (&["deliveries/s"], "instances", "deliveries per second"),
    }
}

fn drawing<E: std::fmt::Display>(err: E) -> anyhow::Error {
    anyhow::anyhow!("drawing the chart: {err}")
}

/// Draws `points` as an SVG chart of `kind` into `path`.
pub fn draw(kind: ChartKind, title: &str, points: &[Point], path: &Path) -> Result<()> {
    if points.is_empty() {
        bail!("no points to draw");
    }
    let ys = points.iter().flat_map(|p| p.ys.iter().copied());
    let y_max = ys.clone().fold(0.0, f64::max);
    let y_min = ys.fold(f64::INFINITY, f64::min);
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(drawing)?;
    if kind == ChartKind::Latency {
        // Latencies span orders of magnitude between light and saturating loads.
        let low = (y_min / 2.0).max(0.01);
        render(&root, kind, title, points, (low..y_max * 2.0).log_scale())?;
    } else {
        render(&root, kind, title, points, 0f64..y_max * 1.15)?;
    }
    root.present().map_err(drawing)?;
    Ok(())
}

fn render<Y>(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    kind: ChartKind,
    title: &str,
    points: &[Point],
    y: Y,
) -> Result<()>
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let (measures, x_caption, y_caption) = labels(kind);
    let x_max = points.iter().map(|p| p.x).fold(0.0, f64::max);
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(0f64..x_max * 1.05, y)
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .x_desc(x_caption)
        .y_desc(y_caption)
        .draw()
        .map_err(drawing)?;
    let mut lines: Vec<&str> = points.iter().map(|p| p.line.as_str()).collect();
    lines.dedup();
    let mut color = 0;
    for line in lines {
        let mine: Vec<&Point> = points.iter().filter(|p| p.line == line).collect();
        for (m, measure) in measures.iter().enumerate() {
            let shade = Palette99::pick(color).to_rgba();
            color += 1;
            let coords: Vec<(f64, f64)> = mine.iter().map(|p| (p.x, p.ys[m])).collect();
            chart
                .draw_series(LineSeries::new(coords.clone(), shade.stroke_width(2)))
                .map_err(drawing)?
                .label(format!("{line}: {measure}"))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], shade.stroke_width(2))
                });
            chart
                .draw_series(
                    coords
                        .into_iter()
                        .map(|p| Circle::new(p, 3, shade.filled())),
                )
                .map_err(drawing)?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(drawing)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(scenario: &str, rate: f64, p50: f64, p99: f64) -> Value {
        json!({
            "scenario": {"scenario": scenario, "members": 100, "groups": 1000},
            "server": {"database": "sqlite", "instances": 1},
            "results": {"target_rate": rate, "e2e_latency": {"p50_ms": p50, "p99_ms": p99},
                        "delivered_per_s": rate * 99.0}
        })
    }

    #[test]
    fn each_report_is_one_point_of_its_scenarios_line_in_x_order() {
        let reports = [
            report("fanout", 5000.0, 8.6, 52.0),
            report("fanout", 1000.0, 1.2, 4.0),
            report("groups", 1000.0, 1.0, 3.0),
        ];
        let latency = points(ChartKind::Latency, &reports).expect("points");
        assert_eq!(latency.len(), 3);
        assert_eq!(latency[0].line, "fanout 100 members, sqlite");
        assert_eq!((latency[0].x, latency[1].x), (1000.0, 5000.0));
        assert_eq!(latency[1].ys, vec![8.6, 52.0]);
        assert_eq!(latency[2].line, "groups 1000 x 100, sqlite");
        // An idle report has no latency: said, not drawn as zero.
        let idle = json!({"scenario": {"scenario": "idle"}, "server": {}, "results": {"setup": {"connections": 10}}});
        assert!(points(ChartKind::Latency, &[idle]).is_err());
    }

    #[test]
    fn the_chart_is_an_svg_with_a_line_and_a_legend_entry_per_measure() {
        let reports = [
            report("fanout", 1000.0, 1.2, 4.0),
            report("fanout", 5000.0, 8.6, 52.0),
        ];
        let dir = std::env::temp_dir().join(format!("bench-chart-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("latency.svg");
        let drawn = points(ChartKind::Latency, &reports).expect("points");
        draw(ChartKind::Latency, "fan-out", &drawn, &path).expect("draw");
        let svg = std::fs::read_to_string(&path).expect("svg");
        assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
        // Two points of two measures, each a marker.
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(svg.contains("fanout 100 members, sqlite: p50"));
        assert!(svg.contains("fanout 100 members, sqlite: p99"));
        assert!(svg.contains("offered load (messages/s)"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
