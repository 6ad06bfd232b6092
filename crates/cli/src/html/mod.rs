//! The HTML report (`--report FILE.html`): one self-contained file — inline SVG charts and CSS,
//! no script, no font and nothing else fetched — that reads the same with JavaScript off and
//! prints on paper (a print stylesheet).
//!
//! - [`chart`]: the charts (line, points, bars, sparklines) as SVG.
//! - [`simulate`], [`capacity`], [`replay`]: one page per command, from its report.
//!
//! The file is written like every other output ([`xconnect_capture::OutputFile`]): created
//! (and so checked) before the run, renamed into place at the end, never half-written.

pub mod capacity;
pub mod chart;
pub mod replay;
pub mod simulate;

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::Context;
use xconnect_capture::OutputFile;

/// Text made safe for HTML and SVG (text and attribute values).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The command line that produced the report, as a shell would take it back.
pub fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
                a
            } else {
                format!("'{}'", a.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A report being written: the output is opened before the run (an unwritable path fails
/// then), the page written at the end.
#[derive(Debug)]
pub struct ReportFile {
    out: OutputFile,
}

impl ReportFile {
    /// Opens `path` for the report, before any work.
    pub fn create(path: &Path) -> anyhow::Result<ReportFile> {
        if path.as_os_str() == "-" {
            anyhow::bail!("--report -: the HTML report is a file; give its path, e.g. --report report.html");
        }
        let out = OutputFile::create(path, ".html.tmp").with_context(|| format!("--report {}", path.display()))?;
        Ok(ReportFile { out })
    }

    /// Writes the page and renames it into place.
    pub fn finish(mut self, page: &str) -> anyhow::Result<()> {
        let target = self.out.target().display().to_string();
        self.out.write_all(page.as_bytes()).with_context(|| format!("writing the report {target}"))?;
        let path = self.out.finish().with_context(|| format!("finishing the report {target}"))?;
        eprintln!("xconnect: wrote the report {}", path.display());
        Ok(())
    }
}

/// The page around `body`: title, the command that made it, the stylesheet.
pub fn page(title: &str, body: &str) -> String {
    let mut s = String::with_capacity(body.len() + 8192);
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"xconnect {version}\">\
         <title>{title}</title><style>{CSS}</style></head><body><main>\
         <header><h1>{title}</h1><p class=\"command\">Made by <code>{command}</code> (xconnect {version})</p></header>\
         {body}</main></body></html>\n",
        title = escape(title),
        command = escape(&command_line()),
        version = env!("CARGO_PKG_VERSION"),
    );
    s
}

/// A verdict paragraph: marked good (green) or not (red).
pub fn verdict(text: &str, good: bool) -> String {
    let class = if good { "ok" } else { "bad" };
    format!("<p class=\"verdict {class}\"><strong>Verdict:</strong> {}</p>", escape(text))
}

/// A table: `head` cells and rows of cells that are already HTML (escape what is text).
pub fn table(class: &str, head: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut s = format!("<div class=\"table-wrap\"><table class=\"{class}\"><thead><tr>");
    for h in head {
        let _ = write!(s, "<th scope=\"col\">{}</th>", escape(h));
    }
    s.push_str("</tr></thead><tbody>");
    let mut n = 0;
    for row in rows {
        n += 1;
        s.push_str("<tr>");
        for c in row {
            // Numbers line up on the right, text on the left.
            let numeric = c == "–" || c.trim_end_matches('%').trim().parse::<f64>().is_ok();
            let _ = write!(s, "<td{}>{c}</td>", if numeric { " class=\"n\"" } else { "" });
        }
        s.push_str("</tr>");
    }
    if n == 0 {
        let _ = write!(s, "<tr><td colspan=\"{}\" class=\"none\">none</td></tr>", head.len().max(1));
    }
    s.push_str("</tbody></table></div>");
    s
}

/// A number with `d` decimals, or "–" when absent.
pub fn num(v: Option<f64>, d: usize) -> String {
    v.filter(|x| x.is_finite()).map_or_else(|| "–".to_string(), |x| format!("{x:.d$}"))
}

/// A definition list of (term, value) pairs; values are escaped.
pub fn facts(items: &[(&str, String)]) -> String {
    let mut s = String::from("<dl class=\"facts\">");
    for (k, v) in items {
        let _ = write!(s, "<div><dt>{}</dt><dd>{}</dd></div>", escape(k), escape(v));
    }
    s.push_str("</dl>");
    s
}

/// The stylesheet: the Okabe–Ito palette (distinguishable with the common colour-vision
/// deficiencies) with a dash pattern per series, and a print layout without backgrounds that
/// keeps charts whole on a page.
const CSS: &str = r#"
:root{--fg:#1a1a1a;--muted:#555;--grid:#ddd;--bg:#fff;--ok:#007a4d;--bad:#b3261e;
--c0:#0072B2;--c1:#D55E00;--c2:#009E73;--c3:#CC79A7;--c4:#E69F00;--c5:#56B4E9;--c6:#000000}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:1100px;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid var(--grid)}h3{font-size:1.05rem}
.command{color:var(--muted);font-size:.85rem}.command code{word-break:break-all}
.verdict{padding:.6rem .9rem;border-left:5px solid;background:#f6f6f6}.verdict.ok{border-color:var(--ok)}.verdict.bad{border-color:var(--bad)}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:.3rem 1rem;margin:.5rem 0}
.facts div{display:flex;gap:.5rem}.facts dt{color:var(--muted)}.facts dd{margin:0;font-weight:600}
.table-wrap{overflow-x:auto}table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{padding:.25rem .55rem;border-bottom:1px solid var(--grid);text-align:left;vertical-align:middle}
th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}.none{color:var(--muted)}
figure.chart{margin:1rem 0;break-inside:avoid;page-break-inside:avoid}
figcaption{font-weight:600;margin-bottom:.2rem}
figure.chart>svg{width:100%;height:auto;max-height:340px;display:block}
svg text{font-size:12px;fill:var(--fg)}svg .tick{fill:var(--muted)}svg .axis-label{font-size:13px;fill:var(--fg)}
svg .grid{stroke:var(--grid);stroke-width:1}svg .no-data{fill:var(--muted);font-size:14px}svg .axis-line,svg .tick-mark{stroke:var(--muted)}
svg .ref line{stroke:var(--bad);stroke-width:1.5;stroke-dasharray:8 4}svg .ref text{fill:var(--bad)}
svg .marker line{stroke:var(--fg);stroke-width:1;stroke-dasharray:2 3}svg .marker-label{font-size:11px}
svg .span rect{fill:#d9d9d9;opacity:.55}svg .span-label{font-size:11px;fill:var(--muted)}
.series polyline,.series line{fill:none;stroke-width:2}
.s0 polyline,.s0 line{stroke:var(--c0)}.s0 circle,.s0 rect{fill:var(--c0)}
.s1 polyline,.s1 line{stroke:var(--c1);stroke-dasharray:7 3}.s1 circle,.s1 rect{fill:var(--c1)}
.s2 polyline,.s2 line{stroke:var(--c2);stroke-dasharray:2 2}.s2 circle,.s2 rect{fill:var(--c2)}
.s3 polyline,.s3 line{stroke:var(--c3);stroke-dasharray:10 3 2 3}.s3 circle,.s3 rect{fill:var(--c3)}
.s4 polyline,.s4 line{stroke:var(--c4);stroke-dasharray:4 4}.s4 circle,.s4 rect{fill:var(--c4)}
.s5 polyline,.s5 line{stroke:var(--c5);stroke-dasharray:12 4}.s5 circle,.s5 rect{fill:var(--c5)}
.s6 polyline,.s6 line{stroke:var(--c6);stroke-dasharray:1 3}.s6 circle,.s6 rect{fill:var(--c6)}
svg.spark polyline{stroke-width:1.5}
.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;padding:0;margin:.2rem 0 0 70px;font-size:.85rem}
.legend li{display:flex;align-items:center;gap:.35rem}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:0 1.5rem}
.note{color:var(--muted);font-size:.9rem}
@media print{body{font-size:10.5pt}main{max-width:none;padding:0}.verdict{background:none}th{background:none}
.charts{display:block}h2{break-after:avoid}a{color:inherit;text-decoration:none}}
"#;
