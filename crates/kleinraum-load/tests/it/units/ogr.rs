use kleinraum_load::ogr::*;

#[test]
fn passwords_are_masked_in_every_form() {
    assert_eq!(
        mask_password("PG:host=db dbname=k user=u password=s3cret port=5432"),
        "PG:host=db dbname=k user=u password=*** port=5432"
    );
    assert_eq!(
        mask_password("PG:host=db password='a b\\'c' dbname=k"),
        "PG:host=db password='***' dbname=k"
    );
    assert_eq!(
        mask_password("PG:PASSWORD = x1 host=db"),
        "PG:PASSWORD = *** host=db"
    );
    assert_eq!(
        mask_password("PG:postgresql://u:pw@db/k"),
        "PG:postgresql://u:***@db/k"
    );
    assert_eq!(mask_password("/data/plr.gpkg"), "/data/plr.gpkg");
    assert_eq!(
        scrub("PG:password=hunter2", "connect failed for password=hunter2"),
        "connect failed for password=***"
    );
}
