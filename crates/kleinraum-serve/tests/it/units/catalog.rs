use kleinraum_serve::catalog::*;

#[test]
fn integer_coordinates_print_as_the_general_path() {
    // Coordinates of every magnitude the API writes (metres, degrees, tiny and huge
    // values, signs, exact halves), at every precision: byte for byte the text of
    // `push_num(round_to(v, d))`.
    let mut rng = kleinraum_testdata::synthetic::Rng(0x9E37_79B9_7F4A_7C15);
    let mut next = || rng.next_u64();
    let mut values = vec![
        0.0,
        -0.0,
        0.5,
        -0.5,
        1.0,
        -1.0,
        0.004,
        -0.004,
        0.005,
        1e-9,
        123.456,
        1e14,
        9.99e14,
        1e15,
        1e16,
        -1e17,
        1e300,
        f64::NAN,
        f64::INFINITY,
        5_825_003.215,
        13.404_953_9,
    ];
    for _ in 0..20_000 {
        let r = next();
        let mag = 10f64.powi((r % 17) as i32 - 6);
        let unit = (next() >> 11) as f64 / (1u64 << 53) as f64;
        values.push(if r & 1 == 1 { -unit * mag } else { unit * mag });
    }
    for d in 0..=15 {
        for &v in &values {
            let (mut fast, mut general) = (String::new(), String::new());
            push_rounded(&mut fast, v, d);
            push_num(&mut general, round_to(v, d));
            assert_eq!(fast, general, "value {v:e}, {d} decimals");
        }
    }
}
