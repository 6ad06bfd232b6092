//! Files people write (scenario files, onboarding requests: TOML), read field by field.
//!
//! serde's derive stops at the first problem and words it for Rust programmers ("invalid type:
//! string, expected u16"). A user wants every problem of the file at once, each with its line,
//! the field's full name and what was expected in words. So a file is parsed once into a
//! spanned tree (`toml`'s recoverable parser, which also lists every syntax error), and each
//! reader asks its fields by name through a [`Table`]:
//!
//! - [`Table::get`] / [`Table::opt`] / [`Table::or`] read a value of a [`Kind`] (whole numbers,
//!   numbers, text, yes/no), with `what` saying in words what the field takes;
//! - [`Table::in_range`] and [`Table::bad`] add value problems at the field's line;
//! - a table reports, when it goes out of scope, every key that nobody asked for.
//!
//! ```
//! let doc = xconnect_input::Doc::parse("calls = \"many\"\ncolour = 1\n");
//! {
//!     let root = doc.root();
//!     assert_eq!(root.get::<u64>("calls", "a whole number of calls, e.g. 1000"), None);
//! }
//! let e = doc.finish("a.toml", Some(())).unwrap_err();
//! assert_eq!(e.problems.len(), 2);
//! assert_eq!(
//!     e.problems[0].to_string(),
//!     "line 1: calls: expected a whole number of calls, e.g. 1000; found the text \"many\""
//! );
//! assert!(e.problems[1].to_string().starts_with("line 2: colour: unknown key"));
//! ```
#![deny(missing_docs)]

use std::cell::RefCell;
use std::fmt::{self, Display};
use std::ops::RangeInclusive;

use serde::Serialize;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// One problem of a file: where, which field, what is wrong and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The field's full name: "duration_s", "sites[1] (san-jose).tier", "routes[3]".
    pub field: String,
    /// 1-based line in the file (0: the problem has no line, e.g. the file is empty).
    pub line: usize,
    /// What is wrong, and what was expected, in words.
    pub message: String,
}

impl Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "line {}: ", self.line)?;
        }
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every problem of one file, in line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems {
    /// The file (or what stands for it, e.g. "built-in default scenario").
    pub file: String,
    /// The problems; never empty.
    pub problems: Vec<Problem>,
}

impl Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} problem(s):", self.file, self.problems.len())?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// A parsed file and the problems found in it so far.
#[derive(Debug)]
pub struct Doc<'t> {
    line_starts: Vec<usize>,
    root: Spanned<DeTable<'t>>,
    problems: RefCell<Vec<Problem>>,
    syntax_errors: bool,
}

impl<'t> Doc<'t> {
    /// Parses `text`; syntax errors become problems (all of them, with their lines), and what
    /// could be parsed is still there to be read.
    pub fn parse(text: &'t str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1))
            .collect();
        let (root, errors) = DeTable::parse_recoverable(text);
        let doc = Doc { line_starts, root, problems: RefCell::new(Vec::new()), syntax_errors: !errors.is_empty() };
        for e in errors {
            let line = e.span().map_or(0, |s| doc.line(s.start));
            let message = e.message().trim().replace('\n', "; ");
            doc.push("(syntax)".into(), line, format!("not valid TOML: {message}"));
        }
        doc
    }

    /// The 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= offset)
    }

    /// The top-level table.
    pub fn root(&self) -> Table<'_, 't> {
        Table::new(self, Some(self.root.get_ref()), String::new(), 1)
    }

    /// Adds a problem.
    pub fn push(&self, field: String, line: usize, message: String) {
        self.problems.borrow_mut().push(Problem { field, line, message });
    }

    /// What a reader built from the file when no problem was found, else every problem in
    /// line order. A reader returns `None` only when it recorded a problem; if one ever does
    /// without, that is said too, rather than a half-built value passed on.
    pub fn finish<T>(self, file: &str, read: Option<T>) -> Result<T, Problems> {
        let mut problems = self.problems.into_inner();
        if problems.is_empty() {
            if let Some(v) = read {
                return Ok(v);
            }
            problems.push(Problem {
                field: "(file)".into(),
                line: 0,
                message: "incomplete, with no problem found: please report this".into(),
            });
        }
        problems.sort_by_key(|p| p.line);
        Err(Problems { file: file.to_string(), problems })
    }
}

