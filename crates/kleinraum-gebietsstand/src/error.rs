//! Why an operation on the Gebietsstände failed. Messages are written for planners (German:
//! they reach the map) and never contain address-level data.

use kleinraum_aggregate::simple::RingProblem;

/// A failed operation; each variant carries what the caller needs to name the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No version with this key (or not visible to the caller).
    #[error("Gebietsstand {key} nicht gefunden")]
    UnknownVersion {
        /// The key asked for.
        key: String,
    },
    /// No draft session with this id (sessions live in memory: a restart ends them).
    #[error("Entwurf {id} nicht gefunden (Server neu gestartet?)")]
    UnknownSession {
        /// The id asked for.
        id: String,
    },
    /// No area with this id in the draft.
    #[error("Gebiet {id} ist nicht im Entwurf")]
    UnknownArea {
        /// The id asked for.
        id: String,
    },
    /// A year without point counts.
    #[error("year={year}: keine Daten (Jahre: {})", years.iter().map(|y| y.to_string()).collect::<Vec<_>>().join(", "))]
    NoYear {
        /// The year asked for.
        year: i32,
        /// The years with data.
        years: Vec<i32>,
    },
    /// A definition without areas.
    #[error("der Gebietsstand hat keine Gebiete")]
    NoAreas,
    /// An area without geometry where one is needed.
    #[error("Gebiet {area}: keine Geometrie")]
    NoGeometry {
        /// The area.
        area: String,
    },
    /// The address points lack the count column that weights crosswalks and the guard.
    #[error(
        "the address points have no count column {column:?}: it weights the estimates for other Gebietsstände and the differencing guard (name the residents column so, or leave out [points] to weight by a [weights] grid or by area)"
    )]
    NoWeights {
        /// The column configured as residents.
        column: String,
    },
    /// A weighting that this workspace cannot use.
    #[error("Gewichtung {key:?} gibt es hier nicht (verfügbar: {})", available.join(", "))]
    UnknownWeighting {
        /// The key asked for.
        key: String,
        /// The keys available.
        available: Vec<String>,
    },
    /// A geometry sent for a draft operation cannot be used.
    #[error("{0}")]
    Geometry(#[from] GeometryError),
    /// A draft operation that does not make sense on these areas.
    #[error("{0}")]
    Edit(#[from] EditError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] kleinraum_store::StoreError),
    /// The engine refused the definition.
    #[error("Berechnung: {0}")]
    Engine(#[from] kleinraum_aggregate::aggregate::EngineError),
}

/// What is wrong with a geometry a client sent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GeometryError {
    /// A ring crosses or touches itself (position in WGS 84 when it could be computed).
    #[error("Die Fläche schneidet oder berührt sich selbst{}; bitte ohne Überkreuzung zeichnen.", at(.lat_lon))]
    SelfIntersection {
        /// Latitude and longitude of the crossing.
        lat_lon: Option<(f64, f64)>,
    },
    /// More vertices than a draft operation accepts.
    #[error("Die Fläche hat {count} Stützpunkte; höchstens {max} sind möglich.")]
    TooManyVertices {
        /// Vertices sent.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// The simplicity check ran out of its budget.
    #[error("Die Fläche ist zu verwinkelt, um sie zu prüfen; bitte vereinfachen.")]
    TooComplex,
    /// A coordinate outside longitude/latitude ranges.
    #[error("geometry: Punkt {point} ({lon}, {lat}) ist keine Länge/Breite (EPSG:4326 erwartet)")]
    NotLonLat {
        /// 1-based position of the vertex.
        point: usize,
        /// As sent.
        lon: f64,
        /// As sent.
        lat: f64,
    },
    /// The reprojection into the working CRS failed.
    #[error("geometry: Punkt {point}: {message}")]
    Reprojection {
        /// 1-based position of the vertex.
        point: usize,
        /// The projector's message.
        message: String,
    },
    /// A ring with fewer than four positions.
    #[error("geometry: ein Ring braucht mindestens 4 Punkte")]
    ShortRing,
    /// Neither Polygon nor MultiPolygon, or no polygon at all.
    #[error("geometry: Polygon oder MultiPolygon erwartet")]
    NotAPolygon,
}

fn at(lat_lon: &Option<(f64, f64)>) -> String {
    lat_lon.map_or_else(String::new, |(lat, lon)| {
        format!(" (bei {lat:.5} N, {lon:.5} O)")
    })
}

impl From<RingProblem> for GeometryError {
    fn from(p: RingProblem) -> Self {
        match p {
            RingProblem::SelfIntersection { .. } => {
                GeometryError::SelfIntersection { lat_lon: None }
            }
            RingProblem::TooManyVertices { count, max } => {
                GeometryError::TooManyVertices { count, max }
            }
            RingProblem::TooComplex(_) => GeometryError::TooComplex,
        }
    }
}

/// A draft operation that cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EditError {
    /// The split polygon does not divide the area.
    #[error(
        "Die gezeichnete Fläche muss das Gebiet {area} teilen (sie liegt ganz außerhalb oder deckt es ganz ab)."
    )]
    SplitMustDivide {
        /// The area to split.
        area: String,
    },
    /// A merge of fewer than two areas.
    #[error("Zum Zusammenlegen mindestens zwei Gebiete wählen.")]
    MergeNeedsTwo,
    /// A reshaped geometry without area.
    #[error("Gebiet {area}: die neue Geometrie hat keine Fläche.")]
    NoArea {
        /// The area.
        area: String,
    },
    /// A reshape that names no area.
    #[error("reshape: keine Geometrien angegeben")]
    NothingToReshape,
    /// An empty drawn geometry.
    #[error("leere Geometrie")]
    Empty,
    /// A drawn area that takes no land from any area.
    #[error("Das gezeichnete Gebiet liegt außerhalb aller Gebiete.")]
    DrawnOutside,
}
