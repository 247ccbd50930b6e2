//! `timeline.svg`: the model drawn for people without tools — plain SVG (no scripts, no
//! styles from elsewhere) that any browser or image viewer shows, and that a README can
//! embed.
//!
//! One lane per core with a bar per run in its thread's colour (idle threads grey), a tick
//! under the lane per interrupt handler, a triangle on top of the lane per wake (in the woken
//! thread's colour, on the core that woke it), diamonds for priority boosts (red) and restores
//! (green), marks as dashed lines labelled above the lanes; a time axis in µs from the first
//! event with labelled ticks at 1/2/5 steps; a legend naming every thread. Hovering shows
//! each element's details (`<title>`). The width is fixed ([`WIDTH`]) and time is scaled to
//! fit it, so a long trace stays one picture.

use std::fmt::Write;

use super::model::Model;
use trace_format::Kind;

/// Width of the picture in pixels.
pub const WIDTH: f64 = 1600.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 30.0;
const LANE: f64 = 44.0;
const MARK_ROWS: usize = 3;
const MARK_ROW: f64 = 14.0;
const BOOST: &str = "#d62728";
const RESTORE: &str = "#2ca02c";
/// Distinct colours for the first threads; later ones get hues around the circle.
const PALETTE: [&str; 12] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#17becf", "#8c564b", "#bcbd22",
];