/// A value that a field can hold, read from TOML.
pub trait Kind: Sized {
    /// The value, or `None` when the TOML value is of another type or out of the type's range.
    fn read(v: &DeValue<'_>) -> Option<Self>;
}

fn integer(v: &DeValue<'_>) -> Option<i128> {
    let i = v.as_integer()?;
    i128::from_str_radix(i.as_str(), i.radix()).ok()
}

macro_rules! whole {
    ($($t:ty),*) => {$(
        impl Kind for $t {
            fn read(v: &DeValue<'_>) -> Option<Self> {
                integer(v).and_then(|i| <$t>::try_from(i).ok())
            }
        }
    )*};
}
whole!(u8, u16, u32, u64, usize, i64);

impl Kind for f64 {
    /// A TOML float or integer; infinities and NaN are refused.
    fn read(v: &DeValue<'_>) -> Option<Self> {
        let x = match v {
            DeValue::Float(f) => f.as_str().parse::<f64>().ok()?,
            DeValue::Integer(_) => integer(v)? as f64,
            _ => return None,
        };
        x.is_finite().then_some(x)
    }
}

impl Kind for bool {
    fn read(v: &DeValue<'_>) -> Option<Self> {
        v.as_bool()
    }
}

impl Kind for String {
    fn read(v: &DeValue<'_>) -> Option<Self> {
        v.as_str().map(str::to_string)
    }
}

/// What a user wrote, in words, for "found ...".
pub fn describe(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => {
            // At most 40 characters (not bytes: a multi-byte text must not be cut mid-way).
            let mut short: String = s.chars().take(40).collect();
            if s.chars().nth(40).is_some() {
                short.push('…');
            }
            format!("the text {short:?}")
        }
        DeValue::Integer(i) if i.radix() == 10 => i.as_str().to_string(),
        DeValue::Integer(i) => i.to_string(),
        DeValue::Float(f) => f.as_str().to_string(),
        DeValue::Boolean(b) => b.to_string(),
        DeValue::Datetime(d) => format!("the date {d}"),
        DeValue::Array(_) => "a list".into(),
        DeValue::Table(_) => "a table".into(),
    }
}

/// A table of the file, read key by key. When it goes out of scope it reports every key it
/// holds that was never asked for, with the keys it takes.
#[derive(Debug)]
pub struct Table<'d, 't> {
    doc: &'d Doc<'t>,
    map: Option<&'d DeTable<'t>>,
    path: RefCell<String>,
    line: usize,
    asked: RefCell<Vec<String>>,
}

impl<'d, 't> Table<'d, 't> {
    fn new(doc: &'d Doc<'t>, map: Option<&'d DeTable<'t>>, path: String, line: usize) -> Self {
        Table { doc, map, path: RefCell::new(path), line, asked: RefCell::new(Vec::new()) }
    }

    /// Names the table in problems from now on, e.g. "sites[1] (san-jose)".
    pub fn rename(&self, path: String) {
        *self.path.borrow_mut() = path;
    }

    /// The full name of a key of this table.
    pub fn field(&self, key: &str) -> String {
        let path = self.path.borrow();
        if path.is_empty() {
            key.to_string()
        } else if key.is_empty() {
            path.clone()
        } else {
            format!("{path}.{key}")
        }
    }

