//! Validation for `kleinraum check` (to be written by the check work).

/// A problem with one polygon's geometry.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GeometryProblem {
    /// What is wrong (e.g. "ring self-intersects").
    pub message: String,
    /// Where, in working-CRS coordinates.
    pub x: f64,
    /// Where, in working-CRS coordinates.
    pub y: f64,
}

/// Problems of one area geometry (self-intersections, too few points, …). Empty if valid.
pub fn geometry_problems(_geometry: &geo::MultiPolygon<f64>) -> Vec<GeometryProblem> {
    Vec::new()
}
