use kleinraum_load::blocks::*;

#[test]
fn record_end_skips_newlines_in_quotes() {
    use RecordEnd::*;
    assert_eq!(record_end(b"a,b\nc,d\ne", b','), At(8));
    assert_eq!(record_end(b"a,\"x\ny\"\nc,\"p\nq", b','), At(8));
    assert_eq!(record_end(b"a,\"x\"\"\n\"\"y\"\nb", b','), At(12));
    assert_eq!(record_end(b"a,\"x\ny", b','), NotYet);
    assert_eq!(record_end(b"abc", b','), NotYet);
    // A quote in an unquoted field, or text after a closing quote.
    assert_eq!(record_end(b"a\"b,c\n\"x\ny\",d\n", b','), Irregular);
    assert_eq!(record_end(b"\"a\"b,c\n", b','), Irregular);
    assert_eq!(record_end(b"a;\"b;c\"\r\nd\n", b';'), At(11));
}
