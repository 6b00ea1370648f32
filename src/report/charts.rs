//! The report's charts, as inline SVG drawn by plotters' SVG backend.
//!
//! Each function takes figures already computed (by the stats collector)
//! and returns one `<svg>` element carrying `id` and `class="chart"`, or
//! a small SVG that says there is nothing to draw. Text plotters writes
//! (axis labels, legends) is escaped by its backend; the labels given here
//! are numbers and names made by this program, not capture bytes.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Width of every chart, in SVG units (the page scales it down to fit).
pub const WIDTH: u32 = 960;

/// The client's colour (and the server's), as in the tables' `c/s`.
pub const CLIENT: RGBColor = RGBColor(0x1f, 0x77, 0xb4);
/// The server's colour.
pub const SERVER: RGBColor = RGBColor(0xe0, 0x6c, 0x00);
const GREY: RGBColor = RGBColor(0x88, 0x88, 0x88);
const RED: RGBColor = RGBColor(0xcf, 0x22, 0x2e);

const FONT: &str = "sans-serif";

/// One connection's bar on the timeline: seconds since the capture's first packet.
pub struct Bar {
    /// Its label on the axis ("0", "3 s1" for stream 1 of connection 3).
    pub label: String,
    /// First packet.
    pub start: f64,
    /// Last packet.
    pub end: f64,
    /// Who closed first, when either did.
    pub closed_by_client: Option<bool>,
}

/// Messages per second over time.
pub struct Series {
    /// Its legend.
    pub label: String,
    /// Seconds since the capture's first packet at each bucket's start, and
    /// the messages per second in it.
    pub points: Vec<(f64, f64)>,
    /// The buckets' width, in seconds.
    pub width: f64,
    /// Its colour.
    pub colour: RGBColor,
}

/// A histogram bucket.
pub struct Bucket {
    /// Its label ("64-127").
    pub label: String,
    /// Messages in it.
    pub count: u64,
}

/// One connection's round trips, in seconds.
pub struct Rtt {
    /// Its label on the axis.
    pub label: String,
    /// Ping to pong: min, median, max.
    pub ping: Option<(f64, f64, f64)>,
    /// The TCP three-way handshake.
    pub tcp: Option<f64>,
}

/// A close code (or none) and how many connections closed with it first
/// from each side.
pub struct Close {
    /// "1000", "none".
    pub label: String,
    /// Connections whose client sent it first.
    pub client: u64,
    /// Connections whose server sent it first.
    pub server: u64,
    /// Connections with no close frame at all (the row "none").
    pub unclosed: u64,
}

/// Puts `id` and the class on plotters' `<svg>` element, and lets the page
/// scale it (the viewBox stays).
fn tagged(id: &str, svg: String) -> String {
    let attrs = format!(
        "<svg id=\"{id}\" class=\"chart\" role=\"img\" preserveAspectRatio=\"xMinYMin meet\" "
    );
    match svg.strip_prefix("<svg ") {
        Some(rest) => format!("{attrs}{rest}"),
        None => svg,
    }
}

/// An SVG saying why there is nothing to draw.
fn empty(id: &str, title: &str, why: &str) -> String {
    let title = crate::render::xml_escape(title);
    let why = crate::render::xml_escape(why);
    format!(
        "<svg id=\"{id}\" class=\"chart empty\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"80\" viewBox=\"0 0 {WIDTH} 80\" preserveAspectRatio=\"xMinYMin meet\">\
<text x=\"10\" y=\"28\" font-family=\"{FONT}\" font-size=\"18\">{title}</text>\
<text x=\"10\" y=\"60\" font-family=\"{FONT}\" font-size=\"15\" fill=\"#555\">{why}</text></svg>"
    )
}

/// Draws with `f` on a fresh SVG of `height`; the SVG, or `None` when
/// plotters reports an error (the page then says the chart is missing).
fn draw(
    id: &str,
    height: u32,
    f: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), Box<dyn std::error::Error>>,
) -> Option<String> {
    let mut buf = String::new();
    {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        f(&root).ok()?;
        root.present().ok()?;
    }
    Some(tagged(id, buf))
}

