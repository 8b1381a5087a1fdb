//! Area tables as planners receive them: one row per area and year (long), one column per year
//! (wide), one row per area, year and variable (a Landesamt's long export), or one file per
//! year; keys that are ids or names (with an optional mapping file); the number formats and
//! "no value" markers of German statistical offices.
//!
//! Every row that cannot be read is a [`Diagnostic`] with the file's line number; findings that
//! do not make the table wrong (keys that match no area, rows of another Stichtag, cells marked
//! `*`) are collected in [`TableInfo`] and reported by `check`, `aggregate` and `serve` alike.

use crate::config::{MatchBy, TableSource};
use crate::error::{Diagnostic, LoadError};
use crate::table::{Cell, CsvTable};
use kleinraum_aggregate::model::{AreaTable, Level, TableColumn};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// What loading a table found besides its values.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TableInfo {
    /// Table name.
    pub name: String,
    /// Level key.
    pub level: String,
    /// The file.
    pub source: String,
    /// Data rows in the file.
    pub rows_read: usize,
    /// Rows whose values went into the table.
    pub rows_used: usize,
    /// Rows on another day than the configured Stichtag (not used, by configuration).
    pub other_stichtag: usize,
    /// The Stichtag the rows were taken for (`31.12.`), when the table has dates.
    pub stichtag: Option<String>,
    /// Rows of variables the configuration does not take.
    pub other_variables: usize,
    /// Years of the table.
    pub years: Vec<i32>,
    /// Column names (after renaming), counts first marked with `count`.
    pub columns: Vec<String>,
    /// Count columns.
    pub counts: Vec<String>,
    /// Cells without a value per marker (`*` → 12): (marker, meaning, cells).
    pub markers: Vec<(String, String, usize)>,
    /// Keys that match no area of the level: (key, first line).
    pub unmatched: Vec<(String, usize)>,
    /// Keys matched through the mapping file.
    pub mapped: usize,
    /// Keys matched by name.
    pub matched_by_name: usize,
    /// The file's line of each row of the table (for messages about the rows).
    #[serde(skip)]
    pub row_lines: Vec<usize>,
}

/// Which value a data column holds.
#[derive(Debug, Clone)]
struct Source {
    /// CSV column.
    col: usize,
    /// Output column index.
    out: usize,
    /// Fixed year of this column (wide layout).
    year: Option<i32>,
}

/// How the rows give their year.
enum Years {
    Fixed(i32),
    Column(usize),
    Date(usize, (u32, u32)),
    /// Wide: each value column has its own year.
    PerColumn,
}

/// Month and day of a `stichtag` (`"12-31"` or `"31.12."`).
pub fn parse_stichtag(s: &str) -> Result<(u32, u32), String> {
    let t = s.trim().trim_end_matches('.');
    let (m, d) = if let Some((d, m)) = t.split_once('.') {
        (m, d)
    } else if let Some((m, d)) = t.split_once('-') {
        (m, d)
    } else {
        return Err(format!(
            "stichtag {s:?}: write month and day as \"12-31\" (or \"31.12.\")"
        ));
    };
    match (m.trim().parse::<u32>(), d.trim().parse::<u32>()) {
        (Ok(m), Ok(d)) if (1..=12).contains(&m) && (1..=31).contains(&d) => Ok((m, d)),
        _ => Err(format!(
            "stichtag {s:?}: write month and day as \"12-31\" (or \"31.12.\")"
        )),
    }
}

/// A date as written in statistics exports: `31.12.2014`, `2014-12-31`, `31.12.14` is not
/// accepted (two-digit years are ambiguous). Returns (year, month, day).
pub fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let t = s.trim();
    let t = t.split(['T', ' ']).next().unwrap_or(t);
    let parts: Vec<&str> = t.split(['.', '-', '/']).filter(|p| !p.is_empty()).collect();
    if parts.len() != 3 {
        return None;
    }
    let (y, m, d) = if parts[0].len() == 4 {
        (parts[0], parts[1], parts[2])
    } else if parts[2].len() == 4 {
        (parts[2], parts[1], parts[0])
    } else {
        return None;
    };
    let (y, m, d) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    ((1800..=2200).contains(&y) && (1..=12).contains(&m) && (1..=31).contains(&d))
        .then_some((y, m, d))
}

