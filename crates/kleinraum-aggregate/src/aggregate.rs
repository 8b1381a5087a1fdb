//! Sums of point counts and facilities per area, year and hierarchy level; the run pipeline.
//! (filled in by the engine work)