/// The picture of `model`, titled with `program`.
pub fn render(model: &Model, program: &str) -> String {
    let plot = WIDTH - LEFT - RIGHT;
    let span = (model.end - model.start).max(1) as f64;
    let x = |t: u64| LEFT + (t.saturating_sub(model.start)) as f64 / span * plot;
    let title_h = 28.0;
    let marks_top = title_h;
    let marks = model.points.iter().any(|p| p.kind == Kind::Mark);
    let lanes_top = marks_top
        + if marks {
            MARK_ROWS as f64 * MARK_ROW
        } else {
            0.0
        }
        + 6.0;
    let lanes_h = LANE * model.cores.len() as f64;
    let axis_y = lanes_top + lanes_h + 4.0;
    let legend_top = axis_y + 40.0;
    let legend = legend_rows(model);
    let legend_lines = legend.last().map_or(0, |e| e.0 + 1);
    let height = legend_top + 20.0 * legend_lines as f64 + 10.0;

    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"18\" font-size=\"15\" font-weight=\"bold\">{}</text>\n",
        escape(&format!("preempt: {program} — scheduler timeline"))
    );
    for (lane, core) in model.cores.iter().enumerate() {
        let top = lanes_top + LANE * lane as f64;
        let _ = writeln!(
            s,
            "<rect x=\"{LEFT}\" y=\"{top}\" width=\"{plot}\" height=\"{}\" fill=\"#f6f6f6\"/>\n\
             <text x=\"8\" y=\"{}\">core {}</text>",
            LANE - 4.0,
            top + 24.0,
            core.cpu
        );
        for run in &core.runs {
            let (x0, x1) = (x(run.start), x(run.end));
            let _ = writeln!(
                s,
                "<rect x=\"{x0:.2}\" y=\"{}\" width=\"{:.2}\" height=\"22\" fill=\"{}\" \
                 stroke=\"white\" stroke-width=\"0.4\"><title>{}: {:.1}–{:.1} µs, {}</title></rect>",
                top + 8.0,
                (x1 - x0).max(1.0),
                colour(model, run.thread),
                escape(&model.name(run.thread)),
                model.us(run.start - model.start),
                model.us(run.end - model.start),
                escape(&run.ending.describe())
            );
        }
        for irq in &core.irqs {
            let _ = writeln!(
                s,
                "<line x1=\"{0:.2}\" x2=\"{0:.2}\" y1=\"{1}\" y2=\"{2}\" stroke=\"black\">\
                 <title>irq {3} at {4:.1} µs</title></line>",
                x(irq.start),
                top + 31.0,
                top + 38.0,
                irq.line,
                model.us(irq.start - model.start)
            );
        }
    }
    let mut mark_row = 0;
    for point in &model.points {
        let Some(lane) = model.cores.iter().position(|c| c.cpu == point.cpu) else {
            continue;
        };
        let top = lanes_top + LANE * lane as f64;
        let px = x(point.time);
        let tip = format!(
            "{} at {:.1} µs",
            point.title,
            model.us(point.time - model.start)
        );
        match point.kind {
            Kind::Wake => {
                let _ = writeln!(
                    s,
                    "<path d=\"M{:.2} {} l-4 -6 h8 z\" fill=\"{}\" stroke=\"black\" \
                     stroke-width=\"0.5\"><title>{}</title></path>",
                    px,
                    top + 7.0,
                    colour(model, point.thread),
                    escape(&tip)
                );
            }
            Kind::Boost | Kind::Restore => {
                let fill = if point.kind == Kind::Boost {
                    BOOST
                } else {
                    RESTORE
                };
                let _ = writeln!(
                    s,
                    "<path d=\"M{:.2} {} l4 4 l-4 4 l-4 -4 z\" fill=\"{fill}\"><title>{}</title></path>",
                    px,
                    top + 15.0,
                    escape(&tip)
                );
            }
            Kind::Mark => {
                let label_y = marks_top + MARK_ROW * (mark_row % MARK_ROWS + 1) as f64 - 2.0;
                mark_row += 1;
                // Labels near the right edge end at their line instead of starting there.
                let (label_x, anchor) = if px > WIDTH - 250.0 {
                    (px - 2.0, "end")
                } else {
                    (px + 2.0, "start")
                };
                let _ = writeln!(
                    s,
                    "<line x1=\"{px:.2}\" x2=\"{px:.2}\" y1=\"{}\" y2=\"{}\" stroke=\"#555\" \
                     stroke-dasharray=\"3 2\"/>\n<text x=\"{label_x:.2}\" y=\"{label_y}\" \
                     text-anchor=\"{anchor}\" font-size=\"11\">{}<title>{}</title></text>",
                    label_y + 2.0,
                    lanes_top + lanes_h,
                    escape(&point.title),
                    escape(&tip)
                );
            }
            _ => {}
        }
    }
    axis(&mut s, model, axis_y, &x);
    for (row, lx, swatch, text) in &legend {
        let y = legend_top + 20.0 * *row as f64;
        let _ = writeln!(
            s,
            "{}<text x=\"{:.1}\" y=\"{}\">{}</text>",
            swatch.draw(*lx, y),
            lx + 18.0,
            y + 11.0,
            escape(text)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The time axis under the lanes: a line, and ticks at a 1/2/5 step labelled in µs.
fn axis(s: &mut String, model: &Model, y: f64, x: &dyn Fn(u64) -> f64) {
    let span_us = model.us(model.end - model.start);
    let step = nice_step(span_us / 10.0);
    let _ = writeln!(
        s,
        "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"black\"/>",
        WIDTH - RIGHT
    );
    let decimals = if step >= 1.0 { 0 } else { 3 };
    let mut k = 0u32;
    loop {
        let at = f64::from(k) * step;
        if at > span_us + step * 1e-9 || k > 100 {
            break;
        }
        let ticks = (at * model.counter_hz as f64 / 1e6) as u64;
        let px = x(model.start + ticks);
        let _ = writeln!(
            s,
            "<line x1=\"{px:.2}\" x2=\"{px:.2}\" y1=\"{y}\" y2=\"{}\" stroke=\"black\"/>\
             <text x=\"{px:.2}\" y=\"{}\" text-anchor=\"middle\">{at:.decimals$}</text>",
            y + 5.0,
            y + 18.0
        );
        k += 1;
    }
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">time (µs from the first event)</text>",
        WIDTH - RIGHT,
        y + 32.0
    );
}

/// The smallest 1, 2 or 5 times a power of ten at least `raw` (and above zero).
pub fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|&step| step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// What a legend entry shows before its text.
enum Swatch {
    Colour(String),
    Wake,
    Irq,
    Diamond(&'static str),
}

impl Swatch {
    /// The element, its box's top left corner at (`x`, `y`).
    fn draw(&self, x: f64, y: f64) -> String {
        let mid = x + 7.0;
        match self {
            Swatch::Colour(fill) => format!(
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"14\" height=\"12\" fill=\"{fill}\"/>"
            ),
            Swatch::Wake => format!(
                "<path d=\"M{mid:.1} {:.1} l-4 -6 h8 z\" fill=\"white\" stroke=\"black\"/>",
                y + 9.0
            ),
            Swatch::Irq => format!(
                "<line x1=\"{mid:.1}\" x2=\"{mid:.1}\" y1=\"{y:.1}\" y2=\"{:.1}\" stroke=\"black\"/>",
                y + 12.0
            ),
            Swatch::Diamond(fill) => format!(
                "<path d=\"M{mid:.1} {:.1} l4 4 l-4 4 l-4 -4 z\" fill=\"{fill}\"/>",
                y + 2.0
            ),
        }
    }
}

/// Legend entries (row, x, swatch, text), wrapped to the width: every thread, then the
/// markers.
fn legend_rows(model: &Model) -> Vec<(usize, f64, Swatch, String)> {
    let mut entries: Vec<(Swatch, String)> = model
        .threads
        .iter()
        .map(|t| (Swatch::Colour(colour(model, t.id)), t.name.clone()))
        .collect();
    entries.extend([
        (Swatch::Wake, "wake (on the waking core)".to_string()),
        (Swatch::Irq, "interrupt handler".to_string()),
        (Swatch::Diamond(BOOST), "priority boost".to_string()),
        (Swatch::Diamond(RESTORE), "priority restore".to_string()),
    ]);
    let mut placed = Vec::new();
    let (mut row, mut lx) = (0, LEFT);
    for (swatch, text) in entries {
        let w = 30.0 + 7.0 * text.chars().count() as f64;
        if lx + w > WIDTH - RIGHT && lx > LEFT {
            row += 1;
            lx = LEFT;
        }
        placed.push((row, lx, swatch, text));
        lx += w;
    }
    placed
}

/// The colour of `thread`: grey for idle threads, else by its index.
pub fn colour(model: &Model, thread: u64) -> String {
    if model.name(thread).starts_with("idle") {
        return "#c8c8c8".to_string();
    }
    let i = model.thread_index(thread);
    match PALETTE.get(i) {
        Some(c) => (*c).to_string(),
        None => format!("hsl({:.0},60%,55%)", (i as f64 * 137.508) % 360.0),
    }
}

/// `text` with XML's special characters escaped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}
