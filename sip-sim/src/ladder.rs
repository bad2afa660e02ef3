//! Sequence ("ladder") diagrams of a trace, as text and SVG.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use sip_core::transport::Transport;

use crate::trace::{DropReason, TraceEntry, TraceKind};

/// Longest label in the text diagram, in characters.
const TEXT_LABEL: usize = 40;
/// Longest label in the SVG diagram, in characters.
const SVG_LABEL: usize = 60;
/// Smallest distance between two columns in the text diagram.
const MIN_GAP: usize = 48;
/// Width of the time column in the text diagram, plus two spaces.
const TIME_WIDTH: usize = 8;

/// One column of a diagram: a header and the addresses drawn in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    pub(crate) header: String,
    pub(crate) addrs: Vec<SocketAddr>,
}

/// What became of the message drawn in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Dropped(DropReason),
    /// Sent but neither delivered nor dropped when the diagram was drawn.
    InFlight,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    at: Duration,
    from: usize,
    to: usize,
    label: String,
    outcome: Outcome,
    transport: Transport,
    duplicate: bool,
}

/// A sequence diagram of a trace: one column per node, one row per message copy.
///
/// A row is drawn at the time of the message's outcome: its arrival, or the moment it was
/// dropped (lost datagrams at their send time, see [`TraceKind::Dropped`]). The arrow goes
/// from the sender's column to the receiver's and is labelled with the message's first line.
/// A message that was not delivered ends in `x`; the network's duplicates are marked `dup`;
/// a message still in flight is drawn at its send time and ends in `?`. Notes to the right
/// name drop reasons and transports other than UDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ladder {
    columns: Vec<Column>,
    rows: Vec<Row>,
}

impl Ladder {
    /// A diagram of `trace` with one column per address in `columns` (in that order); any
    /// other address in the trace gets a column of its own after them, in order of first
    /// appearance.
    pub fn from_trace(trace: &[TraceEntry], columns: &[SocketAddr]) -> Ladder {
        let columns = columns
            .iter()
            .map(|a| Column {
                header: a.to_string(),
                addrs: vec![*a],
            })
            .collect();
        Ladder::build(trace, columns)
    }

    pub(crate) fn build(trace: &[TraceEntry], mut columns: Vec<Column>) -> Ladder {
        let finished: BTreeSet<(u64, bool)> = trace
            .iter()
            .filter(|e| matches!(e.kind, TraceKind::Delivered | TraceKind::Dropped(_)))
            .map(|e| (e.id, e.duplicate))
            .collect();
        let mut rows = Vec::new();
        for e in trace {
            let outcome = match e.kind {
                TraceKind::Delivered => Outcome::Delivered,
                TraceKind::Dropped(reason) => Outcome::Dropped(reason),
                TraceKind::Sent | TraceKind::Duplicated => {
                    if finished.contains(&(e.id, e.duplicate)) {
                        continue;
                    }
                    Outcome::InFlight
                }
            };
            let from = column_of(&mut columns, e.from);
            let to = column_of(&mut columns, e.to);
            let label = if e.first_line.is_empty() {
                format!("({} bytes)", e.len)
            } else {
                e.first_line.clone()
            };
            rows.push(Row {
                at: e.at,
                from,
                to,
                label,
                outcome,
                transport: e.transport,
                duplicate: e.duplicate,
            });
        }
        Ladder { columns, rows }
    }