    fn entry(&self, key: &str) -> Option<&'d Spanned<DeValue<'t>>> {
        {
            let mut asked = self.asked.borrow_mut();
            if !asked.iter().any(|k| k == key) {
                asked.push(key.to_string());
            }
        }
        self.map?.iter().find(|(k, _)| k.get_ref() == key).map(|(_, v)| v)
    }

    /// The line of `key`'s value, or of the table when the key is absent.
    pub fn line_of(&self, key: &str) -> usize {
        self.map
            .and_then(|m| m.iter().find(|(k, _)| k.get_ref() == key))
            .map_or(self.line, |(k, _)| self.doc.line(k.span().start))
    }

    /// The raw value of `key` and its line, for kinds read by the caller (it counts as asked).
    pub fn raw(&self, key: &str) -> Option<(&'d DeValue<'t>, usize)> {
        self.entry(key).map(|v| (v.get_ref(), self.doc.line(v.span().start)))
    }

    /// A problem with `key`: free text.
    pub fn problem(&self, key: &str, message: impl Display) {
        self.doc.push(self.field(key), self.line_of(key), message.to_string());
    }

    /// A problem with `key`: "expected {what}; found {found}".
    pub fn bad(&self, key: &str, what: &str, found: impl Display) {
        self.problem(key, format!("expected {what}; found {found}"));
    }

    /// A required field; a problem when it is absent or not `what`.
    pub fn get<T: Kind>(&self, key: &str, what: &str) -> Option<T> {
        match self.entry(key) {
            None => {
                // A syntax error may have eaten the line: that problem is already listed.
                if !self.doc.syntax_errors {
                    self.problem(key, format!("missing: expected {what}"));
                }
                None
            }
            Some(v) => self.read(key, v, what),
        }
    }

    /// An optional field: `None` when absent, or (with a problem) when not `what`.
    pub fn opt<T: Kind>(&self, key: &str, what: &str) -> Option<T> {
        self.entry(key).and_then(|v| self.read(key, v, what))
    }

    /// An optional field with a default (also returned, with a problem, when it is not `what`).
    pub fn or<T: Kind>(&self, key: &str, what: &str, default: T) -> T {
        self.opt(key, what).unwrap_or(default)
    }