/// A year cell: `2014`, or a date whose year is taken.
pub fn parse_year(s: &str) -> Option<i32> {
    let t = s.trim();
    match t.parse::<i32>() {
        Ok(y) if (1800..=2200).contains(&y) => Some(y),
        Ok(_) => None,
        Err(_) => parse_date(t).map(|(y, _, _)| y),
    }
}

/// One token of a wide header pattern.
#[derive(Debug, Clone, PartialEq)]
#[doc(hidden)] // public for tests/it/units
pub enum Tok {
    Lit(String),
    Year,
    Column,
}

#[doc(hidden)] // public for tests/it/units
pub fn tokens(pattern: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut rest = pattern;
    while !rest.is_empty() {
        let y = rest.find("{year}");
        let c = rest.find("{column}");
        let next = match (y, c) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match next {
            None => {
                out.push(Tok::Lit(rest.to_string()));
                break;
            }
            Some(i) => {
                if i > 0 {
                    out.push(Tok::Lit(rest[..i].to_string()));
                }
                if rest[i..].starts_with("{year}") {
                    out.push(Tok::Year);
                    rest = &rest[i + 6..];
                } else {
                    out.push(Tok::Column);
                    rest = &rest[i + 8..];
                }
            }
        }
    }
    out
}

/// Matches a header against a wide pattern: (column part, year).
#[doc(hidden)] // public for tests/it/units
pub fn match_header(toks: &[Tok], h: &str) -> Option<(String, i32)> {
    fn go(toks: &[Tok], h: &str, col: &mut Option<String>, year: &mut Option<i32>) -> bool {
        let Some((first, rest)) = toks.split_first() else {
            return h.is_empty();
        };
        match first {
            Tok::Lit(l) => h
                .strip_prefix(l.as_str())
                .is_some_and(|r| go(rest, r, col, year)),
            Tok::Year => {
                let digits: String = h.chars().take(4).collect();
                if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()) {
                    *year = digits.parse().ok();
                    go(rest, &h[4..], col, year)
                } else {
                    false
                }
            }
            Tok::Column => {
                // Shortest column part first: `{column}_{year}` splits `kinder_u15_2014` as
                // `kinder_u15` + `2014` because the year must follow the last `_`.
                for (i, _) in h.char_indices().skip(1).chain([(h.len(), ' ')]) {
                    if go(rest, &h[i..], col, year) {
                        *col = Some(h[..i].trim().to_string());
                        return true;
                    }
                }
                false
            }
        }
    }
    let (mut col, mut year) = (None, None);
    go(toks, h.trim(), &mut col, &mut year).then(|| (col.unwrap_or_default(), year.unwrap_or(0)))
}