    /// The diagram as text: a header line with the column addresses, then one line per row
    /// with the time in seconds (millisecond precision), the arrow and its label (cut to 40
    /// characters) and any notes. Lines have no trailing spaces and end in `\n`.
    pub fn to_text(&self) -> String {
        let widest = self
            .columns
            .iter()
            .map(|c| c.header.chars().count())
            .max()
            .unwrap_or(0);
        let gap = MIN_GAP.max(widest + 2);
        let first = TIME_WIDTH + 2;
        let pos = |i: usize| first + i * gap;
        let last = pos(self.columns.len().saturating_sub(1));

        let mut out = String::new();
        let mut header: Vec<char> = format!("{:<w$}", "time (s)", w = first).chars().collect();
        for (i, c) in self.columns.iter().enumerate() {
            header.resize(pos(i), ' ');
            header.extend(c.header.chars());
        }
        push_line(&mut out, &header);

        for row in &self.rows {
            let mut line: Vec<char> = format!("{:>w$}  ", seconds(row.at), w = TIME_WIDTH)
                .chars()
                .collect();
            line.resize(last + 1, ' ');
            for i in 0..self.columns.len() {
                put(&mut line, pos(i), '|');
            }
            let label = truncate(&row.label, TEXT_LABEL);
            draw_text_arrow(&mut line, pos(row.from), pos(row.to), row.outcome, &label);
            let notes = notes(row);
            if !notes.is_empty() {
                line.extend("  ".chars());
                line.extend(notes.chars());
            }
            push_line(&mut out, &line);
        }
        out
    }

    /// The diagram as a standalone SVG document: lifelines under the column headers, one
    /// horizontal arrow per row with its label above it (cut to 60 characters), the time on
    /// the left and notes on the right. Delivered messages are black with an arrowhead,
    /// dropped ones red and ending in a cross short of the receiver, duplicates dashed, and
    /// messages in flight grey and dotted. Text is XML-escaped.
    pub fn to_svg(&self) -> String {
        const LEFT: usize = 170;
        const TIME_X: usize = 70;
        const GAP: usize = 280;
        const TOP: usize = 60;
        const ROW: usize = 28;
        const NOTES: usize = 200;
        let ncols = self.columns.len().max(1);
        let x = |i: usize| LEFT + i * GAP;
        let width = x(ncols - 1) + NOTES;
        let height = TOP + self.rows.len() * ROW + 20;

        let mut s = String::new();
        let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">"#
        );
        let _ = writeln!(
            s,
            r#"<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>"#
        );
        let _ = writeln!(
            s,
            r#"<text x="{TIME_X}" y="30" text-anchor="end" font-weight="bold">time (s)</text>"#
        );
        for (i, c) in self.columns.iter().enumerate() {
            let _ = writeln!(
                s,
                r#"<text x="{}" y="30" text-anchor="middle" font-weight="bold">{}</text>"#,
                x(i),
                escape(&c.header)
            );
            let _ = writeln!(
                s,
                r##"<line x1="{0}" y1="40" x2="{0}" y2="{1}" stroke="#999" stroke-width="1"/>"##,
                x(i),
                height - 10
            );
        }
        for (r, row) in self.rows.iter().enumerate() {
            let y = TOP + r * ROW + ROW / 2;
            let _ = writeln!(
                s,
                r#"<text x="{TIME_X}" y="{}" text-anchor="end">{}</text>"#,
                y + 4,
                seconds(row.at)
            );
            let color = match row.outcome {
                Outcome::Delivered => "black",
                Outcome::Dropped(_) => "#c00",
                Outcome::InFlight => "#888",
            };
            let dash = match (row.outcome, row.duplicate) {
                (Outcome::InFlight, _) => r#" stroke-dasharray="2 4""#,
                (_, true) => r#" stroke-dasharray="6 3""#,
                _ => "",
            };
            let (x1, x2) = (x(row.from), x(row.to));
            let label = escape(&truncate(&row.label, SVG_LABEL));
            if x1 == x2 {
                // A message to itself: a small loop to the right.
                let _ = writeln!(
                    s,
                    r#"<path d="M {x1} {} h 30 v 10 h -30" fill="none" stroke="{color}"{dash}/>"#,
                    y - 5
                );
                let _ = writeln!(
                    s,
                    r#"<text x="{}" y="{}" fill="{color}">{label}</text>"#,
                    x1 + 36,
                    y + 4
                );
            } else {
                let dir: isize = if x2 > x1 { 1 } else { -1 };
                let end = match row.outcome {
                    Outcome::Delivered => x2,
                    _ => x2.saturating_add_signed(-30 * dir),
                };
                let _ = writeln!(
                    s,
                    r#"<line x1="{x1}" y1="{y}" x2="{end}" y2="{y}" stroke="{color}" stroke-width="1.5"{dash}/>"#
                );
                match row.outcome {
                    Outcome::Delivered => {
                        let back = x2.saturating_add_signed(-9 * dir);
                        let _ = writeln!(
                            s,
                            r#"<polygon points="{x2},{y} {back},{} {back},{}" fill="{color}"/>"#,
                            y - 4,
                            y + 4
                        );
                    }
                    Outcome::Dropped(_) | Outcome::InFlight => {
                        let _ = writeln!(
                            s,
                            r#"<path d="M {} {} l 10 10 M {} {} l -10 10" stroke="{color}" stroke-width="2"/>"#,
                            end - 5,
                            y - 5,
                            end + 5,
                            y - 5
                        );
                    }
                }
                let _ = writeln!(
                    s,
                    r#"<text x="{}" y="{}" text-anchor="middle" fill="{color}">{label}</text>"#,
                    (x1 + end) / 2,
                    y - 5
                );
            }
            let notes = notes(row);
            if !notes.is_empty() {
                let _ = writeln!(
                    s,
                    r#"<text x="{}" y="{}" fill="{color}">{}</text>"#,
                    x(ncols - 1) + 20,
                    y + 4,
                    escape(&notes)
                );
            }
        }
        s.push_str("</svg>\n");
        s
    }
}