    /// A field that names one of `choices` (`default` when absent); a problem listing the
    /// choices in words when it names none of them. `None` when absent without a default, or bad.
    pub fn one_of<T: Copy>(&self, key: &str, choices: &[(&str, T)], default: Option<T>) -> Option<T> {
        let names: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
        let what = match names.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => "nothing".into(),
        };
        let Some(name) = (if default.is_some() { self.opt::<String>(key, &what) } else { self.get(key, &what) }) else {
            return default;
        };
        let found = choices.iter().find(|(n, _)| *n == name).map(|(_, v)| *v);
        if found.is_none() {
            self.bad(key, &what, format!("{name:?}"));
        }
        found
    }

    /// A field that must lie in `range` (a problem naming `what` when it does not): `None`
    /// when absent or bad.
    pub fn in_range<T: Kind + PartialOrd + Display>(
        &self,
        key: &str,
        range: RangeInclusive<T>,
        what: &str,
    ) -> Option<T> {
        let v = self.opt::<T>(key, what)?;
        if range.contains(&v) {
            Some(v)
        } else {
            self.bad(key, what, &v);
            None
        }
    }

    fn read<T: Kind>(&self, key: &str, v: &Spanned<DeValue<'t>>, what: &str) -> Option<T> {
        let r = T::read(v.get_ref());
        if r.is_none() {
            self.doc.push(
                self.field(key),
                self.doc.line(v.span().start),
                format!("expected {what}; found {}", describe(v.get_ref())),
            );
        }
        r
    }

    /// A sub-table, `None` when absent (a problem when `key` is not a table).
    pub fn table(&self, key: &str) -> Option<Table<'d, 't>> {
        let v = self.entry(key)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(Table::new(self.doc, Some(t), self.field(key), self.doc.line(v.span().start))),
            other => {
                self.bad(key, &format!("a [{key}] table"), describe(other));
                None
            }
        }
    }

    /// A sub-table that may be absent: then an empty one, whose required keys are reported
    /// missing under its name ("traffic.codec: missing").
    pub fn section(&self, key: &str) -> Table<'d, 't> {
        self.table(key).unwrap_or_else(|| Table::new(self.doc, None, self.field(key), self.line))
    }

    /// An array of tables (`[[key]]`); empty when absent (a problem per element that is not a
    /// table). Each is named "key[i]".
    pub fn tables(&self, key: &str) -> Vec<Table<'d, 't>> {
        let Some(v) = self.entry(key) else { return Vec::new() };
        let Some(items) = v.get_ref().as_array() else {
            self.bad(key, &format!("[[{key}]] tables"), describe(v.get_ref()));
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let line = self.doc.line(item.span().start);
            match item.get_ref() {
                DeValue::Table(t) => out.push(Table::new(self.doc, Some(t), format!("{}[{i}]", self.field(key)), line)),
                other => self.doc.push(
                    format!("{}[{i}]", self.field(key)),
                    line,
                    format!("expected a [[{key}]] table; found {}", describe(other)),
                ),
            }
        }
        out
    }

    /// A list of values (`key = [..]`), each with its line; `None` when absent or not a list.
    /// Elements that are not `what` are problems ("key[i]") and left out.
    pub fn list<T: Kind>(&self, key: &str, what: &str) -> Option<Vec<(usize, T, usize)>> {
        let v = self.entry(key)?;
        let Some(items) = v.get_ref().as_array() else {
            self.bad(key, &format!("a list of {what}"), describe(v.get_ref()));
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let line = self.doc.line(item.span().start);
            match T::read(item.get_ref()) {
                Some(x) => out.push((i, x, line)),
                None => self.doc.push(
                    format!("{}[{i}]", self.field(key)),
                    line,
                    format!("expected {what}; found {}", describe(item.get_ref())),
                ),
            }
        }
        Some(out)
    }
}

