//! A batch as a picture: an SVG Gantt chart with one bar per call, from its
//! start to its end, and several batches (say, "sequential" and "parallel")
//! stacked on one shared time axis so their makespans compare at a glance.
//!
//! The SVG is written by hand (no dependency) and stands alone: open it in a
//! browser. Every text is XML-escaped; each bar is a
//! `<rect class="call OUTCOME" ...>` carrying the call's exact times in
//! `data-start-ms` / `data-elapsed-ms`, with a `<title>` tooltip.
//!
//! ```
//! use std::time::Duration;
//! use toolcall_runtime::Batch;
//! use toolcall_sim::Timeline;
//!
//! let batch = Batch::new(Vec::new(), Duration::ZERO);
//! let svg = Timeline::new("One turn").lane("parallel", &batch).to_svg();
//! assert!(svg.starts_with("<svg"));
//! ```

use std::fmt::Write;
use std::time::Duration;

use toolcall_runtime::{Batch, CallResult, Outcome};

/// Width of the whole picture, in SVG user units (pixels).
const WIDTH: f64 = 960.0;
/// Left column: the tools' names.
const LABELS: f64 = 190.0;
/// Right margin: room for the last bar's "NNN ms".
const RIGHT: f64 = 90.0;
/// Height of the title band.
const TITLE: f64 = 44.0;
/// Height of a lane's header row.
const HEADER: f64 = 26.0;
/// Height of one call's row.
const ROW: f64 = 24.0;
/// Height of one bar, inside its row.
const BAR: f64 = 16.0;
/// Space between lanes.
const GAP: f64 = 12.0;
/// Height of the axis band (ticks and their labels).
const AXIS: f64 = 30.0;
/// Height of the legend band.
const LEGEND: f64 = 28.0;
/// A bar is at least this wide, so an instant call (refused before it ran)
/// still shows.
const MIN_BAR: f64 = 1.0;

/// An SVG Gantt chart of one or more batches on a shared time axis.
///
/// Each lane is a batch: a header with its name and makespan, then one row
/// per call in call order, the bar spanning the call's start to its end,
/// coloured by its [`Outcome`].
#[derive(Debug, Clone)]
pub struct Timeline<'a> {
    title: String,
    lanes: Vec<(String, &'a Batch)>,
}

impl<'a> Timeline<'a> {
    /// An empty chart with this title.
    pub fn new(title: impl Into<String>) -> Self {
        Timeline {
            title: title.into(),
            lanes: Vec::new(),
        }
    }

    /// Add a lane below the others.
    pub fn lane(mut self, name: impl Into<String>, batch: &'a Batch) -> Self {
        self.lanes.push((name.into(), batch));
        self
    }

    /// The time the axis spans: the latest end of any call or batch, in ms
    /// (at least a microsecond, so an empty chart still has a scale).
    fn span_ms(&self) -> f64 {
        let latest = self
            .lanes
            .iter()
            .flat_map(|(_, batch)| {
                batch
                    .results
                    .iter()
                    .map(CallResult::ended)
                    .chain([batch.makespan])
            })
            .max()
            .unwrap_or(Duration::ZERO);
        ms(latest).max(0.001)
    }

    /// Render the chart as a standalone SVG document.
    pub fn to_svg(&self) -> String {
        let plot = WIDTH - LABELS - RIGHT;
        let (step, span) = ticks(self.span_ms());
        let scale = plot / span;
        let lanes_height: f64 = self
            .lanes
            .iter()
            .map(|(_, b)| HEADER + ROW * b.results.len() as f64 + GAP)
            .sum();
        let height = TITLE + lanes_height + AXIS + LEGEND;
        let plot_top = TITLE;
        let plot_bottom = TITLE + lanes_height;

        let mut svg = String::with_capacity(2048 + 512 * self.call_count());
        // `write!` to a String cannot fail; the results are ignored below.
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="12">"#
        );
        svg.push('\n');
        let _ = writeln!(svg, "<title>{}</title>", escape(&self.title));
        svg.push_str(STYLE);
        let _ = writeln!(
            svg,
            r##"<rect class="background" x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>"##
        );
        let _ = writeln!(
            svg,
            r#"<text class="title" x="16" y="28" font-size="16" font-weight="600">{}</text>"#,
            escape(&self.title)
        );

