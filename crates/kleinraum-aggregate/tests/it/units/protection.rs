use kleinraum_aggregate::disclosure::{CellLayout, LevelCells};
use kleinraum_aggregate::disclosure::{ColumnRelation, relations, suppress};
use kleinraum_aggregate::protection::*;
use kleinraum_aggregate::result::CountFlag;

fn layout(n_cols: usize) -> CellLayout {
    CellLayout {
        n_years: 1,
        n_cols,
        has_data: vec![true; n_cols],
    }
}

/// The pattern of the demo's Sozialraum 0305 (2024): two ones under a published total,
/// `5 = 1 + 1 + 3`. The relation rule is satisfied (two suppressed cells), but the
/// attacker's interval for each one is [0, 2]: it reveals "1 or 2 or 0". Protection
/// suppresses the 3 as well, and the interval becomes [0, 5].
#[test]
fn two_ones_under_a_published_total_get_widened() {
    let values = [5u64, 1, 1, 3];
    let parent = [None];
    let lv = [LevelCells {
        values: &values,
        parent: &parent,
    }];
    let lay = layout(4);
    let additive = [ColumnRelation {
        total: 0,
        parts: vec![1, 2, 3],
    }];
    let mut flags = suppress(&lv, &lay, &additive, 3, &[]);
    assert_eq!(
        flags[0][3],
        CountFlag::Published,
        "the relation rule is content"
    );
    let rels = relations(&lv, &lay, &additive);
    let cons = Constraints::new(&lv, &lay, &rels, &[]);
    let before = cons.interval((0, 1), &flags);
    assert!(
        (before.1 - 2.0).abs() < 1e-6 && !protects(before, 3),
        "{before:?}"
    );
    let report = protect(&cons, &mut flags, 3);
    assert!(report.unprotected.is_empty(), "{report:?}");
    assert_eq!(report.added, 1);
    assert_eq!(flags[0][3], CountFlag::SecondarySuppressed);
    for c in [(0, 1), (0, 2)] {
        let iv = cons.interval(c, &flags);
        assert!(protects(iv, 3), "{c:?}: {iv:?}");
    }
}

#[test]
fn an_exactly_determined_cell_has_a_point_interval() {
    // total 10 published, parts 1 (suppressed) and 9 (published): the relation gives 1.
    let values = [10u64, 1, 9];
    let parent = [None];
    let lv = [LevelCells {
        values: &values,
        parent: &parent,
    }];
    let lay = layout(3);
    let additive = [ColumnRelation {
        total: 0,
        parts: vec![1, 2],
    }];
    let rels = relations(&lv, &lay, &additive);
    let flags = vec![vec![
        CountFlag::Published,
        CountFlag::Suppressed,
        CountFlag::Published,
    ]];
    let cons = Constraints::new(&lv, &lay, &rels, &[]);
    let (lo, hi) = cons.interval((0, 1), &flags);
    assert!(
        (lo - 1.0).abs() < 1e-6 && (hi - 1.0).abs() < 1e-6,
        "{lo} {hi}"
    );
}

#[test]
fn bounds_part_of_whole_narrow_intervals() {
    // whole = 5 published, part 1 suppressed; part ≤ whole bounds it by 5.
    let values = [1u64, 5];
    let parent = [None];
    let lv = [LevelCells {
        values: &values,
        parent: &parent,
    }];
    let lay = layout(2);
    let flags = vec![vec![CountFlag::Suppressed, CountFlag::Published]];
    let cons = Constraints::new(&lv, &lay, &[], &[ColumnBound { part: 0, whole: 1 }]);
    let (lo, hi) = cons.interval((0, 0), &flags);
    assert_eq!((lo, hi), (0.0, 5.0));
}
