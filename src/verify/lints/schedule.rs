//! Sentinel scheduled rules: `queryPeriod` must cover `queryFrequency`, both within Sentinel's
//! limits (5 minutes to 14 days), written as `5m` / `1h` / `14d` or ISO-8601 (`PT1H`, `P1D`).

/// A Sentinel duration in seconds: `30m`, `1h`, `14d`, `90s`, or ISO-8601 `P[nW][nD][T[nH][nM][nS]]`.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(iso) = s.strip_prefix('P').or_else(|| s.strip_prefix('p')) {
        let mut total: u64 = 0;
        let mut time = false;
        let mut num = String::new();
        let mut any = false;
        for c in iso.chars() {
            match c.to_ascii_uppercase() {
                'T' if !time && num.is_empty() => time = true,
                d if d.is_ascii_digit() => num.push(d),
                u => {
                    let n: u64 = num.parse().ok()?;
                    num.clear();
                    let mult = match (u, time) {
                        ('W', false) => 7 * 86_400,
                        ('D', false) => 86_400,
                        ('H', true) => 3_600,
                        ('M', true) => 60,
                        ('S', true) => 1,
                        _ => return None,
                    };
                    total = total.checked_add(n.checked_mul(mult)?)?;
                    any = true;
                }
            }
        }
        return (any && num.is_empty()).then_some(total);
    }
    let unit = s.chars().last()?;
    let n: u64 = s[..s.len() - unit.len_utf8()].trim().parse().ok()?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

const MIN: u64 = 5 * 60;
const MAX: u64 = 14 * 86_400;

/// What a scheduled rule's frequency and period get wrong: (key, message) pairs; a value that
/// does not parse is reported with `invalid = true`.
pub fn problems(
    frequency: Option<&str>,
    period: Option<&str>,
) -> Vec<(&'static str, bool, String)> {
    let mut out = Vec::new();
    let mut parsed = |key: &'static str, v: Option<&str>| -> Option<u64> {
        let v = v?;
        match parse_duration(v) {
            Some(secs) => {
                if !(MIN..=MAX).contains(&secs) {
                    out.push((
                        key,
                        false,
                        format!("{key} `{v}` is outside Sentinel's range of 5 minutes to 14 days"),
                    ));
                }
                Some(secs)
            }
            None => {
                out.push((
                    key,
                    true,
                    format!("{key} `{v}` is not a duration (`5m`, `1h`, `14d` or ISO-8601 `PT1H`)"),
                ));
                None
            }
        }
    };
    let f = parsed("queryFrequency", frequency);
    let p = parsed("queryPeriod", period);
    if let (Some(f), Some(p)) = (f, p) {
        if p < f {
            out.push((
                "queryPeriod",
                false,
                format!(
                    "queryPeriod `{}` is shorter than queryFrequency `{}`: events between runs are never searched",
                    period.unwrap_or_default(),
                    frequency.unwrap_or_default()
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Some(300));
        assert_eq!(parse_duration("1h"), Some(3600));
        assert_eq!(parse_duration("14d"), Some(14 * 86_400));
        assert_eq!(parse_duration("PT1H"), Some(3600));
        assert_eq!(parse_duration("P1DT30M"), Some(86_400 + 1800));
        assert_eq!(parse_duration("P2W"), Some(14 * 86_400));
        assert_eq!(parse_duration("PT"), None);
        assert_eq!(parse_duration("P1H"), None);
        assert_eq!(parse_duration("1y"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("an hour"), None);
    }

    #[test]
    fn period_shorter_than_frequency() {
        assert!(problems(Some("1h"), Some("1h")).is_empty());
        assert!(problems(Some("1h"), Some("14d")).is_empty());
        let p = problems(Some("1d"), Some("1h"));
        assert_eq!(p.len(), 1);
        assert!(p[0].2.contains("shorter"));
        let p = problems(Some("1m"), Some("15d"));
        assert_eq!(p.len(), 2);
        let p = problems(Some("hourly"), Some("1h"));
        assert_eq!(p, vec![("queryFrequency", true, p[0].2.clone())]);
        assert!(problems(None, None).is_empty());
    }
}
