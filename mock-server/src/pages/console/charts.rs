//! Charts as server-rendered SVG: pure functions of the numbers, no script. Each chart is an image
//! with a title and a description for assistive technology, drawn with presentation attributes (the
//! console's Content-Security-Policy allows no inline style), and is shown beside a table of the same
//! numbers ([`table`]).

use maud::{Markup, html};

/// The chart's width in SVG units; it scales to its container (`viewBox`).
const WIDTH: f64 = 640.0;
/// Room for the row labels, left of the bars.
const LABEL_W: f64 = 150.0;
/// Room for the numbers, right of the longest bar.
const VALUE_W: f64 = 70.0;
/// One bar's height, and the gap after a row of bars.
const BAR_H: f64 = 14.0;
const ROW_GAP: f64 = 8.0;
/// The legend's height, when there is more than one series.
const LEGEND_H: f64 = 22.0;
/// Row labels longer than this are cut (the table beside the chart has them whole).
const LABEL_CHARS: usize = 22;

/// The colours of the series, in order (distinct for the common colour-vision deficiencies).
const FILLS: [&str; 4] = ["#0b5cad", "#e69f00", "#1a7f37", "#9a6700"];

/// One bar: its length's value and the number written beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// The value the bar's length shows.
    pub value: f64,
    /// The number as the table shows it (`12`, `$3.40`, `0.5000`).
    pub text: String,
}

impl Bar {
    /// A count.
    pub fn count(n: i64) -> Bar {
        Bar {
            value: n as f64,
            text: n.to_string(),
        }
    }
}

/// A series: its name and one bar per row of the chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The name, in the legend and the table's header.
    pub name: String,
    /// One bar per row label.
    pub bars: Vec<Bar>,
}

/// A horizontal bar chart: one row per label, one bar per series in each row, lengths relative to the
/// largest value. `id` must be unique in the page (it names the title and description elements).
pub fn bars(id: &str, title: &str, desc: &str, labels: &[String], series: &[Series]) -> Markup {
    let max = series
        .iter()
        .flat_map(|s| s.bars.iter().map(|b| b.value))
        .fold(0.0_f64, f64::max);
    let legend = if series.len() > 1 { LEGEND_H } else { 0.0 };
    let row_h = series.len() as f64 * BAR_H + ROW_GAP;
    let height = legend + labels.len() as f64 * row_h + ROW_GAP;
    let span = WIDTH - LABEL_W - VALUE_W;
    let (title_id, desc_id) = (format!("{id}-title"), format!("{id}-desc"));
    html! {
        svg xmlns="http://www.w3.org/2000/svg" class="chart" id=(id) role="img"
            viewBox={ "0 0 " (WIDTH) " " (height) } width="100%"
            aria-labelledby=(title_id) aria-describedby=(desc_id) {
            title id=(title_id) { (title) }
            desc id=(desc_id) { (desc) }
            @if series.len() > 1 {
                @for (i, s) in series.iter().enumerate() {
                    @let x = LABEL_W + i as f64 * 150.0;
                    rect x=(x) y="4" width="12" height="12" fill=(fill(i)) {}
                    text x=(x + 16.0) y="14" font-size="12" { (s.name) }
                }
            }
            @if labels.is_empty() {
                text x=(LABEL_W) y=(legend + 14.0) font-size="12" { "No data" }
            }
            @for (row, label) in labels.iter().enumerate() {
                @let top = legend + ROW_GAP / 2.0 + row as f64 * row_h;
                text x=(LABEL_W - 6.0) y=(top + row_h / 2.0) font-size="12" text-anchor="end"
                    dominant-baseline="middle" { (cut(label)) }
                @for (i, s) in series.iter().enumerate() {
                    @if let Some(b) = s.bars.get(row) {
                        @let y = top + i as f64 * BAR_H;
                        @let w = length(b.value, max, span);
                        rect class="bar" x=(LABEL_W) y=(y + 1.0) width=(w) height=(BAR_H - 2.0) fill=(fill(i)) {
                            title { (label) ", " (s.name) ": " (b.text) }
                        }
                        text x=(LABEL_W + w + 4.0) y=(y + BAR_H / 2.0) font-size="11"
                            dominant-baseline="middle" { (b.text) }
                    }
                }
            }
        }
    }
}

