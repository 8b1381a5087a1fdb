//! A CQL2-text parser and evaluator (OGC API – Features Part 3, "basic CQL2"): comparisons
//! (`=`, `<>`, `<`, `<=`, `>`, `>=`) between properties and literals (either side),
//! `[NOT] BETWEEN`, `[NOT] IN (…)`, `IS [NOT] NULL`, `[NOT] LIKE`, boolean literals as
//! predicates, combined with `AND`, `OR`, `NOT` and parentheses. Literals: numbers, `'text'`
//! (`''` or `\'` for a quote), `TRUE`/`FALSE`, `DATE('…')`, `TIMESTAMP('…')`.
//!
//! Everything a client controls is bounded, because the filter comes from an anonymous URL:
//! the text length ([`MAX_FILTER_CHARS`]), the nesting of parentheses and `NOT`
//! ([`MAX_DEPTH`], so parsing, evaluation and dropping recurse at most that deep — `AND`/`OR`
//! chains are flat lists, not nested pairs), the number of predicates ([`MAX_PREDICATES`]) and
//! the length of a `LIKE` pattern ([`MAX_PATTERN_CHARS`]); `LIKE` matches in O(text × pattern),
//! never by backtracking.
//!
//! Evaluation is three-valued as CQL2 requires: a comparison with `NULL` is *unknown*, `NOT`
//! of unknown is unknown, and a feature is selected only when the whole filter is *true*.

use serde_json::Value;
use std::cmp::Ordering;

/// Longest accepted filter text, in characters.
pub const MAX_FILTER_CHARS: usize = 8_192;
/// Deepest accepted nesting of parentheses and `NOT`.
pub const MAX_DEPTH: usize = 32;
/// Most predicates (comparisons, `IN`, `LIKE`, …) in one filter.
pub const MAX_PREDICATES: usize = 256;
/// Longest accepted `LIKE` pattern, in characters.
pub const MAX_PATTERN_CHARS: usize = 256;
/// Most values in one `IN` list.
pub const MAX_IN_LIST: usize = 1_000;

/// Why a filter was refused. The text is written for the client (German, like the map).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CqlError {
    /// The filter text is longer than [`MAX_FILTER_CHARS`].
    #[error("filter: zu lang ({0} Zeichen; höchstens {MAX_FILTER_CHARS})")]
    TooLong(usize),
    /// Parentheses or `NOT` nested deeper than [`MAX_DEPTH`].
    #[error("filter: zu tief verschachtelt (höchstens {MAX_DEPTH} Ebenen aus Klammern und NOT)")]
    TooDeep,
    /// More than [`MAX_PREDICATES`] predicates.
    #[error("filter: zu viele Bedingungen (höchstens {MAX_PREDICATES})")]
    TooManyPredicates,
    /// A `LIKE` pattern longer than [`MAX_PATTERN_CHARS`].
    #[error("filter: LIKE-Muster zu lang (höchstens {MAX_PATTERN_CHARS} Zeichen)")]
    PatternTooLong,
    /// A property name that is not queryable.
    #[error("filter: unknown property '{0}'")]
    UnknownProperty(String),
    /// Any other syntax or type error, with its explanation.
    #[error("filter: {0}")]
    Syntax(String),
}

fn syntax(m: impl Into<String>) -> CqlError {
    CqlError::Syntax(m.into())
}

/// A calendar instant: year, month, day, seconds of the day (ordered lexicographically).
pub type Instant = (i32, u32, u32, u32);

/// A literal in an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Number.
    Num(f64),
    /// Quoted text.
    Str(String),
    /// TRUE / FALSE.
    Bool(bool),
    /// `DATE('…')` or `TIMESTAMP('…')` (UTC).
    Instant(Instant),
}

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    /// The operator with its operands swapped (`3 < x` ⇔ `x > 3`).
    fn flipped(self) -> Op {
        match self {
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
            o => o,
        }
    }
    fn holds(self, o: Ordering) -> bool {
        match self {
            Op::Eq => o == Ordering::Equal,
            Op::Ne => o != Ordering::Equal,
            Op::Lt => o == Ordering::Less,
            Op::Le => o != Ordering::Greater,
            Op::Gt => o == Ordering::Greater,
            Op::Ge => o != Ordering::Less,
        }
    }
}

