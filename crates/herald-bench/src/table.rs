//! A report for a person: its top-level figures one a line, then a table of each Herald
//! figure beside its baseline's, their ratio and the goal. `--json` prints the figures
//! whole instead.

use serde_json::Value;

/// The figures of a report for a person: its top-level figures one a line, then a table of
/// each Herald figure beside its baseline's, their ratio and the goal. A pair is found by
/// name, in any object of the report: `x` beside `baseline_x`, `herald_x` beside
/// `baseline_x`, `herald.x` (or the object's own `x`) beside `baseline.x`, and the bench's
/// own `<bench>_seconds` beside `baseline_seconds`; the goal is `goal_x`, or `goal_ratio`.
/// Everything else is in `--json`.
pub(crate) fn table(report: &Value) -> String {
    let mut out = String::new();
    if let Value::Object(top) = report {
        for (key, value) in top {
            if let Some(text) = scalar(value) {
                out.push_str(&format!("{key}: {text}\n"));
            }
        }
    }
    let bench = report["bench"].as_str().unwrap_or_default();
    let mut rows = Vec::new();
    pairs(report, "", bench, &mut rows);
    let width = rows.iter().map(|r| r[0].len()).max().unwrap_or(0).max(6);
    out.push_str(&format!(
        "{:<width$}  {:>12}  {:>12}  {:>8}  goal",
        "figure", "Herald", "baseline", "ratio"
    ));
    for [figure, herald, baseline, ratio, goal] in rows {
        out.push_str(&format!(
            "\n{figure:<width$}  {herald:>12}  {baseline:>12}  {ratio:>8}  {goal}"
        ));
    }
    out
}

/// A number or text as one word, or nothing for an object, array or null.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.as_f64().map_or_else(|| n.to_string(), number)),
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A figure with as many decimals as its size needs.
fn number(x: f64) -> String {
    if x.fract() == 0.0 || x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    }
}

/// Every (Herald, baseline) pair of figures in `value`, at `path`, as table rows.
fn pairs(value: &Value, path: &str, bench: &str, rows: &mut Vec<[String; 5]>) {
    let name = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        Value::Object(o) => {
            let goal = |key: &str| {
                let own = o.get(&format!("goal_{key}")).and_then(scalar);
                let ratio = (key.ends_with("seconds"))
                    .then(|| o.get("goal_ratio").and_then(Value::as_f64))
                    .flatten()
                    .map(|r| format!("ratio≤{}", number(r)));
                match (own, ratio) {
                    (Some(g), Some(r)) => format!("{g},{r}"),
                    (Some(g), None) => g,
                    (None, Some(r)) => r,
                    (None, None) => "-".to_owned(),
                }
            };
            let mut row = |figure: String, key: &str, herald: &Value, baseline: &Value| {
                if let (Some(h), Some(b)) = (herald.as_f64(), baseline.as_f64()) {
                    let ratio = if b == 0.0 {
                        "-".to_owned()
                    } else {
                        format!("{:.3}", h / b)
                    };
                    rows.push([figure, number(h), number(b), ratio, goal(key)]);
                }
            };
            let nested = o.get("baseline").filter(|b| b.is_object());
            let herald = o.get("herald").filter(|h| h.is_object()).unwrap_or(value);
            for (key, v) in o {
                if let Some(b) = o.get(&format!("baseline_{key}")) {
                    row(name(key), key, v, b);
                } else if let Some(x) = key.strip_prefix("herald_") {
                    if let Some(b) = o.get(&format!("baseline_{x}")) {
                        row(name(x), x, v, b);
                    }
                } else if key == &format!("{bench}_seconds") && !o.contains_key("seconds") {
                    if let Some(b) = o.get("baseline_seconds") {
                        row(name(key), "seconds", v, b);
                    }
                }
            }
            if let (Some(Value::Object(base)), Value::Object(h)) = (nested, herald) {
                for (key, b) in base {
                    if let Some(v) = h.get(key) {
                        row(name(key), key, v, b);
                    }
                }
            }
            for (key, v) in o {
                if key != "baseline" && key != "herald" {
                    pairs(v, &name(key), bench, rows);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pairs(item, &format!("{path}[{i}]"), bench, rows);
            }
        }
        _ => {}
    }
}
