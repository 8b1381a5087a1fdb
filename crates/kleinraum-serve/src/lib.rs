//! kleinraum-serve: the axum application serving an [`kleinraum_aggregate::AggregateResult`]
//! as OGC API – Features plus the web map. (Built in the serve issue.)
