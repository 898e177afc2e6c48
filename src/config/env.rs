//! `${VAR}` and `${VAR:-default}` substitution. `$${` writes a literal `${`. `VAR:-default` also
//! applies when VAR is set but empty, as in the shell. YAML comments are left alone.
//!
//! Values never go into the YAML text: each reference becomes a token (`__logship_env_N__`) that
//! YAML reads as plain text, and after parsing `resolve` puts the values into the string scalars
//! that hold the tokens. So a value is always a string, exactly as the environment has it: a
//! password `123456`, `true`, `0x1f`, or one containing ` #`, `: ` or starting with `*&!{[`
//! stays that string. Where the configuration wants a number, a boolean or a list and a scalar
//! was exactly one `${VAR}`, the loader reads the value as YAML there (`Ctx::typed`).
//!
//! A variable that is unset and has no default is an error naming its line (a placeholder takes
//! its place so the rest still parses).

use serde_json::Value;

/// One unresolved reference: the 1-based line and the variable name.
#[derive(Debug, PartialEq)]
pub struct Missing {
    pub line: usize,
    pub name: String,
}

/// One `${...}` reference and what it stands for.
#[derive(Debug, PartialEq)]
pub struct Reference {
    pub name: String,
    pub value: String,
}

/// The text with tokens, the references by token number, and the unset variables.
#[derive(Debug)]
pub struct Substituted {
    pub text: String,
    pub refs: Vec<Reference>,
    pub missing: Vec<Missing>,
}

const TOKEN_START: &str = "__logship_env_";
const TOKEN_END: &str = "__";

fn token(i: usize) -> String {
    format!("{TOKEN_START}{i}{TOKEN_END}")
}

pub fn substitute(text: &str, lookup: impl Fn(&str) -> Option<String>) -> Substituted {
    let mut out = Substituted {
        text: String::with_capacity(text.len()),
        refs: Vec::new(),
        missing: Vec::new(),
    };
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let (code, comment) = line.split_at(comment_start(line));
        substitute_line(code, i + 1, &lookup, &mut out);
        out.text.push_str(comment);
    }
    out
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
    out: &mut Substituted,
) {
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        let (before, after) = rest.split_at(pos);
        out.text.push_str(before);
        if let Some(r) = after.strip_prefix("$${") {
            out.text.push_str("${");
            rest = r;
            continue;
        }
        let Some(inner_and_rest) = after.strip_prefix("${") else {
            out.text.push('$');
            rest = after.get(1..).unwrap_or("");
            continue;
        };
        let Some((inner, r)) = inner_and_rest.split_once('}') else {
            out.text.push_str(after);
            return;
        };
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n.trim(), Some(d)),
            None => (inner.trim(), None),
        };
        let value = match (lookup(name), default) {
            (Some(v), Some(d)) if v.is_empty() => d.to_string(),
            (Some(v), _) => v,
            (None, Some(d)) => d.to_string(),
            (None, None) => {
                // A plain placeholder so parsing goes on without knock-on errors.
                out.missing.push(Missing {
                    line,
                    name: name.to_string(),
                });
                format!("unset-env-{name}")
            }
        };
        out.text.push_str(&token(out.refs.len()));
        out.refs.push(Reference {
            name: name.to_string(),
            value,
        });
        rest = r;
    }
    out.text.push_str(rest);
}

/// `s` with every token replaced by its value (in one pass: a value is never scanned for
/// tokens), and the numbers of the tokens it held.
fn expand(s: &str, refs: &[Reference]) -> (String, Vec<usize>) {
    let mut out = String::with_capacity(s.len());
    let mut used = Vec::new();
    let mut rest = s;
    while let Some(pos) = rest.find(TOKEN_START) {
        let (before, after) = rest.split_at(pos);
        out.push_str(before);
        let digits = after.get(TOKEN_START.len()..).unwrap_or("");
        let n_len = digits.bytes().take_while(u8::is_ascii_digit).count();
        let parsed = digits
            .get(..n_len)
            .and_then(|d| d.parse::<usize>().ok())
            .filter(|_| {
                digits
                    .get(n_len..)
                    .is_some_and(|t| t.starts_with(TOKEN_END))
            })
            .and_then(|i| refs.get(i).map(|r| (i, r)));
        match parsed {
            Some((i, r)) => {
                out.push_str(&r.value);
                used.push(i);
                rest = digits.get(n_len + TOKEN_END.len()..).unwrap_or("");
            }
            None => {
                out.push_str(TOKEN_START);
                rest = digits;
            }
        }
    }
    out.push_str(rest);
    (out, used)
}