/// The type of a queryable property, as the parser needs it for type checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropType {
    /// Text.
    Text,
    /// Number (integer or not).
    Number,
    /// true/false.
    Bool,
    /// The year of the values (an integer); also comparable with `DATE`/`TIMESTAMP`, standing
    /// for its Stichtag, 31 December of that year.
    Year,
}

/// One element of a compiled `LIKE` pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternItem {
    /// `%`: any run of characters.
    Any,
    /// `_`: exactly one character.
    One,
    /// A literal character (also an escaped `\%`, `\_`, `\\`).
    Char(char),
}

/// A parsed expression; properties are field positions after [`parse`].
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All of them.
    And(Vec<Expr>),
    /// Any of them.
    Or(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// `TRUE` / `FALSE` as a predicate.
    Const(bool),
    /// `prop op literal`.
    Cmp(usize, Op, Literal),
    /// `prop op prop`.
    CmpProps(usize, Op, usize),
    /// `prop IN (a, b, …)`.
    In(usize, Vec<Literal>),
    /// `prop IS NULL`.
    IsNull(usize),
    /// `prop LIKE 'pattern'`.
    Like(usize, Vec<PatternItem>),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    Op(Op),
    LParen,
    RParen,
    Comma,
}

/// Parses `text`, resolving property names with `resolve` (field position and type).
pub fn parse(
    text: &str,
    resolve: &dyn Fn(&str) -> Option<(usize, PropType)>,
) -> Result<Expr, CqlError> {
    let n = text.chars().count();
    if n > MAX_FILTER_CHARS {
        return Err(CqlError::TooLong(n));
    }
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        predicates: 0,
        resolve,
    };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(syntax(format!(
            "unexpected {} at token {}",
            describe(&p.toks[p.pos]),
            p.pos + 1
        )));
    }
    Ok(e)
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => format!("'{s}'"),
        Tok::Str(s) => format!("string '{s}'"),
        Tok::Num(n) => format!("number {n}"),
        Tok::Op(o) => format!("operator {o:?}"),
        Tok::LParen => "'('".into(),
        Tok::RParen => "')'".into(),
        Tok::Comma => "','".into(),
    }
}