        // Grid lines and tick labels of the shared axis.
        let _ = writeln!(svg, r#"<g class="axis">"#);
        let count = (span / step).round() as usize;
        for i in 0..=count {
            let t = step * i as f64;
            let x = LABELS + t * scale;
            let _ = writeln!(
                svg,
                r#"<line class="grid" x1="{x:.2}" y1="{plot_top:.2}" x2="{x:.2}" y2="{plot_bottom:.2}"/>"#
            );
            let _ = writeln!(
                svg,
                r#"<text class="tick" x="{x:.2}" y="{:.2}" text-anchor="middle">{} ms</text>"#,
                plot_bottom + 16.0,
                format_ms(t, step)
            );
        }
        let _ = writeln!(svg, "</g>");

        let mut y = TITLE;
        for (name, batch) in &self.lanes {
            let _ = writeln!(svg, r#"<g class="lane" data-name="{}">"#, escape(name));
            let _ = writeln!(
                svg,
                r#"<text class="lane-name" x="16" y="{:.2}" font-weight="600">{} · {} calls · makespan {} ms · sum of calls {} ms</text>"#,
                y + 17.0,
                escape(name),
                batch.results.len(),
                format_ms(ms(batch.makespan), 0.1),
                format_ms(ms(batch.total_call_time()), 0.1),
            );
            // The batch's makespan, as a bracket under the header.
            let _ = writeln!(
                svg,
                r#"<line class="makespan" x1="{LABELS:.2}" y1="{:.2}" x2="{:.2}" y2="{:.2}"/>"#,
                y + HEADER - 3.0,
                LABELS + ms(batch.makespan) * scale,
                y + HEADER - 3.0,
            );
            y += HEADER;
            for result in &batch.results {
                bar(&mut svg, result, y, scale);
                y += ROW;
            }
            let _ = writeln!(svg, "</g>");
            y += GAP;
        }

        // Axis line.
        let _ = writeln!(
            svg,
            r#"<line class="axis-line" x1="{LABELS:.2}" y1="{plot_bottom:.2}" x2="{:.2}" y2="{plot_bottom:.2}"/>"#,
            LABELS + plot
        );

        // Legend: the outcomes that appear.
        let mut seen: Vec<Outcome> = Vec::new();
        for (_, batch) in &self.lanes {
            for r in &batch.results {
                if !seen.contains(&r.outcome) {
                    seen.push(r.outcome);
                }
            }
        }
        let legend_y = plot_bottom + AXIS;
        let _ = writeln!(svg, r#"<g class="legend">"#);
        let mut x = LABELS;
        for outcome in seen {
            let _ = writeln!(
                svg,
                r#"<rect class="swatch" x="{x:.2}" y="{:.2}" width="12" height="12" rx="2" fill="{}"/>"#,
                legend_y + 2.0,
                colour(outcome)
            );
            let _ = writeln!(
                svg,
                r#"<text x="{:.2}" y="{:.2}">{}</text>"#,
                x + 16.0,
                legend_y + 12.0,
                outcome.as_str()
            );
            x += 24.0 + 7.0 * outcome.as_str().len() as f64;
        }
        let _ = writeln!(svg, "</g>");
        svg.push_str("</svg>\n");
        svg
    }

    fn call_count(&self) -> usize {
        self.lanes.iter().map(|(_, b)| b.results.len()).sum()
    }
}

/// One call's row: its name on the left, its bar, its time after the bar.
fn bar(svg: &mut String, r: &CallResult, y: f64, scale: f64) {
    let start = ms(r.started);
    let elapsed = ms(r.elapsed);
    let x = LABELS + start * scale;
    let width = (elapsed * scale).max(MIN_BAR);
    let bar_y = y + (ROW - BAR) / 2.0;
    let name = escape(&r.name);
    let _ = writeln!(
        svg,
        r#"<text class="call-name" x="{:.2}" y="{:.2}" text-anchor="end">{name}</text>"#,
        LABELS - 8.0,
        y + 16.0
    );
    let _ = writeln!(
        svg,
        r#"<rect class="call {outcome}" x="{x:.2}" y="{bar_y:.2}" width="{width:.2}" height="{BAR}" rx="3" fill="{fill}" data-tool="{name}" data-call-id="{id}" data-outcome="{outcome}" data-start-ms="{start:.3}" data-elapsed-ms="{elapsed:.3}"><title>{name} ({id}): {outcome}, {elapsed_label} ms, from {start_label} ms to {end_label} ms</title></rect>"#,
        outcome = r.outcome.as_str(),
        fill = colour(r.outcome),
        id = escape(&r.call_id),
        elapsed_label = format_ms(elapsed, 0.1),
        start_label = format_ms(start, 0.1),
        end_label = format_ms(start + elapsed, 0.1),
    );
    // The time (and the outcome when it is not ok) after the bar, or inside
    // its end when the bar reaches the right edge.
    let label = match r.outcome {
        Outcome::Ok => format!("{} ms", format_ms(elapsed, 0.1)),
        other => format!("{} ms · {other}", format_ms(elapsed, 0.1)),
    };
    let label_width = 6.5 * label.chars().count() as f64;
    let (label_x, anchor, class) = if x + width + 6.0 + label_width <= WIDTH - 4.0 {
        (x + width + 6.0, "start", "call-time")
    } else if width >= label_width + 12.0 {
        (x + width - 6.0, "end", "call-time inside")
    } else {
        (x - 6.0, "end", "call-time")
    };
    let _ = writeln!(
        svg,
        r#"<text class="{class}" x="{label_x:.2}" y="{:.2}" text-anchor="{anchor}">{}</text>"#,
        y + 16.0,
        escape(&label),
    );
}

/// An SVG Gantt chart of these batches, one lane each, on a shared time axis:
/// `timeline_svg("Turn", &[("sequential", &seq), ("parallel", &par)])`.
pub fn timeline_svg(title: &str, lanes: &[(&str, &Batch)]) -> String {
    lanes
        .iter()
        .fold(Timeline::new(title), |t, (name, batch)| {
            t.lane(*name, batch)
        })
        .to_svg()
}

const STYLE: &str = "<style>\
.grid{stroke:#e3e6ea;stroke-width:1}\
.axis-line{stroke:#6b7280;stroke-width:1}\
.makespan{stroke:#9ca3af;stroke-width:2;stroke-dasharray:4 3}\
.tick{fill:#6b7280;font-size:11px}\
.call-name{fill:#111827}\
.call-time{fill:#374151;font-size:11px}\
.call-time.inside{fill:#ffffff}\
.lane-name{fill:#111827}\
.call{stroke:#1f2937;stroke-opacity:.25}\
</style>\n";

/// A bar's colour for its outcome.
fn colour(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Ok => "#2e9d5b",
        Outcome::ToolError => "#e08a1e",
        Outcome::InvalidArguments => "#c9b316",
        Outcome::UnknownTool => "#8e5cc4",
        Outcome::TimedOut => "#d64545",
        Outcome::Panicked => "#8b1a1a",
        Outcome::Denied => "#b4479b",
        Outcome::Deferred => "#3b6fd4",
        _ => "#9aa1ab",
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A tick step of 1, 2 or 5 times a power of ten giving 4 to 10 ticks over
/// `span_ms`, and the axis span rounded up to a whole number of steps.
fn ticks(span_ms: f64) -> (f64, f64) {
    let rough = span_ms / 6.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * magnitude);
    let span = (span_ms / step).ceil().max(1.0) * step;
    (step, span)
}

/// `t` in ms with as many decimals as `resolution` needs.
fn format_ms(t: f64, resolution: f64) -> String {
    let decimals = (-resolution.log10() - 1e-9).ceil().max(0.0) as usize;
    format!("{t:.decimals$}")
}

/// Escape text for XML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 forbids become the replacement character.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, outcome: Outcome, started_ms: u64, elapsed_ms: u64) -> CallResult {
        CallResult::new(format!("call_{name}"), name, outcome, String::new()).timed(
            Duration::from_millis(started_ms),
            Duration::from_millis(elapsed_ms),
        )
    }

