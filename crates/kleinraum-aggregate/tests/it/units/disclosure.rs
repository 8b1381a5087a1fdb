use kleinraum_aggregate::disclosure::*;
use kleinraum_aggregate::result::CountFlag;

fn layout(n_years: usize, n_cols: usize) -> CellLayout {
    CellLayout {
        n_years,
        n_cols,
        has_data: vec![true; n_years * n_cols],
    }
}

#[test]
fn zero_is_published_and_small_counts_suppressed() {
    let values = [0u64, 1, 2, 3];
    let parent = [None; 4];
    let lv = [LevelCells {
        values: &values,
        parent: &parent,
    }];
    let f = suppress(&lv, &layout(1, 1), &[], 3, &[]);
    assert_eq!(
        f[0],
        vec![
            CountFlag::Published,
            CountFlag::Suppressed,
            CountFlag::Suppressed,
            CountFlag::Published
        ]
    );
}

#[test]
fn hierarchy_leak_closed_by_smallest_sibling() {
    // Children 2, 10, 7 under one parent of 19: primary suppression alone hides only the
    // 2, which would be 19 − 10 − 7.
    let child = [2u64, 10, 7];
    let cparent = [Some(0), Some(0), Some(0)];
    let total = [19u64];
    let tparent = [None];
    let lv = [
        LevelCells {
            values: &child,
            parent: &cparent,
        },
        LevelCells {
            values: &total,
            parent: &tparent,
        },
    ];
    let lay = layout(1, 1);
    let f = suppress(&lv, &lay, &[], 3, &[]);
    assert_eq!(f[0][0], CountFlag::Suppressed);
    assert_eq!(f[0][2], CountFlag::SecondarySuppressed, "7 is the smallest");
    assert_eq!(f[0][1], CountFlag::Published);
    assert_eq!(f[1][0], CountFlag::Published);
    assert!(leaking_relations(&relations(&lv, &lay, &[]), &f).is_empty());
}

#[test]
fn no_data_cells_take_no_part() {
    let values = [1u64, 5];
    let parent = [None];
    let lv = [LevelCells {
        values: &values,
        parent: &parent,
    }];
    let lay = CellLayout {
        n_years: 1,
        n_cols: 2,
        has_data: vec![false, true],
    };
    let f = suppress(&lv, &lay, &[], 3, &[]);
    assert_eq!(f[0], vec![CountFlag::NoData, CountFlag::Published]);
}