/// A chart with f64 coordinates on both axes (every chart here).
type CategoryChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// How a category chart's axes are labelled.
struct Axes<'f> {
    x_desc: &'static str,
    y_desc: &'static str,
    /// The tick labels' font size.
    label_size: u32,
    /// Ticks on the x axis (two a category, a label under every other).
    x_labels: usize,
    /// Ticks on the y axis (`None`: plotters' choice).
    y_labels: Option<usize>,
    y_format: &'f dyn Fn(&f64) -> String,
}

/// A chart over `labels.len()` categories, bar `i` spanning x in
/// `[i, i + 1)` with its label under the middle, y from 0 to `ymax` with
/// some headroom; the mesh is drawn.
fn category_chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
    labels: &[&str],
    ymax: f64,
    axes: Axes<'_>,
) -> Result<CategoryChart<'a, 'b>, Box<dyn std::error::Error>> {
    let n = labels.len();
    let label_of = |x: &f64| -> String {
        let i = x - 0.5;
        if (i - i.round()).abs() < 1e-6 && i >= 0.0 {
            labels
                .get(i.round() as usize)
                .map_or_else(String::new, |s| s.to_string())
        } else {
            String::new()
        }
    };
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .caption(title, (FONT, 20))
        .x_label_area_size(42)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..n as f64, 0f64..headroom(ymax))?;
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh()
        .x_labels(axes.x_labels)
        .x_label_formatter(&label_of)
        .y_label_formatter(axes.y_format)
        .x_desc(axes.x_desc)
        .y_desc(axes.y_desc)
        .label_style((FONT, axes.label_size))
        .axis_desc_style((FONT, 15));
    if let Some(y) = axes.y_labels {
        mesh.y_labels(y);
    }
    mesh.draw()?;
    Ok(chart)
}

/// The series' legend, in the upper right corner.
fn legend<'a, 'b: 'a>(chart: &mut CategoryChart<'a, 'b>) -> Result<(), Box<dyn std::error::Error>> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

/// A nice upper bound for an axis that must show `v`.
fn headroom(v: f64) -> f64 {
    if v.is_finite() && v > 0.0 {
        v * 1.08
    } else {
        1.0
    }
}

/// Seconds as the axis shows them.
fn secs(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() < 0.01 {
        format!("{:.4}", v)
    } else if v.abs() < 1.0 {
        format!("{:.3}", v)
    } else {
        format!("{:.1}", v)
    }
}

/// Milliseconds as the axis shows them.
fn millis(v: f64) -> String {
    if v.abs() < 1.0 {
        format!("{:.3}", v)
    } else {
        format!("{:.1}", v)
    }
}

/// Connections as horizontal bars on the capture's time axis.
pub fn timeline(id: &str, bars: &[Bar], span: f64) -> String {
    if bars.is_empty() {
        return empty(id, "Connections over time", "no WebSocket connection");
    }
    let n = bars.len();
    // Rows of 22 units, and room above them for the legend.
    const LEGEND_ROWS: f64 = 3.5;
    let height = (130 + 22 * n as u32).clamp(180, 4600);
    let xmax = headroom(span.max(bars.iter().map(|b| b.end).fold(0.0, f64::max)));
    let labels: Vec<&str> = bars.iter().map(|b| b.label.as_str()).collect();
    // Row i is centred on y = n - i: whatever step plotters picks for the
    // ticks, each integer tick names its row.
    let label_of = |y: &f64| -> String {
        let i = n as f64 - y;
        if (i - i.round()).abs() < 1e-6 && i >= 0.0 {
            labels
                .get(i.round() as usize)
                .map_or_else(String::new, |s| s.to_string())
        } else {
            String::new()
        }
    };
    draw(id, height, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .caption("Connections over time", (FONT, 20))
            .x_label_area_size(42)
            .y_label_area_size(90)
            .build_cartesian_2d(0f64..xmax, 0.4f64..n as f64 + LEGEND_ROWS)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n.min(40) + 4)
            .y_label_formatter(&label_of)
            .x_label_formatter(&|v| secs(*v))
            .x_desc("seconds since the capture's first packet")
            .y_desc("connection")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let y = n as f64 - i as f64;
                let colour = match b.closed_by_client {
                    Some(true) => CLIENT,
                    Some(false) => SERVER,
                    None => GREY,
                };
                // A connection of one instant still shows as a sliver.
                let end = if b.end - b.start < xmax / 400.0 {
                    b.start + xmax / 400.0
                } else {
                    b.end
                };
                Rectangle::new([(b.start, y + 0.3), (end, y - 0.3)], colour.filled())
            }))?
            .label("closed first by the client")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], CLIENT.filled()));
        chart
            .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
            .label("closed first by the server")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], SERVER.filled()));
        chart
            .draw_series(std::iter::empty::<Rectangle<(f64, f64)>>())?
            .label("no close frame")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], GREY.filled()));
        legend(&mut chart)
    })
    .unwrap_or_else(|| empty(id, "Connections over time", "could not be drawn"))
}