    fn sequential() -> Batch {
        Batch::new(
            vec![
                result("demographics", Outcome::Ok, 0, 200),
                result("medications", Outcome::Ok, 200, 180),
                result("allergies", Outcome::ToolError, 380, 150),
                result("labs", Outcome::Ok, 530, 220),
            ],
            Duration::from_millis(750),
        )
    }

    fn parallel() -> Batch {
        Batch::new(
            vec![
                result("demographics", Outcome::Ok, 0, 200),
                result("medications", Outcome::Ok, 0, 180),
                result("allergies", Outcome::ToolError, 0, 150),
                result("labs", Outcome::Ok, 0, 220),
            ],
            Duration::from_millis(220),
        )
    }

    /// A start tag: its name and attributes.
    type Tag = (String, Vec<(String, String)>);

    /// A well-formedness check: tags balance, attributes are quoted, text
    /// holds no raw `<` and only known entities. Returns the start tags as
    /// (name, attributes) in document order.
    fn parse(svg: &str) -> Result<Vec<Tag>, String> {
        fn check_text(text: &str) -> Result<(), String> {
            let mut rest = text;
            while let Some(i) = rest.find('&') {
                rest = &rest[i..];
                let end = rest.find(';').ok_or("an `&` without `;`")?;
                if !["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&&rest[..=end]) {
                    return Err(format!("unknown entity {}", &rest[..=end]));
                }
                rest = &rest[end + 1..];
            }
            Ok(())
        }
        let mut stack: Vec<String> = Vec::new();
        let mut tags = Vec::new();
        let mut rest = svg.trim_end();
        let mut seen_root = false;
        while !rest.is_empty() {
            let Some(open) = rest.find('<') else {
                return Err(format!("text after the root: {rest:?}"));
            };
            check_text(&rest[..open])?;
            if stack.is_empty() && seen_root {
                return Err("more than one root".into());
            }
            rest = &rest[open + 1..];
            let close = rest.find('>').ok_or("unclosed tag")?;
            let tag = &rest[..close];
            rest = &rest[close + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                match stack.pop() {
                    Some(open) if open == name => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
                continue;
            }
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let (name, mut attrs_text) = tag.split_once(' ').unwrap_or((tag, ""));
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(format!("bad tag name {name:?}"));
            }
            let mut attrs = Vec::new();
            loop {
                attrs_text = attrs_text.trim_start();
                if attrs_text.is_empty() {
                    break;
                }
                let eq = attrs_text.find('=').ok_or("attribute without value")?;
                let key = attrs_text[..eq].to_owned();
                let value_text = &attrs_text[eq + 1..];
                let value_text = value_text.strip_prefix('"').ok_or("unquoted attribute")?;
                let end = value_text.find('"').ok_or("unterminated attribute")?;
                let value = &value_text[..end];
                check_text(value)?;
                if value.contains('<') {
                    return Err("raw `<` in an attribute".into());
                }
                if attrs.iter().any(|(k, _)| *k == key) {
                    return Err(format!("duplicate attribute {key}"));
                }
                attrs.push((key, value.to_owned()));
                attrs_text = &value_text[end + 1..];
            }
            tags.push((name.to_owned(), attrs));
            seen_root = true;
            if !self_closing {
                stack.push(name.to_owned());
            }
        }
        if !stack.is_empty() {
            return Err(format!("unclosed elements {stack:?}"));
        }
        Ok(tags)
    }

