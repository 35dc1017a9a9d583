//! PNG plot of a run: end-to-end latency percentiles (p50/p95/p99) per time bucket on top,
//! throughput (outputs per second) below. Text needs a TrueType font, looked up at run time
//! (`SCAMWATCH_PLOT_FONT`, then common system paths); without one the plot is drawn without
//! any text rather than failing.

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use serde::Serialize;

/// One time bucket of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Bucket {
    /// Start of the bucket, seconds since the run started.
    pub t_secs: f64,
    /// Verdicts and dead letters that arrived in the bucket.
    pub outputs: u64,
    /// `outputs` per second (the last bucket over the time it actually covers, at least 1 s).
    pub per_sec: f64,
    /// Latency percentiles (ms) of the verdicts that arrived in the bucket; 0 when none did.
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Percentile `q` of sorted microseconds, in ms (nearest rank).
pub fn percentile_ms(sorted_us: &[u64], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    sorted_us[((sorted_us.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0
}

/// Bucket `(arrival seconds, latency µs or None for a dead letter)` samples.
pub fn buckets(samples: &[(f64, Option<u64>)], width_secs: f64) -> Vec<Bucket> {
    let width = width_secs.max(0.001);
    let n = samples
        .iter()
        .map(|(t, _)| (t / width) as usize + 1)
        .max()
        .unwrap_or(0);
    let mut lat: Vec<Vec<u64>> = vec![Vec::new(); n];
    let mut outputs = vec![0u64; n];
    for (t, l) in samples {
        let i = (t / width) as usize;
        outputs[i] += 1;
        lat[i].extend(*l);
    }
    // The last bucket ends with the last output, not a full width later.
    let t_end = samples.iter().map(|(t, _)| *t).fold(0.0, f64::max);
    lat.iter_mut()
        .zip(outputs)
        .enumerate()
        .map(|(i, (l, outputs))| {
            l.sort_unstable();
            let start = i as f64 * width;
            let span = if i + 1 == n {
                (t_end - start).clamp(width.min(1.0), width)
            } else {
                width
            };
            Bucket {
                t_secs: start,
                outputs,
                per_sec: outputs as f64 / span,
                p50_ms: percentile_ms(l, 0.5),
                p95_ms: percentile_ms(l, 0.95),
                p99_ms: percentile_ms(l, 0.99),
                max_ms: percentile_ms(l, 1.0),
            }
        })
        .collect()
}

const FONT_CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
    "/usr/share/fonts/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/Library/Fonts/Arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
];

/// The first usable font: `SCAMWATCH_PLOT_FONT`, a known path, or any `.ttf` under
/// `/usr/share/fonts`.
fn find_font() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SCAMWATCH_PLOT_FONT") {
        return Some(PathBuf::from(p));
    }
    if let Some(p) = FONT_CANDIDATES.iter().map(Path::new).find(|p| p.is_file()) {
        return Some(p.to_path_buf());
    }
    let mut stack = vec![PathBuf::from("/usr/share/fonts")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("ttf"))
            {
                return Some(path);
            }
        }
    }
    None
}

