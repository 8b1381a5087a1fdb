//! The coordinate reference systems the server offers (OGC API – Features Part 2).

/// An output CRS. Geometries are pre-rendered once for each of these at startup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputCrs {
    /// WGS 84 longitude/latitude (the GeoJSON default).
    Crs84,
    /// WGS 84 with the EPSG axis order latitude/longitude.
    Epsg4326,
    /// ETRS89 / UTM zone 32N, metres.
    Epsg25832,
    /// ETRS89 / UTM zone 33N, metres.
    Epsg25833,
}

impl OutputCrs {
    /// Every supported CRS, in the order listed in collection documents.
    pub const ALL: [OutputCrs; 4] = [
        OutputCrs::Crs84,
        OutputCrs::Epsg4326,
        OutputCrs::Epsg25832,
        OutputCrs::Epsg25833,
    ];

    /// Index into per-CRS arrays.
    pub fn index(self) -> usize {
        match self {
            OutputCrs::Crs84 => 0,
            OutputCrs::Epsg4326 => 1,
            OutputCrs::Epsg25832 => 2,
            OutputCrs::Epsg25833 => 3,
        }
    }

    /// The OGC URI.
    pub fn uri(self) -> &'static str {
        match self {
            OutputCrs::Crs84 => "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            OutputCrs::Epsg4326 => "http://www.opengis.net/def/crs/EPSG/0/4326",
            OutputCrs::Epsg25832 => "http://www.opengis.net/def/crs/EPSG/0/25832",
            OutputCrs::Epsg25833 => "http://www.opengis.net/def/crs/EPSG/0/25833",
        }
    }

    /// The EPSG code a reprojector has to target (CRS84 and EPSG:4326 share 4326; the axis
    /// swap for EPSG:4326 is done by the renderer).
    pub fn epsg(self) -> u32 {
        match self {
            OutputCrs::Crs84 | OutputCrs::Epsg4326 => 4326,
            OutputCrs::Epsg25832 => 25832,
            OutputCrs::Epsg25833 => 25833,
        }
    }

    /// True for geographic CRSs (coordinates in degrees).
    pub fn is_geographic(self) -> bool {
        matches!(self, OutputCrs::Crs84 | OutputCrs::Epsg4326)
    }

    /// Decimal places written: 7 for degrees (~1 cm), 2 for metres.
    pub fn decimals(self) -> i32 {
        if self.is_geographic() { 7 } else { 2 }
    }

    /// The CRS with this EPSG code as working CRS, if offered.
    pub fn from_working_epsg(epsg: u32) -> Option<OutputCrs> {
        match epsg {
            25832 => Some(OutputCrs::Epsg25832),
            25833 => Some(OutputCrs::Epsg25833),
            4326 => Some(OutputCrs::Crs84),
            _ => None,
        }
    }

    /// Parses a CRS URI (also the short forms `EPSG:25833`, `CRS84`, `[EPSG:25833]`).
    pub fn parse(s: &str) -> Option<OutputCrs> {
        let t = s.trim().trim_start_matches('[').trim_end_matches(']');
        let t = t.trim_start_matches('<').trim_end_matches('>');
        let lower = t.to_ascii_lowercase();
        let lower = lower
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        match lower {
            "www.opengis.net/def/crs/ogc/1.3/crs84" | "crs84" | "ogc:crs84" => {
                Some(OutputCrs::Crs84)
            }
            "www.opengis.net/def/crs/epsg/0/4326" | "epsg:4326" => Some(OutputCrs::Epsg4326),
            "www.opengis.net/def/crs/epsg/0/25832" | "epsg:25832" => Some(OutputCrs::Epsg25832),
            "www.opengis.net/def/crs/epsg/0/25833" | "epsg:25833" => Some(OutputCrs::Epsg25833),
            _ => None,
        }
    }
}