/// Names normalised for matching: lower case, spaces collapsed.
pub fn normalize_name(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Reads a mapping file: key in the table → area id (first two columns, header row).
fn read_mapping(
    path: &str,
    level: Option<&Level>,
    diags: &mut Vec<Diagnostic>,
) -> Result<HashMap<String, String>, LoadError> {
    let csv = CsvTable::open(Path::new(path), &Default::default())?;
    if csv.headers.len() < 2 {
        return Err(LoadError::Format {
            path: path.into(),
            message: format!(
                "a mapping file needs two columns (key in the table; area id), found {:?}",
                csv.headers
            ),
        });
    }
    let ids: Option<std::collections::HashSet<&str>> =
        level.map(|l| l.areas.iter().map(|a| a.id.as_str()).collect());
    let mut out = HashMap::new();
    for (line, r) in csv.rows(diags)? {
        let (k, id) = (r[0].trim(), r[1].trim());
        if k.is_empty() || id.is_empty() {
            diags.push(csv.diag(
                line,
                &csv.headers[0],
                k,
                "empty key or id; the row is skipped",
            ));
            continue;
        }
        if ids.as_ref().is_some_and(|ids| !ids.contains(id)) {
            diags.push(csv.diag(
                line,
                &csv.headers[1],
                id,
                format!("maps {k:?} to {id:?}, which is no area of the level"),
            ));
            continue;
        }
        if out.insert(k.to_string(), id.to_string()).is_some() {
            diags.push(csv.diag(
                line,
                &csv.headers[0],
                k,
                "key mapped twice; the later row wins",
            ));
        }
    }
    Ok(out)
}

/// Loads one `[[table]]` entry. `level` (the table's level, if loaded) resolves names and
/// lists keys that match no area.
pub fn load_table(
    t: &TableSource,
    level: Option<&Level>,
    diags: &mut Vec<Diagnostic>,
) -> Result<(AreaTable, TableInfo), LoadError> {
    let csv = CsvTable::open(Path::new(&t.source), &t.csv)?;
    load_table_from(t, &csv, level, diags)
}

/// As [`load_table`], from a decoded CSV.
pub fn load_table_from(
    t: &TableSource,
    csv: &CsvTable,
    level: Option<&Level>,
    diags: &mut Vec<Diagnostic>,
) -> Result<(AreaTable, TableInfo), LoadError> {
    let fmt_err = |message: String| LoadError::Format {
        path: t.source.clone().into(),
        message: format!("table {:?}: {message}", t.name),
    };
    let keyc = csv.column(&t.id_field)?;
    let rows = csv.rows(diags)?;
    let mut info = TableInfo {
        name: t.name.clone(),
        level: t.level.clone(),
        source: t.source.clone(),
        rows_read: rows.len(),
        ..Default::default()
    };
    // How rows give their year.
    let years = if let Some(y) = t.year {
        Years::Fixed(y)
    } else if let Some(f) = &t.year_field {
        Years::Column(csv.column(f)?)
    } else if let Some(f) = &t.date_field {
        let st = parse_stichtag(t.stichtag.as_deref().unwrap_or("12-31")).map_err(fmt_err)?;
        info.stichtag = Some(format!("{:02}.{:02}.", st.1, st.0));
        Years::Date(csv.column(f)?, st)
    } else if t.wide.is_some() {
        Years::PerColumn
    } else {
        return Err(fmt_err(
            "give the year: `year = 2024` (one year), `year_field` or `date_field` (long), or `wide = \"{year}\"` (a column per year)".into(),
        ));
    };
    // Output columns and where their values come from.
    let mut names: Vec<String> = Vec::new();
    let mut sources: Vec<Source> = Vec::new();
    let mut variable: Option<(usize, usize, HashMap<String, usize>)> = None;
    let renamed = |file_name: &str| -> Option<String> {
        if t.columns.is_empty() {
            Some(file_name.to_string())
        } else {
            t.columns
                .0
                .iter()
                .find(|(_, old)| old == file_name)
                .map(|(new, _)| new.clone())
        }
    };
    let out_index = |names: &mut Vec<String>, n: String| -> usize {
        match names.iter().position(|x| *x == n) {
            Some(i) => i,
            None => {
                names.push(n);
                names.len() - 1
            }
        }
    };
    let skip_cols: Vec<usize> = [Some(keyc)]
        .into_iter()
        .chain(
            [
                &t.year_field,
                &t.date_field,
                &t.variable_field,
                &t.value_field,
            ]
            .into_iter()
            .map(|f| f.as_ref().and_then(|f| csv.column(f).ok())),
        )
        .flatten()
        .collect();
    if let (Some(vf), Some(valf)) = (&t.variable_field, &t.value_field) {
        let (vc, valc) = (csv.column(vf)?, csv.column(valf)?);
        let mut map = HashMap::new();
        if t.columns.is_empty() {
            for (_, r) in &rows {
                let v = r[vc].trim();
                if !v.is_empty() && !map.contains_key(v) {
                    let i = out_index(&mut names, v.to_string());
                    map.insert(v.to_string(), i);
                }
            }
        } else {
            for (new, old) in &t.columns.0 {
                let i = out_index(&mut names, new.clone());
                map.insert(old.clone(), i);
            }
        }
        variable = Some((vc, valc, map));
    } else if let Some(pattern) = &t.wide {
        let toks = tokens(pattern);
        let has_column = toks.contains(&Tok::Column);
        if !toks.contains(&Tok::Year) {
            return Err(fmt_err(format!("wide = {pattern:?} has no {{year}}")));
        }
        if !has_column && t.columns.0.len() != 1 {
            return Err(fmt_err(format!(
                "wide = {pattern:?} has no {{column}}: name the one value with `columns = [\"residents\"]`"
            )));
        }
        for (c, h) in csv.headers.iter().enumerate() {
            if skip_cols.contains(&c) {
                continue;
            }
            let Some((part, year)) = match_header(&toks, h) else {
                continue;
            };
            let name = if has_column {
                renamed(&part)
            } else {
                Some(t.columns.0[0].0.clone())
            };
            if let Some(n) = name {
                let out = out_index(&mut names, n);
                sources.push(Source {
                    col: c,
                    out,
                    year: Some(year),
                });
            }
        }
        if sources.is_empty() {
            return Err(fmt_err(format!(
                "no column header matches wide = {pattern:?} (headers: {})",
                csv.headers.join(", ")
            )));
        }
    } else if t.columns.is_empty() {
        // Every column that holds numbers (or markers), at least one number.
        for (c, h) in csv.headers.iter().enumerate() {
            if skip_cols.contains(&c) {
                continue;
            }
            let mut numbers = 0;
            let all = rows.iter().all(|(_, r)| match csv.cell(&r[c], &t.missing) {
                Cell::Number(_) => {
                    numbers += 1;
                    true
                }
                Cell::Empty | Cell::Marker(_) => true,
                Cell::NotANumber => false,
            });
            if all && numbers > 0 {
                let out = out_index(&mut names, h.clone());
                sources.push(Source {
                    col: c,
                    out,
                    year: None,
                });
            }
        }
    } else {
        for (new, old) in &t.columns.0 {
            let c = csv.column(old)?;
            let out = out_index(&mut names, new.clone());
            sources.push(Source {
                col: c,
                out,
                year: None,
            });
        }
    }
    for c in &t.counts {
        if !names.contains(c) {
            return Err(fmt_err(format!(
                "`counts` names {c:?}, which the table does not have (columns: {})",
                names.join(", ")
            )));
        }
    }
    for (c, w) in &t.weights {
        if !names.contains(c) {
            return Err(fmt_err(format!(
                "`weights` names {c:?}, which the table does not have (columns: {})",
                names.join(", ")
            )));
        }
        if t.counts.contains(c) {
            return Err(fmt_err(format!(
                "`weights`: {c:?} is a count; only rates need a weight (counts are summed)"
            )));
        }
        if w.is_empty() {
            return Err(fmt_err(format!("`weights`: empty weight column for {c:?}")));
        }
    }
    let is_count: Vec<bool> = names.iter().map(|n| t.counts.contains(n)).collect();

    // Keys → area ids.
    let mapping = match &t.mapping {
        Some(m) => read_mapping(m, level, diags)?,
        None => HashMap::new(),
    };
    let area_ids: Option<std::collections::HashSet<&str>> =
        level.map(|l| l.areas.iter().map(|a| a.id.as_str()).collect());
    let by_name: HashMap<String, Vec<&str>> = match (t.match_by, level) {
        (MatchBy::Name, Some(l)) => {
            let mut m: HashMap<String, Vec<&str>> = HashMap::new();
            for a in &l.areas {
                m.entry(normalize_name(&a.name)).or_default().push(&a.id);
            }
            m
        }
        _ => HashMap::new(),
    };

    // Rows.
    let mut ids: Vec<String> = Vec::new();
    let mut row_years: Vec<i32> = Vec::new();
    let mut values: Vec<Vec<Option<f64>>> = vec![Vec::new(); names.len()];
    let mut marks: Vec<Vec<Option<String>>> = vec![Vec::new(); names.len()];
    // First line of each (row, column) cell, 0 = unset.
    let mut cell_line: Vec<Vec<u32>> = vec![Vec::new(); names.len()];
    let mut row_of: HashMap<(String, i32), usize> = HashMap::new();
    let mut row_line: Vec<usize> = Vec::new();
    let mut markers: BTreeMap<String, usize> = BTreeMap::new();
    let mut unmatched: Vec<(String, usize)> = Vec::new();
    let mut resolved: HashMap<String, Option<String>> = HashMap::new();
    let mut wide_seen: HashMap<String, usize> = HashMap::new();
    for (line, r) in &rows {
        let line = *line;
        let key = r[keyc].trim();
        if key.is_empty() {
            diags.push(csv.diag(line, &t.id_field, "", "empty key; the row is skipped"));
            continue;
        }
        // The area id of the key (cached per key).
        let id = match resolved.get(key) {
            Some(id) => id.clone(),
            None => {
                let id = if let Some(id) = mapping.get(key) {
                    info.mapped += 1;
                    Some(id.clone())
                } else if t.match_by == MatchBy::Name {
                    match by_name.get(&normalize_name(key)).map(Vec::as_slice) {
                        Some([one]) => {
                            info.matched_by_name += 1;
                            Some(one.to_string())
                        }
                        Some(many) if many.len() > 1 => {
                            diags.push(csv.diag(
                                line,
                                &t.id_field,
                                key,
                                format!(
                                    "the name matches {} areas (ids {}); map it to one id in a mapping file (`mapping = \"…csv\"`)",
                                    many.len(),
                                    many.join(", ")
                                ),
                            ));
                            None
                        }
                        _ => Some(key.to_string()),
                    }
                } else {
                    Some(key.to_string())
                };
                resolved.insert(key.to_string(), id.clone());
                id
            }
        };
        let Some(id) = id else { continue };
        if area_ids.as_ref().is_some_and(|a| !a.contains(id.as_str()))
            && !unmatched.iter().any(|(k, _)| k == key)
        {
            unmatched.push((key.to_string(), line));
        }
        // (year, values) pairs this row gives.
        let row_year = match &years {
            Years::Fixed(y) => Some(*y),
            Years::Column(c) => match parse_year(&r[*c]) {
                Some(y) => Some(y),
                None => {
                    diags.push(csv.diag(
                        line,
                        t.year_field.as_deref().unwrap_or(""),
                        &r[*c],
                        "not a year; the row is skipped",
                    ));
                    continue;
                }
            },
            Years::Date(c, (m, d)) => match parse_date(&r[*c]) {
                Some((y, mm, dd)) if (mm, dd) == (*m, *d) => Some(y),
                Some(_) => {
                    info.other_stichtag += 1;
                    continue;
                }
                None => {
                    diags.push(csv.diag(
                        line,
                        t.date_field.as_deref().unwrap_or(""),
                        &r[*c],
                        "not a date (31.12.2024 or 2024-12-31); the row is skipped",
                    ));
                    continue;
                }
            },
            Years::PerColumn => None,
        };
        // The values of this row: (output column, year, raw text, csv column name).
        let mut cells: Vec<(usize, i32, &str, &str)> = Vec::new();
        if let Some((vc, valc, map)) = &variable {
            match map.get(r[*vc].trim()) {
                Some(&out) => cells.push((
                    out,
                    row_year.unwrap_or_default(),
                    r[*valc].as_str(),
                    csv.headers[*valc].as_str(),
                )),
                None => {
                    info.other_variables += 1;
                    continue;
                }
            }
        } else {
            for s in &sources {
                cells.push((
                    s.out,
                    s.year.or(row_year).unwrap_or_default(),
                    r[s.col].as_str(),
                    csv.headers[s.col].as_str(),
                ));
            }
        }
        // One long row is one record: a second row for the same area and year is a duplicate.
        let whole_row = variable.is_none() && !matches!(years, Years::PerColumn);
        if whole_row
            && let Some(y) = row_year
            && let Some(&first) = row_of.get(&(id.clone(), y))
        {
            diags.push(csv.diag(
                line,
                &t.id_field,
                key,
                format!(
                    "a second row for {id} in {y} (first at line {}); the row is skipped",
                    row_line[first]
                ),
            ));
            continue;
        }
        if matches!(years, Years::PerColumn) {
            if let Some(first) = wide_seen.get(&id) {
                diags.push(csv.diag(
                    line,
                    &t.id_field,
                    key,
                    format!("a second row for {id} (first at line {first}); the row is skipped"),
                ));
                continue;
            }
            wide_seen.insert(id.clone(), line);
        }
        info.rows_used += 1;
        for (out, year, raw, field) in cells {
            let row = *row_of.entry((id.clone(), year)).or_insert_with(|| {
                ids.push(id.clone());
                row_years.push(year);
                row_line.push(line);
                for k in 0..names.len() {
                    values[k].push(None);
                    marks[k].push(None);
                    cell_line[k].push(0);
                }
                ids.len() - 1
            });
            if cell_line[out][row] != 0 {
                diags.push(csv.diag(
                    line,
                    field,
                    raw,
                    format!(
                        "{} for {id} in {year} is given twice (first at line {}); this value is not used",
                        names[out], cell_line[out][row]
                    ),
                ));
                continue;
            }
            cell_line[out][row] = line as u32;
            match csv.cell(raw, &t.missing) {
                Cell::Empty => {}
                Cell::Marker(m) => {
                    *markers.entry(m.clone()).or_default() += 1;
                    marks[out][row] = Some(m);
                }
                Cell::Number(x) => {
                    if is_count[out] && (x < 0.0 || x.fract() != 0.0) {
                        let hint = if x.fract() != 0.0 && raw.contains('.') && !raw.contains(',') {
                            " (if the point separates thousands, set csv = { thousands = \".\" })"
                        } else {
                            ""
                        };
                        diags.push(csv.diag(
                            line,
                            field,
                            raw,
                            format!(
                                "{}: {} is a count and needs a whole number ≥ 0{hint}; left empty",
                                id, names[out]
                            ),
                        ));
                    } else {
                        values[out][row] = Some(x);
                    }
                }
                Cell::NotANumber => diags.push(csv.diag(
                    line,
                    field,
                    raw,
                    format!(
                        "{id}: not a number (markers such as . - x / * are read as \"no value\"; other text is not); left empty"
                    ),
                )),
            }
        }
    }
    let mut yrs = row_years.clone();
    yrs.sort_unstable();
    yrs.dedup();
    info.years = yrs;
    info.columns = names.clone();
    info.counts = names
        .iter()
        .filter(|n| t.counts.contains(n))
        .cloned()
        .collect();
    info.markers = markers
        .into_iter()
        .map(|(m, n)| {
            let meaning = crate::table::marker_meaning(&m).to_string();
            (m, meaning, n)
        })
        .collect();
    info.unmatched = unmatched;
    info.row_lines = row_line;
    let columns = names
        .into_iter()
        .zip(values)
        .zip(marks)
        .enumerate()
        .map(|(k, ((name, values), marks))| TableColumn {
            weight: t.weights.get(&name).cloned(),
            count: is_count[k],
            name,
            values,
            marks,
        })
        .collect();
    Ok((
        AreaTable {
            name: t.name.clone(),
            level: t.level.clone(),
            ids,
            years: row_years,
            columns,
        },
        info,
    ))
}

/// One `[[table]]` entry as loaded: the table, its file, the file's line of each row.
pub type TablePart = (AreaTable, String, Vec<usize>);

/// Joins the tables of several `[[table]]` entries with one name (e.g. one file per year)
/// into one: rows appended, columns by name (a column missing in one file is empty there). A
/// second row for an area and year is reported with both files.
pub fn merge(
    parts: Vec<(AreaTable, String, Vec<usize>)>,
    diags: &mut Vec<Diagnostic>,
) -> AreaTable {
    let mut it = parts.into_iter();
    let Some((mut out, first_source, _)) = it.next() else {
        return AreaTable::default();
    };
    let mut seen: HashMap<(String, i32), String> = out
        .ids
        .iter()
        .zip(&out.years)
        .map(|(i, y)| ((i.clone(), *y), first_source.clone()))
        .collect();
    for (t, source, lines) in it {
        for c in &t.columns {
            if out.column(&c.name).is_none() {
                out.columns.push(TableColumn {
                    name: c.name.clone(),
                    count: c.count,
                    weight: c.weight.clone(),
                    values: vec![None; out.ids.len()],
                    marks: vec![None; out.ids.len()],
                });
            }
        }
        for r in 0..t.ids.len() {
            let k = (t.ids[r].clone(), t.years[r]);
            if let Some(prev) = seen.get(&k) {
                diags.push(Diagnostic {
                    path: source.clone(),
                    row: lines.get(r).copied().unwrap_or(0),
                    field: String::new(),
                    value: k.0.clone(),
                    message: format!(
                        "{} in {} is also in {prev} (table {:?}); this file's row is not used",
                        k.0, k.1, out.name
                    ),
                });
                continue;
            }
            seen.insert(k, source.clone());
            out.ids.push(t.ids[r].clone());
            out.years.push(t.years[r]);
            for col in &mut out.columns {
                let src = t.column(&col.name);
                col.values.push(src.and_then(|c| c.values[r]));
                col.marks.push(src.and_then(|c| c.marks[r].clone()));
            }
        }
    }
    out
}
