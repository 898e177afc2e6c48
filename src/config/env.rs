//! `${VAR}` and `${VAR:-default}` substitution on the raw configuration text, before parsing.
//! `$${` writes a literal `${`. A variable that is unset and has no default is an error that
//! names its line (a placeholder takes its place so the rest still parses); `VAR:-default` also
//! applies when VAR is set but empty, as in the shell. YAML comments are left alone.

/// One unresolved reference: the 1-based line and the variable name.
#[derive(Debug, PartialEq)]
pub struct Missing {
    pub line: usize,
    pub name: String,
}

pub fn substitute(text: &str, lookup: impl Fn(&str) -> Option<String>) -> (String, Vec<Missing>) {
    let mut out = String::with_capacity(text.len());
    let mut missing = Vec::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let (code, comment) = line.split_at(comment_start(line));
        substitute_line(code, i + 1, &lookup, &mut out, &mut missing);
        out.push_str(comment);
    }
    (out, missing)
}

/// Where a YAML comment starts on `line` (`#` at the start or after a blank, outside quotes),
/// or the line's length.
fn comment_start(line: &str) -> usize {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single && prev != '\\' => double = !double,
            '#' if !single && !double && (prev == ' ' || prev == '\t' || i == 0) => return i,
            _ => {}
        }
        prev = c;
    }
    line.len()
}

fn substitute_line(
    text: &str,
    line: usize,
    lookup: &impl Fn(&str) -> Option<String>,
    out: &mut String,
    missing: &mut Vec<Missing>,
) {
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        let (before, after) = rest.split_at(pos);
        out.push_str(before);
        if let Some(r) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = r;
            continue;
        }
        if !after.starts_with("${") {
            out.push('$');
            rest = &after[1..];
            continue;
        }
        let Some(close) = after.find('}') else {
            out.push_str(after);
            return;
        };
        let inner = &after[2..close];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n.trim(), Some(d)),
            None => (inner.trim(), None),
        };
        match (lookup(name), default) {
            (Some(v), Some(d)) if v.is_empty() => out.push_str(d),
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                // A plain placeholder so parsing goes on without knock-on errors.
                out.push_str("unset-env-");
                out.push_str(name);
                missing.push(Missing {
                    line,
                    name: name.to_string(),
                })
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "SET" => Some("value".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn substitutes_and_reports() {
        let (out, missing) = substitute(
            "a: ${SET}\nb: ${UNSET:-dflt}\nc: ${EMPTY:-e}\nd: ${NOPE}\ne: $${SET} $5\n",
            env,
        );
        assert_eq!(
            out,
            "a: value\nb: dflt\nc: e\nd: unset-env-NOPE\ne: ${SET} $5\n"
        );
        assert_eq!(
            missing,
            vec![Missing {
                line: 4,
                name: "NOPE".into()
            }]
        );
    }

    #[test]
    fn comments_are_left_alone() {
        let (out, missing) = substitute(
            "# ${NOPE} here\na: ${SET} # and ${NOPE}\nb: \"x # ${SET}\"\nc: a#${SET}\n",
            env,
        );
        assert_eq!(
            out,
            "# ${NOPE} here\na: value # and ${NOPE}\nb: \"x # value\"\nc: a#value\n"
        );
        assert!(missing.is_empty());
    }
}