    fn bars(tags: &[Tag]) -> Vec<&Vec<(String, String)>> {
        tags.iter()
            .filter(|(name, attrs)| {
                name == "rect"
                    && attrs
                        .iter()
                        .any(|(k, v)| k == "class" && v.split(' ').next() == Some("call"))
            })
            .map(|(_, attrs)| attrs)
            .collect()
    }

    fn attr<'t>(attrs: &'t [(String, String)], key: &str) -> &'t str {
        attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no attribute {key} in {attrs:?}"))
    }

    fn num(attrs: &[(String, String)], key: &str) -> f64 {
        attr(attrs, key)
            .parse()
            .unwrap_or_else(|e| panic!("{key}: {e}"))
    }

    #[test]
    fn one_bar_per_call_in_a_well_formed_document() {
        let (seq, par) = (sequential(), parallel());
        let svg = timeline_svg(
            "Patient summary",
            &[("sequential", &seq), ("parallel", &par)],
        );
        let tags = parse(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
        assert_eq!(tags[0].0, "svg");
        let bars = bars(&tags);
        assert_eq!(bars.len(), 8);
        assert_eq!(svg.matches(r#"<rect class="call "#).count(), 8);
        let names: Vec<&str> = bars.iter().map(|a| attr(a, "data-tool")).collect();
        assert_eq!(
            names,
            ["demographics", "medications", "allergies", "labs"].repeat(2)
        );
        let outcomes: Vec<&str> = bars.iter().map(|a| attr(a, "data-outcome")).collect();
        assert_eq!(outcomes[2], "tool_error");
        assert_eq!(outcomes[0], "ok");
        assert!(attr(bars[2], "class").contains("tool_error"));
        assert_ne!(attr(bars[2], "fill"), attr(bars[0], "fill"));
        let lanes: Vec<&str> = tags
            .iter()
            .filter(|(n, _)| n == "g")
            .filter_map(|(_, a)| a.iter().find(|(k, _)| k == "data-name"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(lanes, ["sequential", "parallel"]);
        assert!(svg.contains("makespan 750.0 ms"), "{svg}");
        assert!(svg.contains("makespan 220.0 ms"), "{svg}");
    }

    #[test]
    fn bars_are_proportional_to_start_and_elapsed_on_a_shared_axis() {
        let (seq, par) = (sequential(), parallel());
        let svg = Timeline::new("t")
            .lane("sequential", &seq)
            .lane("parallel", &par)
            .to_svg();
        let tags = parse(&svg).unwrap_or_else(|e| panic!("{e}"));
        let bars = bars(&tags);
        let results = seq.results.iter().chain(&par.results);
        let origin = num(bars[0], "x");
        // Every started-at-0 bar begins at the origin.
        for bar in &bars[4..] {
            assert!((num(bar, "x") - origin).abs() < 0.01);
        }
        // One scale for every bar: x - origin and width over start and elapsed.
        let scale = num(bars[0], "width") / 200.0;
        assert!(scale > 0.0);
        for (bar, r) in bars.iter().zip(results) {
            let start = r.started.as_secs_f64() * 1000.0;
            let elapsed = r.elapsed.as_secs_f64() * 1000.0;
            assert!(
                (num(bar, "x") - origin - start * scale).abs() < 0.02,
                "{bar:?} vs {r:?}"
            );
            assert!(
                (num(bar, "width") - elapsed * scale).abs() < 0.02,
                "{bar:?} vs {r:?}"
            );
            assert!((num(bar, "data-start-ms") - start).abs() < 0.001);
            assert!((num(bar, "data-elapsed-ms") - elapsed).abs() < 0.001);
        }
        // The sequential lane's last bar ends where the parallel lane's
        // makespan would be 750 / 220 times shorter.
        let seq_end = num(bars[3], "x") + num(bars[3], "width") - origin;
        let par_end = num(bars[7], "x") + num(bars[7], "width") - origin;
        assert!((seq_end / par_end - 750.0 / 220.0).abs() < 0.001);
        // The axis covers the longest lane and fits in the picture.
        assert!(seq_end <= WIDTH - LABELS - RIGHT + 0.01);
    }

    #[test]
    fn text_is_escaped() {
        let mut batch = parallel();
        batch.results[0].name = "a<b>&\"c'".to_owned().into();
        batch.results[0].call_id = "id\"<x>".to_owned().into();
        let svg = timeline_svg("<Title & \"more\">", &[("lane <1> & 'two'", &batch)]);
        let tags = parse(&svg).unwrap_or_else(|e| panic!("{e}\n{svg}"));
        assert!(!svg.contains("a<b>"));
        assert!(svg.contains("a&lt;b&gt;&amp;&quot;c&apos;"));
        assert!(svg.contains("<title>&lt;Title &amp; &quot;more&quot;&gt;</title>"));
        let bars = bars(&tags);
        assert_eq!(attr(bars[0], "data-tool"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("tab\there\u{1}"), "tab\there\u{fffd}");
    }

    #[test]
    fn empty_and_instant_batches_still_render() {
        let empty = Batch::new(Vec::new(), Duration::ZERO);
        let svg = Timeline::new("nothing").to_svg();
        assert!(bars(&parse(&svg).unwrap_or_else(|e| panic!("{e}"))).is_empty());
        let svg = timeline_svg("empty", &[("empty", &empty)]);
        assert!(bars(&parse(&svg).unwrap_or_else(|e| panic!("{e}"))).is_empty());
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");

        let instant = Batch::new(
            vec![result("nope", Outcome::UnknownTool, 0, 0)],
            Duration::from_micros(3),
        );
        let svg = timeline_svg("instant", &[("one", &instant)]);
        let tags = parse(&svg).unwrap_or_else(|e| panic!("{e}"));
        let bars = bars(&tags);
        assert_eq!(bars.len(), 1);
        assert_eq!(num(bars[0], "width"), MIN_BAR);
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
    }

    #[test]
    fn labels_stay_inside_the_picture() {
        let batch = Batch::new(
            vec![
                result("long", Outcome::TimedOut, 0, 1000),
                result("short", Outcome::ToolError, 0, 10),
            ],
            Duration::from_millis(1000),
        );
        let svg = timeline_svg("edge", &[("one", &batch)]);
        let tags = parse(&svg).unwrap_or_else(|e| panic!("{e}"));
        let labels: Vec<_> = tags
            .iter()
            .filter(|(n, a)| {
                n == "text"
                    && a.iter()
                        .any(|(k, v)| k == "class" && v.starts_with("call-time"))
            })
            .map(|(_, a)| a)
            .collect();
        assert_eq!(labels.len(), 2);
        // The bar spans the whole axis and its label is too long for the
        // margin: it goes inside the bar's end.
        assert_eq!(attr(labels[0], "class"), "call-time inside");
        assert_eq!(attr(labels[0], "text-anchor"), "end");
        assert!(num(labels[0], "x") < WIDTH - RIGHT);
        // A short bar's label follows it, with its outcome.
        assert_eq!(attr(labels[1], "class"), "call-time");
        assert!(svg.contains(">1000.0 ms · timed_out<"), "{svg}");
        assert!(svg.contains(">10.0 ms · tool_error<"), "{svg}");
    }

    #[test]
    fn ticks_are_round_and_cover_the_span() {
        for (span, step) in [
            (750.0, 200.0),
            (220.0, 50.0),
            (1.0, 0.2),
            (0.001, 0.0002),
            (12_345.0, 5000.0),
        ] {
            let (s, total) = ticks(span);
            assert!((s - step).abs() < step * 1e-9, "{span}: step {s}");
            assert!(total >= span && total < span + s + 1e-9, "{span}: {total}");
            let n = (total / s).round();
            assert!((1.0..=10.0).contains(&n), "{span}: {n} ticks");
        }
        assert_eq!(format_ms(200.0, 50.0), "200");
        assert_eq!(format_ms(0.4, 0.2), "0.4");
        assert_eq!(format_ms(0.0004, 0.0002), "0.0004");
    }

    #[test]
    fn the_checker_rejects_broken_documents() {
        assert!(parse("<svg><g></svg>").is_err());
        assert!(parse("<svg a=b></svg>").is_err());
        assert!(parse("<svg>a & b</svg>").is_err());
        assert!(parse("<svg></svg><svg></svg>").is_err());
        assert!(parse(r#"<svg a="1" a="2"></svg>"#).is_err());
        assert!(parse(r#"<svg a="1"><rect/></svg>"#).is_ok());
    }
}
