//! Secondary suppression closes leaks by subtraction, in the hierarchy and in age groups.

use kleinraum_aggregate::disclosure::{
    CellLayout, ColumnRelation, LevelCells, leaking_relations, relations, suppress,
};
use kleinraum_aggregate::result::CountFlag;

fn is_supp(f: CountFlag) -> bool {
    matches!(f, CountFlag::Suppressed | CountFlag::SecondarySuppressed)
}

/// Two areas under one parent (and the parent under a whole-city cell). Columns: 0 residents,
/// 1 age < 18, 2 age ≥ 18. Area 0: 40 = 2 + 38 (the 2 leaks as 40 − 38); area 1 column 1 = 9,
/// so the parent's age < 18 = 11 and area 0's 2 also leaks as 11 − 9 in the hierarchy.
#[test]
fn naive_suppression_leaks_and_secondary_suppression_closes_it() {
    let lay = CellLayout {
        n_years: 1,
        n_cols: 3,
        has_data: vec![true; 3],
    };
    let sr = [40u64, 2, 38, 60, 9, 51];
    let sr_parent = [Some(0), Some(0)];
    let bez = [100u64, 11, 89];
    let bez_parent = [Some(0)];
    let city = bez;
    let city_parent = [None];
    let levels = [
        LevelCells {
            values: &sr,
            parent: &sr_parent,
        },
        LevelCells {
            values: &bez,
            parent: &bez_parent,
        },
        LevelCells {
            values: &city,
            parent: &city_parent,
        },
    ];
    let additive = [ColumnRelation {
        total: 0,
        parts: vec![1, 2],
    }];
    let rels = relations(&levels, &lay, &additive);

    // Naive: primary suppression only.
    let naive: Vec<Vec<CountFlag>> = levels
        .iter()
        .map(|l| {
            l.values
                .iter()
                .map(|&v| {
                    if (1..3).contains(&v) {
                        CountFlag::Suppressed
                    } else {
                        CountFlag::Published
                    }
                })
                .collect()
        })
        .collect();
    let leaks = leaking_relations(&rels, &naive);
    assert!(
        leaks.len() >= 2,
        "the age relation of area 0 and the hierarchy of column 1 leak"
    );
    for rel in &leaks {
        // The suppressed cell is recoverable as total − Σ published parts.
        let val = |&(l, c): &(usize, usize)| levels[l].values[c];
        let (sl, sc) = *rel.iter().find(|&&(l, c)| is_supp(naive[l][c])).unwrap();
        let recovered = if rel[0] == (sl, sc) {
            rel[1..].iter().map(val).sum::<u64>()
        } else {
            val(&rel[0])
                - rel[1..]
                    .iter()
                    .filter(|&&x| x != (sl, sc))
                    .map(val)
                    .sum::<u64>()
        };
        assert_eq!(recovered, levels[sl].values[sc]);
    }

    let flags = suppress(&levels, &lay, &additive, 3, &[]);
    assert!(
        leaking_relations(&rels, &flags).is_empty(),
        "no relation has exactly one suppressed cell"
    );
    assert_eq!(flags[0][1], CountFlag::Suppressed);
    // Age: the other part (38) is the only candidate; hierarchy: the sibling's 9.
    assert_eq!(flags[0][2], CountFlag::SecondarySuppressed);
    assert_eq!(flags[0][4], CountFlag::SecondarySuppressed);
    // …which in turn makes area 1's age relation need one more (51, its only published part).
    assert_eq!(flags[0][5], CountFlag::SecondarySuppressed);
    // Totals stay published.
    assert_eq!(flags[0][0], CountFlag::Published);
    assert_eq!(flags[1][1], CountFlag::Published);
    // Every relation: no cell recoverable as total − Σ published parts.
    for rel in &rels {
        let n = rel.iter().filter(|&&(l, c)| is_supp(flags[l][c])).count();
        assert_ne!(n, 1, "{rel:?}");
    }
}

#[test]
fn single_child_forces_the_parent() {
    let lay = CellLayout {
        n_years: 1,
        n_cols: 1,
        has_data: vec![true],
    };
    let child = [2u64, 7];
    let child_parent = [Some(0), Some(1)];
    let parent = [2u64, 7];
    let parent_parent = [Some(0), Some(0)];
    let top = [9u64];
    let top_parent = [None];
    let levels = [
        LevelCells {
            values: &child,
            parent: &child_parent,
        },
        LevelCells {
            values: &parent,
            parent: &parent_parent,
        },
        LevelCells {
            values: &top,
            parent: &top_parent,
        },
    ];
    let flags = suppress(&levels, &lay, &[], 3, &[]);
    // The parent equals its only child: it is suppressed by the primary rule as well (2), and
    // the other parent (7) must go so that 9 − 7 does not give it away; then its only child.
    assert!(is_supp(flags[1][0]) && is_supp(flags[1][1]) && is_supp(flags[0][1]));
    assert!(leaking_relations(&relations(&levels, &lay, &[]), &flags).is_empty());
}