/// The column showing `addr`, adding one if none does.
fn column_of(columns: &mut Vec<Column>, addr: SocketAddr) -> usize {
    if let Some(i) = columns.iter().position(|c| c.addrs.contains(&addr)) {
        return i;
    }
    columns.push(Column {
        header: addr.to_string(),
        addrs: vec![addr],
    });
    columns.len() - 1
}

/// `s.mmm`, computed without floating point.
fn seconds(d: Duration) -> String {
    let ms = d.as_millis();
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// At most `max` characters, the last three `...` if cut.
fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(3)).collect();
    t.push_str("...");
    t
}

fn notes(row: &Row) -> String {
    let mut notes = Vec::new();
    if row.duplicate {
        notes.push("dup");
    }
    match row.outcome {
        Outcome::Delivered => {}
        Outcome::Dropped(DropReason::Loss) => notes.push("lost"),
        Outcome::Dropped(DropReason::Partition) => notes.push("partition"),
        Outcome::Dropped(DropReason::NoNode) => notes.push("no node"),
        Outcome::Dropped(DropReason::ConnectionFailed) => notes.push("connection failed"),
        Outcome::Dropped(DropReason::Filtered) => notes.push("filtered"),
        Outcome::InFlight => notes.push("in flight"),
    }
    if row.transport != Transport::Udp {
        notes.push(row.transport.via_token());
    }
    notes.join(", ")
}

fn put(line: &mut [char], at: usize, c: char) {
    if let Some(slot) = line.get_mut(at) {
        *slot = c;
    }
}

/// Draws the arrow of one row between column positions `a` (sender) and `b` (receiver).
fn draw_text_arrow(line: &mut [char], a: usize, b: usize, outcome: Outcome, label: &str) {
    if a == b {
        // A message to itself.
        let text = format!("@ {label}");
        for (k, c) in text.chars().enumerate() {
            put(line, a + 1 + k, c);
        }
        return;
    }
    let right = b > a;
    // The cell next to the receiver's lifeline, and where the arrow ends.
    let (near, head) = match outcome {
        Outcome::Delivered => (
            if right { b - 1 } else { b + 1 },
            if right { '>' } else { '<' },
        ),
        Outcome::Dropped(_) => (if right { b - 4 } else { b + 4 }, 'x'),
        Outcome::InFlight => (if right { b - 4 } else { b + 4 }, '?'),
    };
    let (lo, hi) = if right { (a + 1, near) } else { (near, a - 1) };
    for k in lo..=hi {
        put(line, k, '-');
    }
    put(line, near, head);
    // The label, centred on the body (between the ends), with a space either side.
    let text = format!(" {label} ");
    let len = text.chars().count();
    let (body_lo, body_hi) = if right { (lo, hi - 1) } else { (lo + 1, hi) };
    let body = body_hi + 1 - body_lo;
    let start = body_lo + body.saturating_sub(len) / 2;
    for (k, c) in text.chars().enumerate() {
        if start + k <= body_hi {
            put(line, start + k, c);
        }
    }
}

