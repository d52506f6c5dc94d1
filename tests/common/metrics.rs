//! Reading the service's `/metrics` (Prometheus text format).

/// The text of `url` (an app's or a node's `/metrics`).
pub async fn scrape(url: String) -> String {
    reqwest::get(url)
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text")
}

/// The value of the sample `name{labels…}` with exactly these labels (in any order).
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut want: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    want.sort();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, mut have) = match series.split_once('{') {
                Some((m, rest)) => (
                    m,
                    rest.strip_suffix('}')?
                        .split(',')
                        .map(str::to_owned)
                        .collect::<Vec<_>>(),
                ),
                None => (series, Vec::new()),
            };
            have.sort();
            (metric == name && have == want).then(|| value.parse().ok())?
        })
}

/// The values of the samples of `name` labelled `key="value"`, whatever their other labels.
pub fn samples_with(text: &str, name: &str, (key, value): (&str, &str)) -> Vec<f64> {
    let label = format!("{key}=\"{value}\"");
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .collect()
}