/// Messages per second over the capture, a line per direction.
pub fn rate(id: &str, series: &[Series], span: f64) -> String {
    let title = "Messages per second";
    let ymax = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.1))
        .fold(0.0, f64::max);
    if ymax <= 0.0 {
        return empty(id, title, "no WebSocket message");
    }
    // The whole of the last bucket is shown (a capture shorter than a
    // bucket is one step across the bucket).
    let xmax = headroom(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(move |p| p.0 + s.width))
            .fold(span, f64::max),
    );
    draw(id, 340, |root| {
        let mut chart = ChartBuilder::on(root)
            .margin(12)
            .caption(title, (FONT, 20))
            .x_label_area_size(42)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..xmax, 0f64..headroom(ymax))?;
        chart
            .configure_mesh()
            .x_label_formatter(&|v| secs(*v))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .x_desc("seconds since the capture's first packet")
            .y_desc("messages / s")
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()?;
        for s in series {
            let colour = s.colour;
            // Steps: each bucket's rate holds until the next bucket.
            let mut pts = Vec::with_capacity(s.points.len() * 2);
            for (k, &(t, v)) in s.points.iter().enumerate() {
                let next = s.points.get(k + 1).map_or(t + s.width, |p| p.0);
                pts.push((t, v));
                pts.push((next, v));
            }
            chart
                .draw_series(LineSeries::new(pts, colour.stroke_width(2)))?
                .label(s.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3))
                });
        }
        legend(&mut chart)
    })
    .unwrap_or_else(|| empty(id, title, "could not be drawn"))
}

/// Message sizes as a histogram (one bar per bucket).
pub fn sizes(id: &str, buckets: &[Bucket]) -> String {
    let title = "Message sizes";
    let ymax = buckets.iter().map(|b| b.count).max().unwrap_or(0);
    if ymax == 0 {
        return empty(id, title, "no WebSocket message");
    }
    let n = buckets.len();
    let labels: Vec<&str> = buckets.iter().map(|b| b.label.as_str()).collect();
    draw(id, 340, |root| {
        let axes = Axes {
            x_desc: "bytes (data messages, inflated)",
            y_desc: "messages",
            label_size: 13,
            x_labels: n * 2 + 1,
            y_labels: Some(ymax.min(10) as usize + 1),
            y_format: &|v| format!("{v:.0}"),
        };
        let mut chart = category_chart(root, title, &labels, ymax as f64, axes)?;
        chart.draw_series(buckets.iter().enumerate().map(|(i, b)| {
            let x = i as f64;
            Rectangle::new([(x + 0.1, 0.0), (x + 0.9, b.count as f64)], CLIENT.filled())
        }))?;
        Ok(())
    })
    .unwrap_or_else(|| empty(id, title, "could not be drawn"))
}