/// Register a font for "sans-serif" once; false when none could be loaded.
fn font_ready() -> bool {
    static READY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *READY.get_or_init(|| {
        let Some(path) = find_font() else {
            eprintln!(
                "plot: no TrueType font found (set SCAMWATCH_PLOT_FONT); drawing without text"
            );
            return false;
        };
        let Ok(bytes) = std::fs::read(&path) else {
            return false;
        };
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        let ok = plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok();
        if !ok {
            eprintln!(
                "plot: {} is not a usable font; drawing without text",
                path.display()
            );
        }
        ok
    })
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// A latency line: its legend name, colour and the value it takes from a bucket.
type Series = (&'static str, RGBColor, fn(&Bucket) -> f64);

/// Write the plot of `buckets` to `path` (PNG, 1200x800). `title` goes on top when a font is
/// available.
pub fn write_png(path: &Path, title: &str, buckets: &[Bucket]) -> anyhow::Result<()> {
    let text = font_ready();
    draw(path, title, buckets, text).map_err(|e| anyhow::anyhow!("drawing {}: {e}", path.display()))
}

type Panel<'a> = ChartContext<
    'a,
    BitMapBackend<'a>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// One chart of the figure: time on x from 0, `y_desc` from 0 on y; caption, axis labels and
/// mesh only when a font is available.
fn panel<'a>(
    area: &DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>,
    caption: &str,
    y_desc: &str,
    (x_max, y_max): (f64, f64),
    text: bool,
) -> Result<Panel<'a>, Box<dyn std::error::Error>> {
    let mut builder = ChartBuilder::on(area);
    builder.margin(15);
    if text {
        builder
            .caption(caption, ("sans-serif", 18))
            .x_label_area_size(35)
            .y_label_area_size(70);
    }
    let mut chart = builder.build_cartesian_2d(0f64..x_max, 0f64..y_max)?;
    if text {
        chart
            .configure_mesh()
            .x_desc("seconds since start")
            .y_desc(y_desc)
            .draw()?;
    }
    Ok(chart)
}

fn draw(path: &Path, title: &str, buckets: &[Bucket], text: bool) -> DrawResult {
    let root = BitMapBackend::new(path, (1200, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = if text {
        root.titled(title, ("sans-serif", 22))?
    } else {
        root
    };
    let (top, bottom) = root.split_vertically(520);
    let t_max = buckets.last().map_or(1.0, |b| b.t_secs + 1.0).max(1.0);
    let lat_max = buckets.iter().map(|b| b.p99_ms).fold(1.0f64, f64::max) * 1.1;
    let thr_max = buckets.iter().map(|b| b.per_sec).fold(1.0f64, f64::max) * 1.1;

    let series: [Series; 3] = [
        ("p50", RGBColor(31, 119, 180), |b| b.p50_ms),
        ("p95", RGBColor(255, 127, 14), |b| b.p95_ms),
        ("p99", RGBColor(214, 39, 40), |b| b.p99_ms),
    ];
    {
        let mut chart = panel(
            &top,
            "end-to-end latency per bucket (ms)",
            "ms",
            (t_max, lat_max),
            text,
        )?;
        for (name, color, f) in series {
            let points = buckets
                .iter()
                .filter(|b| b.outputs > 0)
                .map(|b| (b.t_secs, f(b)));
            let drawn = chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?;
            if text {
                drawn.label(name).legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
        }
        if text {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()?;
        }
    }
    {
        let mut chart = panel(
            &bottom,
            "throughput (verdicts + dead letters per second)",
            "outputs/s",
            (t_max, thr_max),
            text,
        )?;
        chart.draw_series(LineSeries::new(
            buckets.iter().map(|b| (b.t_secs, b.per_sec)),
            RGBColor(44, 160, 44).stroke_width(2),
        ))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_and_png() {
        let samples: Vec<(f64, Option<u64>)> = (0..3000)
            .map(|i| {
                (
                    i as f64 / 1000.0,
                    (i % 7 != 0).then_some(1000 + (i % 100) * 100),
                )
            })
            .collect();
        let b = buckets(&samples, 1.0);
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].outputs, 1000);
        assert!(b[0].p50_ms > 1.0 && b[0].p99_ms <= 11.0, "{:?}", b[0]);
        let dir = std::env::temp_dir().join(format!("plot-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("p.png");
        write_png(&path, "test", &b).unwrap();
        let png = std::fs::read(&path).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        // Without a font the plot still comes out.
        let bare = dir.join("bare.png");
        draw(&bare, "test", &b, false).unwrap();
        assert!(std::fs::metadata(&bare).unwrap().len() > 1000);
        std::fs::remove_dir_all(&dir).ok();
    }
}