/// The numbers of a chart as a table: one row per label, one column per series.
pub fn table(caption: &str, key: &str, labels: &[String], series: &[Series]) -> Markup {
    html! {
        div class="table-wrap" {
            table class="chart-numbers" {
                caption { (caption) }
                thead { tr { th scope="col" { (key) } @for s in series { th scope="col" class="num" { (s.name) } } } }
                tbody {
                    @for (row, label) in labels.iter().enumerate() {
                        tr {
                            th scope="row" { (label) }
                            @for s in series {
                                td class="num" { @if let Some(b) = s.bars.get(row) { (b.text) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A bar's length: `value` of `max` over `span`, rounded to a tenth; nothing for zero, negative or
/// non-finite values.
fn length(value: f64, max: f64, span: f64) -> f64 {
    if max <= 0.0 || !value.is_finite() || value <= 0.0 {
        return 0.0;
    }
    (value.min(max) / max * span * 10.0).round() / 10.0
}

fn fill(i: usize) -> &'static str {
    FILLS[i % FILLS.len()]
}

/// A label cut to [`LABEL_CHARS`] characters, with an ellipsis when cut.
fn cut(label: &str) -> String {
    if label.chars().count() <= LABEL_CHARS {
        return label.to_owned();
    }
    let mut s: String = label.chars().take(LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two_series() -> (Vec<String>, Vec<Series>) {
        let labels = vec!["2026-12-01".to_owned(), "2026-12-02".to_owned()];
        let series = vec![
            Series {
                name: "Actions".into(),
                bars: vec![Bar::count(10), Bar::count(5)],
            },
            Series {
                name: "Rewards".into(),
                bars: vec![Bar::count(2), Bar::count(0)],
            },
        ];
        (labels, series)
    }

    /// The `width` attributes of the bars, in document order.
    fn bar_widths(svg: &str) -> Vec<f64> {
        svg.split("<rect class=\"bar\"")
            .skip(1)
            .map(|s| {
                let w = s.split("width=\"").nth(1).expect("a width");
                w[..w.find('"').expect("closed")].parse().expect("a number")
            })
            .collect()
    }

    #[test]
    fn bar_lengths_are_proportional_to_the_largest_value() {
        let (labels, series) = two_series();
        let svg = bars(
            "c",
            "Per day",
            "Actions and rewards per day",
            &labels,
            &series,
        )
        .into_string();
        let span = WIDTH - LABEL_W - VALUE_W;
        assert_eq!(bar_widths(&svg), [span, span / 5.0, span / 2.0, 0.0]);
        for n in ["10", "5", "2", "0"] {
            assert!(
                svg.contains(&format!(">{n}</text>")),
                "{n} written beside its bar: {svg}"
            );
        }
    }

    #[test]
    fn the_chart_is_an_image_with_a_title_and_description() {
        let (labels, series) = two_series();
        let svg = bars(
            "per-day",
            "Per day",
            "Actions and rewards",
            &labels,
            &series,
        )
        .into_string();
        assert!(svg.contains(r#"role="img""#));
        assert!(svg.contains(r#"aria-labelledby="per-day-title""#));
        assert!(svg.contains(r#"<title id="per-day-title">Per day</title>"#));
        assert!(svg.contains(r#"<desc id="per-day-desc">Actions and rewards</desc>"#));
        // Two series: a legend naming both.
        assert!(svg.contains(">Actions</text>") && svg.contains(">Rewards</text>"));
    }

    #[test]
    fn labels_and_names_are_escaped() {
        let labels = vec!["<script>alert(1)</script>".to_owned()];
        let series = vec![Series {
            name: "a&b".into(),
            bars: vec![Bar::count(1)],
        }];
        let svg = bars("x", "<b>", "\"d\"", &labels, &series).into_string();
        let table = table("t", "Key", &labels, &series).into_string();
        for out in [&svg, &table] {
            assert!(!out.contains("<script>"), "{out}");
            assert!(out.contains("&lt;script&gt;"), "{out}");
        }
        assert!(svg.contains("&lt;b&gt;") && svg.contains("a&amp;b"));
    }

    #[test]
    fn nothing_to_draw_draws_no_bars() {
        let svg = bars("e", "Empty", "No rows", &[], &[]).into_string();
        assert!(bar_widths(&svg).is_empty());
        assert!(svg.contains("No data"));
        let zeros = vec![Series {
            name: "Rewards".into(),
            bars: vec![Bar::count(0)],
        }];
        let svg = bars("z", "Zero", "d", &["a".to_owned()], &zeros).into_string();
        assert_eq!(bar_widths(&svg), [0.0]);
    }

    #[test]
    fn long_labels_are_cut_in_the_chart_and_whole_in_the_table() {
        let long = "a-moment-with-a-very-long-identifier".to_owned();
        let series = vec![Series {
            name: "Rewards".into(),
            bars: vec![Bar::count(3)],
        }];
        let svg = bars("l", "t", "d", std::slice::from_ref(&long), &series).into_string();
        assert!(svg.contains(">a-moment-with-a-very-…</text>"), "{svg}");
        let table = table("t", "Moment", std::slice::from_ref(&long), &series).into_string();
        assert!(table.contains(&format!("<th scope=\"row\">{long}</th>")));
        assert!(table.contains("<td class=\"num\">3</td>"));
    }
}