/// Where references were put after parsing: the YAML path of each scalar holding one, and
/// whether the scalar was exactly one reference (then the loader may read it as YAML where a
/// number, a boolean or a list is wanted).
#[derive(Debug, Default)]
pub struct Placed {
    pub at: Vec<(String, Vec<usize>, bool)>,
}

impl Placed {
    /// The reference that is the whole scalar at `path`, if one is.
    pub fn whole(&self, path: &str) -> Option<usize> {
        self.at
            .iter()
            .find(|(p, refs, whole)| *whole && p == path && refs.len() == 1)
            .and_then(|(_, refs, _)| refs.first().copied())
    }

    /// The references placed at `path`, inside it or around it (its parents).
    pub fn near<'a>(&'a self, path: &'a str) -> impl Iterator<Item = usize> + 'a {
        let related = move |p: &str| {
            p == path
                || (p.starts_with(path) && path.is_empty())
                || p.strip_prefix(path)
                    .is_some_and(|r| r.starts_with(['.', '[']))
                || path
                    .strip_prefix(p)
                    .is_some_and(|r| r.starts_with(['.', '[']))
        };
        self.at
            .iter()
            .filter(move |(p, _, _)| related(p))
            .flat_map(|(_, refs, _)| refs.iter().copied())
    }
}

/// Puts the values of `refs` into the string scalars (and mapping keys) of `root` that hold
/// their tokens.
pub fn resolve(root: &mut Value, refs: &[Reference]) -> Placed {
    let mut placed = Placed::default();
    if refs.is_empty() {
        return placed;
    }
    // Iterative walk: (node, its path).
    let mut stack: Vec<(&mut Value, String)> = vec![(root, String::new())];
    while let Some((node, path)) = stack.pop() {
        match node {
            Value::String(s) if s.contains(TOKEN_START) => {
                let whole = s.starts_with(TOKEN_START)
                    && s.ends_with(TOKEN_END)
                    && s.matches(TOKEN_START).count() == 1;
                let (v, used) = expand(s, refs);
                if !used.is_empty() {
                    placed.at.push((path, used, whole));
                }
                *s = v;
            }
            Value::Array(seq) => {
                for (i, v) in seq.iter_mut().enumerate() {
                    stack.push((v, format!("{path}[{i}]")));
                }
            }
            Value::Object(map) => {
                if map.keys().any(|k| k.contains(TOKEN_START)) {
                    let old = std::mem::take(map);
                    for (k, v) in old {
                        map.insert(expand(&k, refs).0, v);
                    }
                }
                for (k, v) in map.iter_mut() {
                    let key = k.clone();
                    let p = if path.is_empty() {
                        key
                    } else {
                        format!("{path}.{key}")
                    };
                    stack.push((v, p));
                }
            }
            _ => {}
        }
    }
    placed
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

    fn run(text: &str) -> (String, Vec<Missing>) {
        let s = substitute(text, env);
        let (out, _) = expand(&s.text, &s.refs);
        (out, s.missing)
    }

    #[test]
    fn substitutes_and_reports() {
        let (out, missing) =
            run("a: ${SET}\nb: ${UNSET:-dflt}\nc: ${EMPTY:-e}\nd: ${NOPE}\ne: $${SET} $5\n");
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
        let (out, missing) =
            run("# ${NOPE} here\na: ${SET} # and ${NOPE}\nb: \"x # ${SET}\"\nc: a#${SET}\n");
        assert_eq!(
            out,
            "# ${NOPE} here\na: value # and ${NOPE}\nb: \"x # value\"\nc: a#value\n"
        );
        assert!(missing.is_empty());
    }

    #[test]
    fn values_are_strings_whatever_they_look_like() {
        for secret in [
            "123456",
            "true",
            "0x1f",
            "a #b",
            "k: v",
            "*ref",
            "&anchor",
            "!tag",
            "{x",
            "[y",
            "- z",
            "'q",
            "\"d",
            "__logship_env_0__",
            "",
            "é\nnext",
        ] {
            let s = substitute("password: ${P}\nurl: https://u:${P}@es:9200\n", |_| {
                Some(secret.to_string())
            });
            let mut root: Value = super::super::tree::parse(&s.text).unwrap().0;
            let placed = resolve(&mut root, &s.refs);
            assert_eq!(
                root["password"],
                Value::String(secret.to_string()),
                "{secret:?}"
            );
            assert_eq!(
                root["url"],
                Value::String(format!("https://u:{secret}@es:9200")),
                "{secret:?}"
            );
            assert_eq!(placed.whole("password"), Some(0));
            assert_eq!(placed.whole("url"), None);
            assert_eq!(placed.near("url").collect::<Vec<_>>(), vec![1]);
        }
    }
}
