//! The workspace's shape: rules about files that no compiler checks.

use std::path::Path;

/// A library with `test = false` (no unit-test copy: it compiles once, its internals' tests
/// live in `tests/it/units`) must not hide `#[cfg(test)]` code: it would never be compiled
/// or run.
#[test]
fn libraries_without_a_unit_test_target_have_no_unit_tests() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates");
    let mut checked = 0;
    for entry in std::fs::read_dir(&crates).unwrap() {
        let dir = entry.unwrap().path();
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        // `test = false` in the `[lib]` table (up to the next table).
        let lib = manifest.split("\n[").find(|t| t.starts_with("lib]"));
        if !lib.is_some_and(|t| t.lines().any(|l| l.trim() == "test = false")) {
            continue;
        }
        checked += 1;
        let mut stack = vec![dir.join("src")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    assert!(
                        !text.contains("#[cfg(test)]") && !text.contains("#[test]"),
                        "{} has unit tests, but its crate's [lib] says test = false: move them \
                         to the crate's tests/it/units",
                        p.display()
                    );
                }
            }
        }
    }
    assert!(checked >= 5, "only {checked} libraries with test = false");
}