impl Drop for Table<'_, '_> {
    fn drop(&mut self) {
        let Some(map) = self.map else { return };
        let asked = self.asked.borrow();
        for (k, v) in map.iter() {
            if asked.iter().any(|a| a == k.get_ref()) {
                continue;
            }
            let known = if asked.is_empty() { "none".to_string() } else { asked.join(", ") };
            let _ = v;
            let line = self.doc.line(k.span().start);
            // An empty key (`"" = 1`, or `= 1` after recovery) is named so that it shows.
            let name = if k.get_ref().is_empty() { "\"\"" } else { k.get_ref() };
            self.doc.push(self.field(name), line, format!("unknown key; this table takes: {known}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_problem_at_once_with_lines() {
        let text = "n = \"ten\"\nx = 1.5\nbig = 18446744073709551616\n[t]\nk = [1, \"a\"]\nzz = 1\nflag = 3\n[[s]]\nname = 1\n";
        let doc = Doc::parse(text);
        {
            let root = doc.root();
            assert_eq!(root.get::<u64>("n", "a whole number"), None);
            assert_eq!(root.get::<f64>("x", "a number"), Some(1.5));
            assert_eq!(root.get::<u64>("big", "a whole number"), None);
            assert_eq!(root.get::<u64>("absent", "a whole number"), None);
            let t = root.table("t").unwrap();
            assert_eq!(t.list::<u64>("k", "whole numbers").unwrap().len(), 1);
            assert!(!t.or("flag", "true or false", false));
            for s in root.tables("s") {
                let _ = s.get::<String>("name", "a name");
            }
        }
        let e = doc.finish("f.toml", Some(())).unwrap_err();
        let lines: Vec<String> = e.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            lines,
            [
                "line 1: n: expected a whole number; found the text \"ten\"",
                "line 1: absent: missing: expected a whole number",
                "line 3: big: expected a whole number; found 18446744073709551616",
                "line 5: t.k[1]: expected whole numbers; found the text \"a\"",
                "line 6: t.zz: unknown key; this table takes: k, flag",
                "line 7: t.flag: expected true or false; found 3",
                "line 9: s[0].name: expected a name; found 1",
            ]
        );
    }

    #[test]
    fn syntax_errors_are_listed_and_the_rest_still_read() {
        let doc = Doc::parse("a = 1\nb = = 2\nc = \"x\n");
        {
            let root = doc.root();
            assert_eq!(root.get::<u64>("a", "a whole number"), Some(1));
            // Missing keys are not reported on top of syntax errors: the broken line may hold them.
            assert_eq!(root.get::<u64>("d", "a whole number"), None);
        }
        let e = doc.finish("f.toml", Some(())).unwrap_err();
        let syntax: Vec<usize> = e.problems.iter().filter(|p| p.field == "(syntax)").map(|p| p.line).collect();
        assert!(syntax.contains(&2) && syntax.contains(&3), "{e}");
        assert!(!e.to_string().contains("missing"), "{e}");
    }

    #[test]
    fn choices_and_long_texts_in_words() {
        let long = "é".repeat(41);
        let text = format!("phase = \"both\"\nname = \"{long}\"\nshort = \"{}\"\n", "é".repeat(20));
        let doc = Doc::parse(&text);
        {
            let root = doc.root();
            let choices = [("random", 0), ("sync", 1), ("burst", 2)];
            assert_eq!(root.one_of("phase", &choices, Some(0)), None);
            assert_eq!(root.one_of("absent", &choices, Some(1)), Some(1));
            assert_eq!(root.one_of("also_absent", &choices, None), None);
            assert_eq!(root.get::<u64>("name", "n"), None);
            assert_eq!(root.get::<u64>("short", "n"), None);
        }
        let e = doc.finish("f", Some(())).unwrap_err();
        let all: Vec<String> = e.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(all[0], "line 1: phase: expected \"random\", \"sync\" or \"burst\"; found \"both\"");
        assert_eq!(all[1], "line 1: also_absent: missing: expected \"random\", \"sync\" or \"burst\"");
        assert_eq!(all[2], format!("line 2: name: expected n; found the text \"{}…\"", "é".repeat(40)));
        assert_eq!(all[3], format!("line 3: short: expected n; found the text \"{}\"", "é".repeat(20)));
        // A reader that built nothing yet recorded nothing is reported, not passed on.
        let doc = Doc::parse("");
        assert!(doc.finish::<()>("f", None).unwrap_err().to_string().contains("please report this"));
    }

    #[test]
    fn an_empty_key_is_named() {
        // From fuzz/artifacts (request): a line `= "x"` recovered as an empty key.
        let doc = Doc::parse("a = 1\n\"\" = 2\n");
        {
            let root = doc.root();
            let _ = root.get::<u64>("a", "n");
        }
        let e = doc.finish("f", Some(())).unwrap_err();
        assert_eq!(e.problems[0].field, "\"\"", "{e}");
    }

    #[test]
    fn numbers_refuse_what_they_cannot_hold() {
        let doc = Doc::parse("a = nan\nb = inf\nc = -1\nd = 0x10\ne = 70000\n");
        {
            let root = doc.root();
            assert_eq!(root.opt::<f64>("a", "n"), None);
            assert_eq!(root.opt::<f64>("b", "n"), None);
            assert_eq!(root.opt::<u64>("c", "n"), None);
            assert_eq!(root.opt::<u64>("d", "n"), Some(16));
            assert_eq!(root.opt::<u16>("e", "n"), None);
            assert_eq!(root.in_range::<u64>("d", 0..=10, "at most 10"), None);
        }
        assert_eq!(doc.finish("f", Some(())).unwrap_err().problems.len(), 5);
    }
}