/// Round trips per connection: ping to pong (min to max, a dot at the
/// median) and the TCP handshake (a cross), in milliseconds.
pub fn rtt(id: &str, rows: &[Rtt]) -> String {
    let title = "Round-trip times";
    let rows: Vec<&Rtt> = rows
        .iter()
        .filter(|r| r.ping.is_some() || r.tcp.is_some())
        .collect();
    if rows.is_empty() {
        return empty(
            id,
            title,
            "no ping answered by a pong and no TCP handshake in the capture",
        );
    }
    let n = rows.len();
    let ymax = rows
        .iter()
        .flat_map(|r| [r.ping.map(|p| p.2), r.tcp])
        .flatten()
        .fold(0.0, f64::max)
        * 1000.0;
    let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    draw(id, 340, |root| {
        let axes = Axes {
            x_desc: "connection",
            y_desc: "milliseconds",
            label_size: 14,
            x_labels: (n * 2 + 1).min(121),
            y_labels: None,
            y_format: &|v| millis(*v),
        };
        let mut chart = category_chart(root, title, &labels, ymax, axes)?;
        let ms = |s: f64| s * 1000.0;
        chart
            .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
                let (lo, _, hi) = r.ping?;
                let x = i as f64 + 0.35;
                Some(PathElement::new(
                    vec![(x, ms(lo)), (x, ms(hi))],
                    CLIENT.stroke_width(3),
                ))
            }))?
            .label("ping → pong, min to max")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], CLIENT.stroke_width(3)));
        chart
            .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
                let (_, med, _) = r.ping?;
                Some(Circle::new((i as f64 + 0.35, ms(med)), 5, CLIENT.filled()))
            }))?
            .label("ping → pong, median")
            .legend(|(x, y)| Circle::new((x + 10, y), 5, CLIENT.filled()));
        chart
            .draw_series(rows.iter().enumerate().filter_map(|(i, r)| {
                Some(Cross::new(
                    (i as f64 + 0.65, ms(r.tcp?)),
                    6,
                    RED.stroke_width(2),
                ))
            }))?
            .label("TCP handshake (SYN → ACK)")
            .legend(|(x, y)| Cross::new((x + 10, y), 6, RED.stroke_width(2)));
        legend(&mut chart)
    })
    .unwrap_or_else(|| empty(id, title, "could not be drawn"))
}

/// Close codes: connections per code, by who sent it first.
pub fn closes(id: &str, rows: &[Close]) -> String {
    let title = "Close codes (the first close of each connection)";
    let ymax = rows
        .iter()
        .map(|r| r.client + r.server + r.unclosed)
        .max()
        .unwrap_or(0);
    if ymax == 0 {
        return empty(id, title, "no WebSocket connection");
    }
    let n = rows.len();
    let labels: Vec<&str> = rows.iter().map(|r| r.label.as_str()).collect();
    draw(id, 300, |root| {
        let axes = Axes {
            x_desc: "close code",
            y_desc: "connections",
            label_size: 14,
            x_labels: n * 2 + 1,
            y_labels: Some(ymax.min(10) as usize + 1),
            y_format: &|v| format!("{v:.0}"),
        };
        let mut chart = category_chart(root, title, &labels, ymax as f64, axes)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let x = i as f64;
                Rectangle::new(
                    [(x + 0.2, 0.0), (x + 0.8, r.client as f64)],
                    CLIENT.filled(),
                )
            }))?
            .label("the client closed first")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], CLIENT.filled()));
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let x = i as f64;
                let c = r.client as f64;
                Rectangle::new(
                    [(x + 0.2, c), (x + 0.8, c + r.server as f64)],
                    SERVER.filled(),
                )
            }))?
            .label("the server closed first")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], SERVER.filled()));
        chart
            .draw_series(rows.iter().enumerate().map(|(i, r)| {
                let x = i as f64;
                let c = (r.client + r.server) as f64;
                Rectangle::new(
                    [(x + 0.2, c), (x + 0.8, c + r.unclosed as f64)],
                    GREY.filled(),
                )
            }))?
            .label("no close frame")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], GREY.filled()));
        legend(&mut chart)
    })
    .unwrap_or_else(|| empty(id, title, "could not be drawn"))
}