fn push_line(out: &mut String, line: &[char]) {
    let s: String = line.iter().collect();
    out.push_str(s.trim_end());
    out.push('\n');
}

/// Escapes the five XML special characters.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    fn entry(at_ms: u64, kind: TraceKind, id: u64, from: &str, to: &str, line: &str) -> TraceEntry {
        TraceEntry {
            at: Duration::from_millis(at_ms),
            kind,
            id,
            duplicate: false,
            transport: Transport::Udp,
            from: addr(from),
            to: addr(to),
            first_line: line.to_string(),
            len: line.len(),
        }
    }

    #[test]
    fn seconds_format() {
        assert_eq!(seconds(Duration::ZERO), "0.000");
        assert_eq!(seconds(Duration::from_micros(1_234_567)), "1.234");
        assert_eq!(seconds(Duration::from_secs(64)), "64.000");
    }

    #[test]
    fn truncate_cuts_with_dots() {
        assert_eq!(truncate("short", 40), "short");
        assert_eq!(truncate("abcdefghij", 8), "abcde...");
        assert_eq!(truncate("ééééé", 5), "ééééé");
    }

    #[test]
    fn escape_xml() {
        assert_eq!(
            escape(r#"<sip:a&b@"x">'"#),
            "&lt;sip:a&amp;b@&quot;x&quot;&gt;&apos;"
        );
    }

    #[test]
    fn text_lost_left_dup_inflight_and_unknown_column() {
        let a = "10.0.0.1:5060";
        let b = "10.0.0.2:5060";
        let c = "10.0.0.9:5060";
        let mut dup = entry(20, TraceKind::Delivered, 1, b, a, "SIP/2.0 200 OK");
        dup.duplicate = true;
        let mut tcp = entry(30, TraceKind::Sent, 3, a, b, "BYE sip:b SIP/2.0");
        tcp.transport = Transport::Tcp;
        let trace = vec![
            entry(0, TraceKind::Sent, 0, a, b, "INVITE sip:b SIP/2.0"),
            entry(
                0,
                TraceKind::Dropped(DropReason::Loss),
                0,
                a,
                b,
                "INVITE sip:b SIP/2.0",
            ),
            dup,
            entry(25, TraceKind::Dropped(DropReason::NoNode), 2, b, c, ""),
            tcp,
        ];
        let ladder = Ladder::from_trace(&trace, &[addr(a), addr(b)]);
        let expected = "\
time (s)  10.0.0.1:5060                                   10.0.0.2:5060                                   10.0.0.9:5060
   0.000  |---------- INVITE sip:b SIP/2.0 -----------x   |                                               |  lost
   0.020  |<--------------- SIP/2.0 200 OK ---------------|                                               |  dup
   0.025  |                                               |---------------- (0 bytes) ----------------x   |  no node
   0.030  |------------ BYE sip:b SIP/2.0 ------------?   |                                               |  in flight, TCP
";
        assert_eq!(ladder.to_text(), expected);
    }

    #[test]
    fn svg_is_escaped_and_complete() {
        let trace = vec![entry(
            5,
            TraceKind::Delivered,
            0,
            "10.0.0.1:5060",
            "10.0.0.2:5060",
            "MESSAGE <sip:a&b> SIP/2.0",
        )];
        let svg = Ladder::from_trace(&trace, &[]).to_svg();
        assert!(svg.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "));
        assert!(svg.ends_with("</svg>\n"));
        assert!(svg.contains(">MESSAGE &lt;sip:a&amp;b&gt; SIP/2.0</text>"));
        assert!(svg.contains(">0.005</text>"));
        assert!(svg.contains(">10.0.0.1:5060</text>"));
        assert_eq!(svg.matches("<polygon").count(), 1);
        assert!(!svg.contains("<sip:"));
    }
}