fn lex(s: &str) -> Result<Vec<Tok>, CqlError> {
    let c: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < c.len() {
        let ch = c[i];
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if ch == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if ch == ',' {
            out.push(Tok::Comma);
            i += 1;
        } else if ch == '\'' {
            // CQL2: '' or \' is a quote inside a literal; other backslashes stay (they escape
            // LIKE wildcards).
            let mut v = String::new();
            i += 1;
            loop {
                match c.get(i) {
                    None => return Err(syntax("unterminated string literal")),
                    Some('\'') if c.get(i + 1) == Some(&'\'') => {
                        v.push('\'');
                        i += 2;
                    }
                    Some('\\') if c.get(i + 1) == Some(&'\'') => {
                        v.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(x) => {
                        v.push(*x);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(v));
        } else if ch == '"' {
            let start = i + 1;
            let end = c[start..]
                .iter()
                .position(|x| *x == '"')
                .ok_or_else(|| syntax("unterminated quoted property name"))?;
            out.push(Tok::Ident(c[start..start + end].iter().collect()));
            i = start + end + 1;
        } else if "=<>!".contains(ch) {
            let two: String = c[i..(i + 2).min(c.len())].iter().collect();
            let (op, n) = match two.as_str() {
                "<=" => (Op::Le, 2),
                ">=" => (Op::Ge, 2),
                "<>" | "!=" => (Op::Ne, 2),
                _ => match ch {
                    '=' => (Op::Eq, 1),
                    '<' => (Op::Lt, 1),
                    '>' => (Op::Gt, 1),
                    _ => return Err(syntax(format!("unknown operator at '{two}'"))),
                },
            };
            out.push(Tok::Op(op));
            i += n;
        } else if ch.is_ascii_digit()
            || ((ch == '-' || ch == '+' || ch == '.')
                && c.get(i + 1)
                    .is_some_and(|d| d.is_ascii_digit() || *d == '.'))
        {
            let start = i;
            i += 1;
            while i < c.len()
                && (c[i].is_ascii_digit()
                    || c[i] == '.'
                    || c[i] == 'e'
                    || c[i] == 'E'
                    || ((c[i] == '-' || c[i] == '+') && matches!(c[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            let t: String = c[start..i].iter().collect();
            let n: f64 = t
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite())
                .ok_or_else(|| syntax(format!("invalid number '{t}'")))?;
            out.push(Tok::Num(n));
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len()
                && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '.' || c[i] == ':')
            {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
        } else {
            return Err(syntax(format!("unexpected character '{ch}'")));
        }
    }
    Ok(out)
}

/// Parses an RFC 3339 date (`2024-12-31`) or, with `timestamp`, date-time
/// (`2024-12-31T23:59:59Z`, offsets allowed) into a UTC [`Instant`]; `None` if malformed.
pub fn parse_instant(s: &str, timestamp: bool) -> Option<Instant> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let t = s.get(r)?;
        if t.bytes().all(|x| x.is_ascii_digit()) {
            t.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (num(0..4)? as i32, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    if !timestamp {
        return (b.len() == 10).then_some((y, m, d, 0));
    }
    if b.len() < 20 || !matches!(b[10], b'T' | b't') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &frac[digits..];
    }
    let offset_s: i64 = match rest {
        "Z" | "z" => 0,
        _ => {
            let rb = rest.as_bytes();
            if rb.len() != 6 || !matches!(rb[0], b'+' | b'-') || rb[3] != b':' {
                return None;
            }
            let oh: i64 = rest[1..3].parse().ok()?;
            let om: i64 = rest[4..6].parse().ok()?;
            if oh > 23 || om > 59 {
                return None;
            }
            let v = oh * 3600 + om * 60;
            if rb[0] == b'-' { -v } else { v }
        }
    };
    // Normalise to UTC (the offset can move the instant across a day boundary).
    let secs = (hh * 3600 + mm * 60 + ss.min(59)) as i64 - offset_s;
    let (mut y, mut m, mut d) = (y, m, d);
    let secs = if secs < 0 {
        if d > 1 {
            d -= 1;
        } else if m > 1 {
            m -= 1;
            d = days_in_month(y, m);
        } else {
            y -= 1;
            m = 12;
            d = 31;
        }
        secs + 86_400
    } else if secs >= 86_400 {
        if d < days_in_month(y, m) {
            d += 1;
        } else if m < 12 {
            m += 1;
            d = 1;
        } else {
            y += 1;
            m = 1;
            d = 1;
        }
        secs - 86_400
    } else {
        secs
    };
    Some((y, m, d, secs as u32))
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// Compiles a `LIKE` pattern: `%` any run, `_` one character, `\` escapes the next one.
#[doc(hidden)] // public for tests/it/units
pub fn compile_pattern(p: &str) -> Result<Vec<PatternItem>, CqlError> {
    if p.chars().count() > MAX_PATTERN_CHARS {
        return Err(CqlError::PatternTooLong);
    }
    let mut out = Vec::new();
    let mut it = p.chars();
    while let Some(c) = it.next() {
        out.push(match c {
            '%' => {
                // Runs of % mean the same as one.
                if out.last() == Some(&PatternItem::Any) {
                    continue;
                }
                PatternItem::Any
            }
            '_' => PatternItem::One,
            '\\' => PatternItem::Char(it.next().ok_or_else(|| {
                syntax("LIKE pattern ends with '\\' (escape '%', '_' or '\\' with it)")
            })?),
            c => PatternItem::Char(c),
        });
    }
    Ok(out)
}

/// Matches `s` against a compiled pattern in O(|s| × |p|) time: the classic wildcard matcher
/// that, on a mismatch, resumes only from the latest `%` (earlier ones can never do better).
pub fn like_match(s: &str, p: &[PatternItem]) -> bool {
    let s: Vec<char> = s.chars().collect();
    let (mut si, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(PatternItem::Any) => {
                star = Some((pi, si));
                pi += 1;
            }
            Some(PatternItem::One) => {
                si += 1;
                pi += 1;
            }
            Some(PatternItem::Char(c)) if *c == s[si] => {
                si += 1;
                pi += 1;
            }
            _ => match star {
                Some((sp, ss)) => {
                    pi = sp + 1;
                    si = ss + 1;
                    star = Some((sp, ss + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|x| *x == PatternItem::Any)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    predicates: usize,
    resolve: &'a dyn Fn(&str) -> Option<(usize, PropType)>,
}

/// One side of a comparison.
enum Operand {
    Prop(usize, PropType, String),
    Lit(Literal),
}

impl Parser<'_> {
    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }
    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn enter(&mut self) -> Result<(), CqlError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CqlError::TooDeep);
        }
        Ok(())
    }
    fn predicate(&mut self) -> Result<(), CqlError> {
        self.predicates += 1;
        if self.predicates > MAX_PREDICATES {
            return Err(CqlError::TooManyPredicates);
        }
        Ok(())
    }
    fn or(&mut self) -> Result<Expr, CqlError> {
        let mut v = vec![self.and()?];
        while self.eat_kw("OR") {
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Expr::Const(false))
        } else {
            Expr::Or(v)
        })
    }
    fn and(&mut self) -> Result<Expr, CqlError> {
        let mut v = vec![self.not()?];
        while self.eat_kw("AND") {
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 {
            v.pop().unwrap_or(Expr::Const(true))
        } else {
            Expr::And(v)
        })
    }
    fn not(&mut self) -> Result<Expr, CqlError> {
        if self.eat_kw("NOT") {
            self.enter()?;
            let e = Expr::Not(Box::new(self.not()?));
            self.depth -= 1;
            return Ok(e);
        }
        self.primary()
    }
    fn literal_after(&mut self, t: Option<Tok>) -> Result<Literal, CqlError> {
        match t {
            Some(Tok::Num(n)) => Ok(Literal::Num(n)),
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            Some(Tok::Ident(s))
                if s.eq_ignore_ascii_case("date") || s.eq_ignore_ascii_case("timestamp") =>
            {
                let ts = s.eq_ignore_ascii_case("timestamp");
                let arg = match (self.next(), self.next(), self.next()) {
                    (Some(Tok::LParen), Some(Tok::Str(a)), Some(Tok::RParen)) => a,
                    _ => {
                        return Err(syntax(format!(
                            "{} expects one quoted value, e.g. {}",
                            s.to_ascii_uppercase(),
                            if ts {
                                "TIMESTAMP('2024-12-31T00:00:00Z')"
                            } else {
                                "DATE('2024-12-31')"
                            }
                        )));
                    }
                };
                parse_instant(&arg, ts)
                    .map(Literal::Instant)
                    .ok_or_else(|| {
                        syntax(format!(
                            "'{arg}' is not a valid {} (RFC 3339)",
                            if ts { "timestamp" } else { "date" }
                        ))
                    })
            }
            Some(t) => Err(syntax(format!(
                "expected a literal (number, 'text', TRUE/FALSE, DATE('…')), found {}",
                describe(&t)
            ))),
            None => Err(syntax("expected a literal, found the end of the filter")),
        }
    }
    fn literal(&mut self) -> Result<Literal, CqlError> {
        let t = self.next();
        self.literal_after(t)
    }
    fn operand(&mut self) -> Result<Operand, CqlError> {
        match self.next() {
            Some(Tok::Ident(name))
                if !["true", "false", "date", "timestamp"]
                    .iter()
                    .any(|k| name.eq_ignore_ascii_case(k)) =>
            {
                let (i, ty) =
                    (self.resolve)(&name).ok_or_else(|| CqlError::UnknownProperty(name.clone()))?;
                Ok(Operand::Prop(i, ty, name))
            }
            t => Ok(Operand::Lit(self.literal_after(t)?)),
        }
    }
    fn primary(&mut self) -> Result<Expr, CqlError> {
        if self.toks.get(self.pos) == Some(&Tok::LParen) {
            self.pos += 1;
            self.enter()?;
            let e = self.or()?;
            self.depth -= 1;
            return match self.next() {
                Some(Tok::RParen) => Ok(e),
                _ => Err(syntax("missing ')'")),
            };
        }
        if self.pos >= self.toks.len() {
            return Err(syntax("empty expression"));
        }
        self.predicate()?;
        let lhs = self.operand()?;
        let (field, ty, name) = match lhs {
            Operand::Prop(i, ty, name) => (i, ty, name),
            Operand::Lit(l) => {
                // A literal first: a boolean predicate alone, or `literal op property`.
                match self.toks.get(self.pos) {
                    Some(Tok::Op(op)) => {
                        let op = *op;
                        self.pos += 1;
                        return match self.operand()? {
                            Operand::Prop(i, ty, name) => {
                                check(&name, ty, &l)?;
                                Ok(Expr::Cmp(i, op.flipped(), l))
                            }
                            Operand::Lit(r) => {
                                // Two literals: constant, but only for comparable types.
                                let o = cmp_lits(&l, &r).ok_or_else(|| {
                                    syntax("cannot compare literals of different types")
                                })?;
                                Ok(Expr::Const(op.holds(o)))
                            }
                        };
                    }
                    _ => {
                        return match l {
                            Literal::Bool(b) => Ok(Expr::Const(b)),
                            other => Err(syntax(format!(
                                "expected a property name, '(' or TRUE/FALSE, found the literal {other:?}"
                            ))),
                        };
                    }
                }
            }
        };
        if self.eat_kw("IS") {
            let neg = self.eat_kw("NOT");
            if !self.eat_kw("NULL") {
                return Err(syntax("expected NULL after IS"));
            }
            let e = Expr::IsNull(field);
            return Ok(if neg { Expr::Not(Box::new(e)) } else { e });
        }
        let neg = self.eat_kw("NOT");
        let wrap = |e: Expr| if neg { Expr::Not(Box::new(e)) } else { e };
        if self.eat_kw("IN") {
            if self.next() != Some(Tok::LParen) {
                return Err(syntax("expected '(' after IN"));
            }
            let mut list = Vec::new();
            loop {
                let l = self.literal()?;
                check(&name, ty, &l)?;
                list.push(l);
                if list.len() > MAX_IN_LIST {
                    return Err(syntax(format!(
                        "IN list too long (at most {MAX_IN_LIST} values)"
                    )));
                }
                match self.next() {
                    Some(Tok::Comma) => continue,
                    Some(Tok::RParen) => break,
                    _ => return Err(syntax("expected ',' or ')' in IN list")),
                }
            }
            return Ok(wrap(Expr::In(field, list)));
        }
        if self.eat_kw("LIKE") {
            if ty != PropType::Text {
                return Err(syntax(format!(
                    "LIKE needs a text property; '{name}' is not text"
                )));
            }
            return match self.next() {
                Some(Tok::Str(p)) => Ok(wrap(Expr::Like(field, compile_pattern(&p)?))),
                _ => Err(syntax("expected a quoted pattern after LIKE")),
            };
        }
        if self.eat_kw("BETWEEN") {
            let lo = self.literal()?;
            check(&name, ty, &lo)?;
            if !self.eat_kw("AND") {
                return Err(syntax("expected AND in BETWEEN … AND …"));
            }
            let hi = self.literal()?;
            check(&name, ty, &hi)?;
            return Ok(wrap(Expr::And(vec![
                Expr::Cmp(field, Op::Ge, lo),
                Expr::Cmp(field, Op::Le, hi),
            ])));
        }
        if neg {
            return Err(syntax("expected IN, LIKE or BETWEEN after NOT"));
        }
        let op = match self.next() {
            Some(Tok::Op(op)) => op,
            Some(t) => {
                return Err(syntax(format!(
                    "expected a comparison operator after '{name}', found {}",
                    describe(&t)
                )));
            }
            None => return Err(syntax(format!("expected a comparison after '{name}'"))),
        };
        match self.operand()? {
            Operand::Lit(l) => {
                check(&name, ty, &l)?;
                Ok(Expr::Cmp(field, op, l))
            }
            Operand::Prop(j, ty2, name2) => {
                let comparable = ty == ty2
                    || matches!(
                        (ty, ty2),
                        (PropType::Number, PropType::Year) | (PropType::Year, PropType::Number)
                    );
                if !comparable {
                    return Err(syntax(format!(
                        "cannot compare '{name}' with '{name2}': different types"
                    )));
                }
                Ok(Expr::CmpProps(field, op, j))
            }
        }
    }
}

/// Type check of `prop op literal`.
fn check(name: &str, ty: PropType, l: &Literal) -> Result<(), CqlError> {
    let ok = matches!(
        (ty, l),
        (PropType::Text, Literal::Str(_))
            | (PropType::Number | PropType::Year, Literal::Num(_))
            | (PropType::Bool, Literal::Bool(_))
            | (PropType::Year, Literal::Instant(_))
    ) || matches!((ty, l), (PropType::Bool, Literal::Num(n)) if *n == 0.0 || *n == 1.0);
    if ok {
        return Ok(());
    }
    Err(syntax(match (ty, l) {
        (PropType::Text, Literal::Num(n)) => {
            format!("property '{name}' is text; quote the value: '{n}'")
        }
        (_, Literal::Instant(_)) => format!(
            "property '{name}' is not a date; DATE/TIMESTAMP compare with 'year' (its Stichtag 31.12.)"
        ),
        (PropType::Bool, _) => {
            format!("property '{name}' is true or false; compare it with TRUE/FALSE")
        }
        (_, Literal::Str(s)) => format!(
            "property '{name}' is not text; compare it with a number or TRUE/FALSE, not '{s}'"
        ),
        _ => format!("property '{name}': the value has the wrong type"),
    }))
}

fn cmp_lits(a: &Literal, b: &Literal) -> Option<Ordering> {
    match (a, b) {
        (Literal::Num(x), Literal::Num(y)) => x.partial_cmp(y),
        (Literal::Str(x), Literal::Str(y)) => Some(x.cmp(y)),
        (Literal::Bool(x), Literal::Bool(y)) => Some(x.cmp(y)),
        (Literal::Instant(x), Literal::Instant(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

/// Compares a value with a literal; `None` when the value is null (unknown).
fn cmp_value(v: &Value, l: &Literal) -> Option<Ordering> {
    match (v, l) {
        (Value::Number(n), Literal::Num(x)) => n.as_f64()?.partial_cmp(x),
        (Value::String(s), Literal::Str(x)) => Some(s.as_str().cmp(x.as_str())),
        (Value::Bool(b), Literal::Bool(x)) => Some(b.cmp(x)),
        // GDAL writes booleans as 1/0 (OGR SQL has no boolean literals).
        (Value::Bool(b), Literal::Num(x)) => Some(b.cmp(&(*x == 1.0))),
        // A year stands for its Stichtag, 31 December.
        (Value::Number(n), Literal::Instant(t)) => {
            let y = n.as_i64()? as i32;
            Some((y, 12u32, 31u32, 0u32).cmp(t))
        }
        _ => None,
    }
}

fn cmp_values(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

impl Expr {
    /// Evaluates against a row of values: `Some(true)`, `Some(false)`, or `None` (unknown:
    /// a comparison involved `null`). Recursion depth is bounded by [`MAX_DEPTH`].
    pub fn eval(&self, values: &[Value]) -> Option<bool> {
        let get = |i: &usize| values.get(*i).unwrap_or(&Value::Null);
        match self {
            Expr::And(v) => {
                let mut unknown = false;
                for e in v {
                    match e.eval(values) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown { None } else { Some(true) }
            }
            Expr::Or(v) => {
                let mut unknown = false;
                for e in v {
                    match e.eval(values) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown { None } else { Some(false) }
            }
            Expr::Not(a) => a.eval(values).map(|b| !b),
            Expr::Const(b) => Some(*b),
            Expr::IsNull(i) => Some(get(i).is_null()),
            Expr::In(i, list) => {
                let v = get(i);
                if v.is_null() {
                    return None;
                }
                Some(
                    list.iter()
                        .any(|l| cmp_value(v, l) == Some(Ordering::Equal)),
                )
            }
            Expr::Like(i, p) => match get(i) {
                Value::String(s) => Some(like_match(s, p)),
                _ => None,
            },
            Expr::Cmp(i, op, l) => cmp_value(get(i), l).map(|o| op.holds(o)),
            Expr::CmpProps(i, op, j) => cmp_values(get(i), get(j)).map(|o| op.holds(o)),
        }
    }

    /// True when the filter selects the row (evaluates to true, not unknown).
    pub fn selects(&self, values: &[Value]) -> bool {
        self.eval(values) == Some(true)
    }

    /// True if the expression references field `i`.
    pub fn references(&self, i: usize) -> bool {
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter().any(|e| e.references(i)),
            Expr::Not(a) => a.references(i),
            Expr::Const(_) => false,
            Expr::Cmp(f, _, _) | Expr::In(f, _) | Expr::IsNull(f) | Expr::Like(f, _) => *f == i,
            Expr::CmpProps(f, _, g) => *f == i || *g == i,
        }
    }
}
