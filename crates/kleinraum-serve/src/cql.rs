//! A small CQL2-text parser and evaluator (OGC API – Features Part 3, "basic CQL2"):
//! comparisons (`=`, `<>`, `<`, `<=`, `>`, `>=`), `IN (…)`, `IS [NOT] NULL`, `LIKE`, combined
//! with `AND`, `OR`, `NOT` and parentheses. Property names are checked against the collection's
//! queryables when the expression is bound.

use serde_json::Value;

/// A literal in an expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// Number.
    Num(f64),
    /// Quoted text.
    Str(String),
    /// TRUE / FALSE.
    Bool(bool),
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

/// A parsed expression; properties are field positions after [`parse`].
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both.
    And(Box<Expr>, Box<Expr>),
    /// Either.
    Or(Box<Expr>, Box<Expr>),
    /// Negation.
    Not(Box<Expr>),
    /// `prop op literal`.
    Cmp(usize, Op, Literal),
    /// `prop IN (a, b, …)`.
    In(usize, Vec<Literal>),
    /// `prop IS NULL`.
    IsNull(usize),
    /// `prop LIKE 'pattern'` (`%` any run, `_` one character).
    Like(usize, String),
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

/// Parses `text`, resolving property names with `resolve` (returns the field position and
/// whether the field is a string). Errors are messages for the client.
pub fn parse(text: &str, resolve: &dyn Fn(&str) -> Option<(usize, bool)>) -> Result<Expr, String> {
    let toks = lex(text)?;
    let mut p = Parser {
        toks,
        pos: 0,
        resolve,
    };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(format!(
            "filter: unexpected {} at token {}",
            describe(&p.toks[p.pos]),
            p.pos + 1
        ));
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

fn lex(s: &str) -> Result<Vec<Tok>, String> {
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
            let mut v = String::new();
            i += 1;
            loop {
                match c.get(i) {
                    None => return Err("filter: unterminated string literal".into()),
                    Some('\'') if c.get(i + 1) == Some(&'\'') => {
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
                .ok_or("filter: unterminated quoted property name")?;
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
                    _ => return Err(format!("filter: unknown operator at '{two}'")),
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
                .map_err(|_| format!("filter: invalid number '{t}'"))?;
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
            return Err(format!("filter: unexpected character '{ch}'"));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    resolve: &'a dyn Fn(&str) -> Option<(usize, bool)>,
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
    fn or(&mut self) -> Result<Expr, String> {
        let mut l = self.and()?;
        while self.eat_kw("OR") {
            let r = self.and()?;
            l = Expr::Or(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut l = self.not()?;
        while self.eat_kw("AND") {
            let r = self.not()?;
            l = Expr::And(Box::new(l), Box::new(r));
        }
        Ok(l)
    }
    fn not(&mut self) -> Result<Expr, String> {
        if self.eat_kw("NOT") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }
    fn literal(&mut self) -> Result<Literal, String> {
        match self.next() {
            Some(Tok::Num(n)) => Ok(Literal::Num(n)),
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Some(Tok::Ident(s)) if s.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            Some(t) => Err(format!(
                "filter: expected a literal (number, 'text', TRUE/FALSE), found {}",
                describe(&t)
            )),
            None => Err("filter: expected a literal, found the end of the filter".into()),
        }
    }
    fn primary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::LParen) => {
                let e = self.or()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(e),
                    _ => Err("filter: missing ')'".into()),
                }
            }
            Some(Tok::Ident(name)) => {
                let (field, is_str) = (self.resolve)(&name)
                    .ok_or_else(|| format!("filter: unknown property '{name}'"))?;
                let check = |l: &Literal| -> Result<(), String> {
                    match (is_str, l) {
                        (true, Literal::Num(n)) => Err(format!(
                            "filter: property '{name}' is text; quote the value: '{n}'"
                        )),
                        (false, Literal::Str(s)) => Err(format!(
                            "filter: property '{name}' is not text; compare it with a number or TRUE/FALSE, not '{s}'"
                        )),
                        _ => Ok(()),
                    }
                };
                if self.eat_kw("IS") {
                    let neg = self.eat_kw("NOT");
                    if !self.eat_kw("NULL") {
                        return Err("filter: expected NULL after IS".into());
                    }
                    let e = Expr::IsNull(field);
                    return Ok(if neg { Expr::Not(Box::new(e)) } else { e });
                }
                let neg = self.eat_kw("NOT");
                if self.eat_kw("IN") {
                    if self.next() != Some(Tok::LParen) {
                        return Err("filter: expected '(' after IN".into());
                    }
                    let mut list = Vec::new();
                    loop {
                        let l = self.literal()?;
                        check(&l)?;
                        list.push(l);
                        match self.next() {
                            Some(Tok::Comma) => continue,
                            Some(Tok::RParen) => break,
                            _ => return Err("filter: expected ',' or ')' in IN list".into()),
                        }
                    }
                    let e = Expr::In(field, list);
                    return Ok(if neg { Expr::Not(Box::new(e)) } else { e });
                }
                if self.eat_kw("LIKE") {
                    match self.next() {
                        Some(Tok::Str(p)) => {
                            let e = Expr::Like(field, p);
                            return Ok(if neg { Expr::Not(Box::new(e)) } else { e });
                        }
                        _ => return Err("filter: expected a quoted pattern after LIKE".into()),
                    }
                }
                if neg {
                    return Err("filter: expected IN or LIKE after NOT".into());
                }
                let op = match self.next() {
                    Some(Tok::Op(op)) => op,
                    Some(t) => {
                        return Err(format!(
                            "filter: expected a comparison operator after '{name}', found {}",
                            describe(&t)
                        ));
                    }
                    None => return Err(format!("filter: expected a comparison after '{name}'")),
                };
                let l = self.literal()?;
                check(&l)?;
                Ok(Expr::Cmp(field, op, l))
            }
            Some(t) => Err(format!(
                "filter: expected a property name or '(', found {}",
                describe(&t)
            )),
            None => Err("filter: empty expression".into()),
        }
    }
}

fn cmp_lit(v: &Value, l: &Literal) -> Option<std::cmp::Ordering> {
    match (v, l) {
        (Value::Number(n), Literal::Num(x)) => n.as_f64()?.partial_cmp(x),
        (Value::String(s), Literal::Str(x)) => Some(s.as_str().cmp(x.as_str())),
        (Value::Bool(b), Literal::Bool(x)) => Some(b.cmp(x)),
        _ => None,
    }
}

fn like(s: &[char], p: &[char]) -> bool {
    match p.first() {
        None => s.is_empty(),
        Some('%') => (0..=s.len()).any(|i| like(&s[i..], &p[1..])),
        Some('_') => !s.is_empty() && like(&s[1..], &p[1..]),
        Some(c) => s.first() == Some(c) && like(&s[1..], &p[1..]),
    }
}

impl Expr {
    /// Evaluates against a row of values; comparisons with `null` are false.
    pub fn eval(&self, values: &[Value]) -> bool {
        let get = |i: &usize| values.get(*i).unwrap_or(&Value::Null);
        match self {
            Expr::And(a, b) => a.eval(values) && b.eval(values),
            Expr::Or(a, b) => a.eval(values) || b.eval(values),
            Expr::Not(a) => !a.eval(values),
            Expr::IsNull(i) => get(i).is_null(),
            Expr::In(i, list) => list
                .iter()
                .any(|l| cmp_lit(get(i), l) == Some(std::cmp::Ordering::Equal)),
            Expr::Like(i, p) => match get(i) {
                Value::String(s) => {
                    let s: Vec<char> = s.chars().collect();
                    let p: Vec<char> = p.chars().collect();
                    like(&s, &p)
                }
                _ => false,
            },
            Expr::Cmp(i, op, l) => {
                use std::cmp::Ordering::*;
                match cmp_lit(get(i), l) {
                    None => false,
                    Some(o) => match op {
                        Op::Eq => o == Equal,
                        Op::Ne => o != Equal,
                        Op::Lt => o == Less,
                        Op::Le => o != Greater,
                        Op::Gt => o == Greater,
                        Op::Ge => o != Less,
                    },
                }
            }
        }
    }

    /// True if the expression references field `i`.
    pub fn references(&self, i: usize) -> bool {
        match self {
            Expr::And(a, b) | Expr::Or(a, b) => a.references(i) || b.references(i),
            Expr::Not(a) => a.references(i),
            Expr::Cmp(f, _, _) | Expr::In(f, _) | Expr::IsNull(f) | Expr::Like(f, _) => *f == i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resolve(n: &str) -> Option<(usize, bool)> {
        match n {
            "status_class" => Some((0, false)),
            "year" => Some((1, false)),
            "name" => Some((2, true)),
            _ => None,
        }
    }

    #[test]
    fn and_or_precedence_and_evaluation() {
        let e = parse(
            "status_class >= 3 AND year = 2024 OR name = 'Wedding'",
            &resolve,
        )
        .unwrap();
        assert!(e.eval(&[json!(4), json!(2024), json!("x")]));
        assert!(!e.eval(&[json!(2), json!(2024), json!("x")]));
        assert!(e.eval(&[json!(1), json!(2020), json!("Wedding")]));
        assert!(!e.eval(&[json!(null), json!(2024), json!("x")]));
    }

    #[test]
    fn in_like_null_and_quotes() {
        let e = parse(
            "name IN ('A''s', 'B') AND NOT status_class IS NULL",
            &resolve,
        )
        .unwrap();
        assert!(e.eval(&[json!(1), json!(1), json!("A's")]));
        assert!(!e.eval(&[json!(null), json!(1), json!("A's")]));
        let e = parse("name LIKE 'Wed%'", &resolve).unwrap();
        assert!(e.eval(&[json!(1), json!(1), json!("Wedding")]));
        assert!(!e.eval(&[json!(1), json!(1), json!("Moabit")]));
    }

    #[test]
    fn errors_name_the_problem() {
        assert_eq!(
            parse("foo = 1", &resolve).unwrap_err(),
            "filter: unknown property 'foo'"
        );
        assert!(parse("name = 3", &resolve).unwrap_err().contains("quote"));
        assert!(parse("(year = 1", &resolve).unwrap_err().contains("')'"));
        assert!(
            parse("year = 'x", &resolve)
                .unwrap_err()
                .contains("unterminated")
        );
    }
}
