//! What the story prints at the end and keeps in target/e2e/story-report.txt (scripts/test.sh
//! prints it after the test run): step timings, the packets each route carried, the screenshots.

use crate::common::browser::artifacts_dir;
use std::time::Duration;

#[derive(Default)]
pub struct Report {
    /// How long a step took, by what it measures.
    pub timings: Vec<(String, Duration)>,
    /// One line per route check: what each listener received from each source.
    pub routes: Vec<String>,
    /// The screenshots' paths, in the order they were taken.
    pub shots: Vec<String>,
}

impl Report {
    pub fn timing(&mut self, what: &str, took: Duration) {
        self.timings.push((what.into(), took));
    }

    /// Writes the report to target/e2e/story-report.txt and to stderr.
    pub fn write(&self) {
        let mut report = String::from("\nstory timings:\n");
        for (what, d) in &self.timings {
            report.push_str(&format!("  {what:<42} {:>6} ms\n", d.as_millis()));
        }
        report
            .push_str("routes (packets each listener received from each source in one window):\n");
        for r in &self.routes {
            report.push_str(&format!("  {r}\n"));
        }
        report.push_str("screenshots:\n");
        for s in &self.shots {
            report.push_str(&format!("  {s}\n"));
        }
        std::fs::write(artifacts_dir().join("story-report.txt"), &report).expect("write report");
        eprintln!("{report}");
    }
}
