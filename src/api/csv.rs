//! CSV answers (RFC 4180): a header row, then one row per line, CRLF line ends; a field with a
//! comma, quote or line break is quoted, its quotes doubled. A field a spreadsheet would run as a
//! formula (`=`, `+`, `-`, `@` first) is prefixed with `'`, since names come from outside.

pub struct Table {
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: Vec<&'static str>) -> Self {
        Self {
            header,
            rows: Vec::new(),
        }
    }

    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        line(&mut out, self.header.iter().copied());
        for r in &self.rows {
            line(&mut out, r.iter().map(String::as_str));
        }
        out
    }
}

fn line<'a>(out: &mut String, fields: impl Iterator<Item = &'a str>) {
    for (i, f) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        field(out, f);
    }
    out.push_str("\r\n");
}

fn field(out: &mut String, f: &str) {
    let numeric = f.parse::<f64>().is_ok();
    let formula = !numeric && f.starts_with(['=', '+', '-', '@']);
    let quoted = formula || f.contains([',', '"', '\r', '\n']);
    if quoted {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in f.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quoted {
        out.push('"');
    }
}

/// An optional figure: empty when there is none.
pub fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// A share (0..=1) to four decimals, empty when there is none.
pub fn share(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.4}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_quotes_or_formulas_are_quoted() {
        let mut t = Table::new(vec!["name", "calls"]);
        t.rows.push(vec!["Li, Na".into(), "3".into()]);
        t.rows.push(vec!["say \"hi\"".into(), "-2".into()]);
        t.rows.push(vec!["=cmd()".into(), "".into()]);
        assert_eq!(
            t.to_csv(),
            "name,calls\r\n\"Li, Na\",3\r\n\"say \"\"hi\"\"\",-2\r\n\"'=cmd()\",\r\n"
        );
    }
}
